package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/cdr"
)

// The append-only history. Each table has an Insert and a List here and
// nothing else; triggers in the schema abort UPDATE and DELETE on them.

var _ cdr.Writer = (*Store)(nil)

// InsertCDR stores one call record and its legs. Times are kept to the
// millisecond. It returns once the record is committed (or ctx ends; the
// record may still be committed then).
//
// Records are group-committed by one writer goroutine the store owns
// (started by the first record, joined by Close): the records calls hand
// in while a transaction runs, or within cdrLinger of the last one, go in
// together, in one transaction with prepared statements, so a burst of
// calls ending costs one commit rather than one each. A batch that fails
// is retried record by record, so one bad record sinks no other.
func (s *Store) InsertCDR(ctx context.Context, r cdr.Record) error {
	req := cdrReq{op: opRecord, r: r, done: make(chan error, 1)}
	if !s.enqueue(req) {
		return fmt.Errorf("store: cdr %s: the store is closed", r.CallID)
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("store: cdr %s: %w", r.CallID, ctx.Err())
	}
}

// CallStarted records a call in progress (its id, parties, direction,
// trunk and start), so that a restart finds it (see
// [Store.EndInterruptedCalls]). It does not wait: the row goes in with the
// writer's next batch, and in the same batch as the call's CDR a short
// call costs nothing. The record's CDR, written by InsertCDR, deletes it.
func (s *Store) CallStarted(r cdr.Record) {
	if !s.enqueue(cdrReq{op: opStart, r: r}) {
		s.log.Warn("call in progress not recorded: the store is closed", "call", r.CallID)
	}
}

// CallAnswered records when a call in progress was answered (zero at:
// not answered after all); like CallStarted it does not wait. The
// returned channel is closed once the answer is committed (or failed):
// the row is committed by then too, the writer keeps the order.
func (s *Store) CallAnswered(callID string, at time.Time) <-chan struct{} {
	stored := make(chan struct{})
	if !s.enqueue(cdrReq{op: opAnswer, r: cdr.Record{CallID: callID, Answer: at}, stored: stored}) {
		s.log.Warn("call answer not recorded: the store is closed", "call", callID)
		close(stored)
	}
	return stored
}

// CallRouted records the trunk and the number sent of a call in
// progress whose outside leg answered; like CallStarted it does not wait.
func (s *Store) CallRouted(callID, trunk, numberSent string) {
	if !s.enqueue(cdrReq{op: opRoute, r: cdr.Record{CallID: callID, Trunk: trunk, NumberSent: numberSent}}) {
		s.log.Warn("call route not recorded: the store is closed", "call", callID)
	}
}

// enqueue hands req to the writer, starting it if need be; false: the
// store is closed.
func (s *Store) enqueue(req cdrReq) bool {
	b := &s.cdrs
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	s.startWriterLocked()
	b.pending = append(b.pending, req)
	switch req.op {
	case opStart:
		b.live[req.r.CallID] = struct{}{}
	case opRecord:
		delete(b.live, req.r.CallID)
	}
	wake := b.wake
	b.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default: // the writer has been woken already
	}
	return true
}

// startWriterLocked starts the writer goroutine once; b.mu is held.
func (s *Store) startWriterLocked() {
	b := &s.cdrs
	if b.started {
		return
	}
	b.started = true
	b.wake = make(chan struct{}, 1)
	b.stop = make(chan struct{})
	b.stopped = make(chan struct{})
	b.live = map[string]struct{}{}
	go s.writeCDRs()
}

// What a cdrReq writes.
type cdrOp int

const (
	opRecord cdrOp = iota // the CDR, deleting the call's row in progress
	opStart               // the row of a call in progress
	opAnswer              // its answer time (r.Answer)
	opRoute               // its trunk and number sent (r.Trunk, r.NumberSent)
)

type cdrReq struct {
	op   cdrOp
	r    cdr.Record
	done chan error // nil: nobody waits (opStart, opAnswer, opRoute)
	// stored, for opAnswer, is closed once the row is committed or failed.
	stored chan struct{}
}

// cdrBatch is the group commit of InsertCDR, CallStarted, CallAnswered
// and CallRouted.
type cdrBatch struct {
	mu      sync.Mutex // protects following
	pending []cdrReq
	started bool // the writer runs
	closed  bool // Close was called: no more records
	wake    chan struct{}
	stop    chan struct{} // closed by Close
	stopped chan struct{} // closed by the writer when it returns
	// live is the calls started and not yet ended: the writer keeps the
	// heartbeat only while there are some.
	live map[string]struct{}

	// last is when the previous batch was committed; only the writer
	// reads or writes it.
	last time.Time
}

// cdrLinger is how long the writer waits, when the previous batch was
// committed moments ago, for more calls to end before it commits. A
// transaction per record cost 320-430 us of CPU per record at 1200
// calls/s (BenchmarkInsertCDRPaced), a third of the box's work per call,
// most of it the commit whatever the batch holds; lingering 5 ms gave
// 200-230 us, 10 ms 150, 20 ms 120-135. A record is then in the database
// 20 ms after its call ended, which nobody can tell; a quiet box commits
// at once.
const cdrLinger = 20 * time.Millisecond

// DefaultAliveEvery is how often the writer ticks when idle: it calls
// Options.Alive and, while calls are in progress, records the heartbeat.
const DefaultAliveEvery = 5 * time.Second

// writeCDRs is the writer: it commits what is pending each time it is
// woken, and once more when Close stops it. Between batches it ticks, to
// tell the watchdog it is alive and to keep the heartbeat that restart
// CDRs end at.
func (s *Store) writeCDRs() {
	b := &s.cdrs
	defer close(b.stopped)
	t := time.NewTicker(s.aliveEvery)
	defer t.Stop()
	for {
		select {
		case <-b.wake:
			s.commitCDRs()
		case <-t.C:
			s.heartbeat()
		case <-b.stop:
			s.commitCDRs()
			return
		}
		s.alive()
	}
}

// heartbeat records now as the time the box was last alive, while calls
// are in progress; an idle box writes nothing (flash wear).
func (s *Store) heartbeat() {
	b := &s.cdrs
	b.mu.Lock()
	n := len(b.live)
	b.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.w.ExecContext(ctx, `INSERT INTO heartbeat (id, at_ms) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms`, s.now().UnixMilli()); err != nil {
		s.log.Error("heartbeat", "err", fmt.Errorf("store: heartbeat in %s: %w", s.path, err))
	}
}

// alive tells Options.Alive that the writer made progress.
func (s *Store) alive() {
	if s.aliveFn != nil {
		s.aliveFn()
	}
}

// stopCDRs makes InsertCDR refuse new records and waits for the writer to
// commit the ones handed in.
func (s *Store) stopCDRs() {
	b := &s.cdrs
	b.mu.Lock()
	b.closed = true
	started := b.started
	b.mu.Unlock()
	if started {
		close(b.stop)
		<-b.stopped
	}
}

// commitCDRs commits batches until none is pending.
func (s *Store) commitCDRs() {
	b := &s.cdrs
	for {
		if !b.last.IsZero() && time.Since(b.last) < 4*cdrLinger {
			time.Sleep(cdrLinger)
		}
		b.mu.Lock()
		batch := b.pending
		b.pending = nil
		b.mu.Unlock()
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.insertCDRs(ctx, batch)
		b.last = time.Now()
		if err != nil && len(batch) > 1 {
			for _, req := range batch {
				req.reply(s, s.insertCDRs(ctx, []cdrReq{req}))
			}
		} else {
			for _, req := range batch {
				req.reply(s, err)
			}
		}
		cancel()
		s.alive() // a long run of batches is progress too
	}
}

// reply tells the waiting InsertCDR how it went; a failed row of a call in
// progress is only logged (its CDR is still written when the call ends).
func (req cdrReq) reply(s *Store, err error) {
	if req.stored != nil {
		close(req.stored)
	}
	switch {
	case req.done != nil:
		req.done <- err
	case err != nil:
		s.log.Error("call in progress", "call", req.r.CallID, "err", err)
	}
}

const (
	insertCDRSQL = `INSERT INTO cdr (call_id, caller, caller_name, callee, direction, trunk, path,
		start_ms, answer_ms, end_ms, billable_ms, cause, hangup_by, recording, number_sent, agent, answered_by, transfers, transfer_of)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`
	insertLegSQL = `INSERT INTO cdr_legs (cdr_id, seq, leg_id, target, start_ms, answer_ms, end_ms, cause, agent, trunk, number_sent, transfer_by)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`
	startCallSQL = `INSERT OR REPLACE INTO calls_in_progress (call_id, caller, caller_name, callee, direction, trunk, number_sent, start_ms, answer_ms)
		VALUES (?,?,?,?,?,?,?,?,?)`
	answerCallSQL = `UPDATE calls_in_progress SET answer_ms = ? WHERE call_id = ?`
	routeCallSQL  = `UPDATE calls_in_progress SET trunk = ?, number_sent = ? WHERE call_id = ?`
	endCallSQL    = `DELETE FROM calls_in_progress WHERE call_id = ?`
)

// insertCDRs stores records, and the rows of calls in progress, in one
// transaction. A call that starts and ends within the batch writes only
// its CDR.
func (s *Store) insertCDRs(ctx context.Context, batch []cdrReq) error {
	var startedHere, endedHere map[string]bool
	if len(batch) > 1 {
		startedHere, endedHere = map[string]bool{}, map[string]bool{}
		for _, req := range batch {
			switch req.op {
			case opStart:
				startedHere[req.r.CallID] = true
			case opRecord:
				endedHere[req.r.CallID] = true
			}
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// A statement prepared for a batch pays off from two uses on;
		// one use runs the SQL directly.
		stmts := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		stmt := func(query string) (*sql.Stmt, error) {
			if st := stmts[query]; st != nil {
				return st, nil
			}
			st, err := tx.PrepareContext(ctx, query)
			if err != nil {
				return nil, err
			}
			stmts[query] = st
			return st, nil
		}
		exec := func(query string, args ...any) (sql.Result, error) {
			if len(batch) == 1 {
				return tx.ExecContext(ctx, query, args...)
			}
			st, err := stmt(query)
			if err != nil {
				return nil, err
			}
			return st.ExecContext(ctx, args...)
		}
		queryRow := func(query string, args ...any) *sql.Row {
			if len(batch) == 1 {
				return tx.QueryRowContext(ctx, query, args...)
			}
			st, err := stmt(query)
			if err != nil {
				return tx.QueryRowContext(ctx, query, args...) // reports err on Scan
			}
			return st.QueryRowContext(ctx, args...)
		}
		for _, req := range batch {
			r := req.r
			switch req.op {
			case opStart:
				if endedHere[r.CallID] {
					continue
				}
				if _, err := exec(startCallSQL, r.CallID, r.Caller, r.CallerName, r.Callee, r.Direction, r.Trunk, r.NumberSent,
					r.Start.UnixMilli(), ms(r.Answer)); err != nil {
					return fmt.Errorf("call in progress %s: %w", r.CallID, err)
				}
				continue
			case opAnswer:
				if endedHere[r.CallID] {
					continue
				}
				if _, err := exec(answerCallSQL, ms(r.Answer), r.CallID); err != nil {
					return fmt.Errorf("call in progress %s: answer: %w", r.CallID, err)
				}
				continue
			case opRoute:
				if endedHere[r.CallID] {
					continue
				}
				if _, err := exec(routeCallSQL, r.Trunk, r.NumberSent, r.CallID); err != nil {
					return fmt.Errorf("call in progress %s: route: %w", r.CallID, err)
				}
				continue
			}
			path, err := json.Marshal(r.Path)
			if err != nil {
				return fmt.Errorf("cdr %s: encode path: %w", r.CallID, err)
			}
			if r.Path == nil {
				path = []byte("[]")
			}
			transfers := []byte("[]")
			if len(r.Transfers) > 0 {
				if transfers, err = json.Marshal(r.Transfers); err != nil {
					return fmt.Errorf("cdr %s: encode transfers: %w", r.CallID, err)
				}
			}
			var id int64
			if err := queryRow(insertCDRSQL, r.CallID, r.Caller, r.CallerName, r.Callee, r.Direction, r.Trunk, string(path),
				r.Start.UnixMilli(), ms(r.Answer), ms(r.End), r.Billable.Milliseconds(), r.Cause, r.HangupBy, r.Recording,
				r.NumberSent, r.Agent, r.AnsweredBy, string(transfers), r.TransferOf).Scan(&id); err != nil {
				return fmt.Errorf("cdr %s: %w", r.CallID, err)
			}
			for i, l := range r.Legs {
				if _, err := exec(insertLegSQL, id, i, l.ID, l.Target, ms(l.Start), ms(l.Answer), ms(l.End), l.Cause,
					l.Agent, l.Trunk, l.Number, l.TransferBy); err != nil {
					return fmt.Errorf("cdr %s: leg %d: %w", r.CallID, i, err)
				}
			}
			if !startedHere[r.CallID] {
				if _, err := exec(endCallSQL, r.CallID); err != nil {
					return fmt.Errorf("cdr %s: end call in progress: %w", r.CallID, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: insert %d cdr(s) into %s: %w", len(batch), s.path, err)
	}
	return nil
}

// CDRFilter selects call records. Zero fields select everything.
type CDRFilter struct {
	From, To time.Time // Start in [From, To)
	Number   string    // caller or callee equals Number
	Cause    string
	Limit    int // 0: 100; at most MaxCDRLimit
	Offset   int

	// Scope, when not nil, keeps only calls that touched one of its
	// agents or extensions (see [CDRScope]); an empty scope keeps none.
	Scope *CDRScope
	// CallID selects one call's record.
	CallID string
	// Agent keeps calls the agent took or was offered (any leg).
	Agent string
	// Extension keeps calls from, to or ringing the extension.
	Extension string
	// Queue keeps calls that went through queue Queue.
	Queue string
	// Outcome is "answered" (someone took the call), "unanswered", or
	// "voicemail" (the call reached a mailbox); "" all.
	Outcome string
}

// CDRScope is what a web user may see of the call records: a call is in
// scope when its agent, any of its legs' agents, its caller, its callee or
// any leg's extension is one of these, or it went through one of Queues
// (a manager answers for the callers of the queues their team serves,
// answered or not).
type CDRScope struct {
	Agents     []string
	Extensions []string
	Queues     []string
}

// Outcomes of CDRFilter.Outcome.
const (
	OutcomeAnswered   = "answered"
	OutcomeUnanswered = "unanswered"
	OutcomeVoicemail  = "voicemail"
)

// ErrBadFilter is returned for a CDRFilter field with a value the store
// does not know (an outcome).
var ErrBadFilter = errors.New("bad call record filter")

// inList is "?,?,?" for n values and the values as arguments.
func inList(vals []string) (string, []any) {
	args := make([]any, len(vals))
	for i, v := range vals {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(vals)), ","), args
}

// legExt is the extension a leg rang, from its target: "ext:101" or an
// agent's "agent:bob/ext:101" give 101, other targets NULL.
const legExt = `(CASE WHEN instr(l.target, 'ext:') > 0 THEN substr(l.target, instr(l.target, 'ext:') + 4) END)`

// where is f's WHERE clause (without the keyword) and its arguments. The
// scope is applied in SQL, so a manager's page never reads other teams'
// calls into memory.
func (f CDRFilter) where() ([]string, []any, error) {
	var where []string
	var args []any
	add := func(clause string, a ...any) {
		where, args = append(where, clause), append(args, a...)
	}
	if !f.From.IsZero() {
		add("start_ms >= ?", f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		add("start_ms < ?", f.To.UnixMilli())
	}
	if f.Number != "" {
		add("(caller = ? OR callee = ?)", f.Number, f.Number)
	}
	if f.Cause != "" {
		add("cause = ?", f.Cause)
	}
	if f.CallID != "" {
		add("call_id = ?", f.CallID)
	}
	if f.Agent != "" {
		add("(cdr.agent = ? OR EXISTS (SELECT 1 FROM cdr_legs l WHERE l.cdr_id = cdr.id AND l.agent = ?))", f.Agent, f.Agent)
	}
	if f.Extension != "" {
		x := f.Extension
		add("(caller = ? OR callee = ? OR EXISTS (SELECT 1 FROM cdr_legs l WHERE l.cdr_id = cdr.id AND "+legExt+" = ?))", x, x, x)
	}
	if f.Queue != "" {
		add("EXISTS (SELECT 1 FROM json_each(cdr.path) WHERE value = ?)", "queue:"+f.Queue)
	}
	switch f.Outcome {
	case "":
	case OutcomeAnswered:
		add("answered_by != ''")
	case OutcomeUnanswered:
		add("answered_by = ''")
	case OutcomeVoicemail:
		add("EXISTS (SELECT 1 FROM json_each(cdr.path) WHERE value LIKE 'voicemail:%')")
	default:
		return nil, nil, fmt.Errorf("outcome %q: %w", f.Outcome, ErrBadFilter)
	}
	if sc := f.Scope; sc != nil {
		if len(sc.Agents) == 0 && len(sc.Extensions) == 0 && len(sc.Queues) == 0 {
			add("0")
		} else {
			var or []string
			var a []any
			if len(sc.Agents) > 0 {
				in, ia := inList(sc.Agents)
				or = append(or, "cdr.agent IN ("+in+")",
					"EXISTS (SELECT 1 FROM cdr_legs l WHERE l.cdr_id = cdr.id AND l.agent IN ("+in+"))")
				a = append(a, ia...)
				a = append(a, ia...)
			}
			if len(sc.Extensions) > 0 {
				in, ia := inList(sc.Extensions)
				or = append(or, "caller IN ("+in+")", "callee IN ("+in+")")
				a = append(a, ia...)
				a = append(a, ia...)
				or = append(or, "EXISTS (SELECT 1 FROM cdr_legs l WHERE l.cdr_id = cdr.id AND "+legExt+" IN ("+in+"))")
				a = append(a, ia...)
			}
			if len(sc.Queues) > 0 {
				qs := make([]string, len(sc.Queues))
				for i, q := range sc.Queues {
					qs[i] = "queue:" + q
				}
				in, ia := inList(qs)
				or = append(or, "EXISTS (SELECT 1 FROM json_each(cdr.path) WHERE value IN ("+in+"))")
				a = append(a, ia...)
			}
			add("("+strings.Join(or, " OR ")+")", a...)
		}
	}
	return where, args, nil
}

// MaxCDRLimit caps CDRFilter.Limit: the legs of a page are fetched with
// one query whose parameters SQLite limits.
const MaxCDRLimit = 10000

// ListCDR returns the records matching f, newest first.
func (s *Store) ListCDR(ctx context.Context, f CDRFilter) ([]cdr.Record, error) {
	where, args, err := f.where()
	if err != nil {
		return nil, fmt.Errorf("store: list cdr: %w", err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxCDRLimit)
	q := `SELECT id, call_id, caller, caller_name, callee, direction, trunk, path, start_ms, answer_ms, end_ms,
		billable_ms, cause, hangup_by, recording, number_sent, agent, answered_by, transfers, transfer_of FROM cdr`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY start_ms DESC, id DESC LIMIT ? OFFSET ?"
	args = append(args, limit, max(f.Offset, 0))

	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, s.errf("list cdr", err)
	}
	defer tx.Rollback() // read only
	var recs []cdr.Record
	byID := map[int64]int{}
	var ids []any
	err = rowsEach(ctx, tx, q, func(rows *sql.Rows) error {
		var r cdr.Record
		var id, start, billable int64
		var answer, end sql.NullInt64
		var path, transfers string
		if err := rows.Scan(&id, &r.CallID, &r.Caller, &r.CallerName, &r.Callee, &r.Direction, &r.Trunk, &path,
			&start, &answer, &end, &billable, &r.Cause, &r.HangupBy, &r.Recording, &r.NumberSent, &r.Agent, &r.AnsweredBy, &transfers, &r.TransferOf); err != nil {
			return err
		}
		if transfers != "" && transfers != "[]" {
			if err := json.Unmarshal([]byte(transfers), &r.Transfers); err != nil {
				return fmt.Errorf("cdr %d: transfers: %w", id, err)
			}
		}
		if err := json.Unmarshal([]byte(path), &r.Path); err != nil {
			return fmt.Errorf("cdr %d: path: %w", id, err)
		}
		if len(r.Path) == 0 {
			r.Path = nil
		}
		r.Start = time.UnixMilli(start).UTC()
		r.Answer, r.End = fromMS(answer), fromMS(end)
		r.Billable = time.Duration(billable) * time.Millisecond
		byID[id] = len(recs)
		ids = append(ids, id)
		recs = append(recs, r)
		return nil
	}, args...)
	if err != nil {
		return nil, s.errf("list cdr", err)
	}
	if len(ids) == 0 {
		return recs, nil
	}
	lq := `SELECT cdr_id, leg_id, target, start_ms, answer_ms, end_ms, cause, agent, trunk, number_sent, transfer_by FROM cdr_legs WHERE cdr_id IN (?` +
		strings.Repeat(",?", len(ids)-1) + `) ORDER BY cdr_id, seq`
	err = rowsEach(ctx, tx, lq, func(rows *sql.Rows) error {
		var id int64
		var l cdr.Leg
		var start, answer, end sql.NullInt64
		if err := rows.Scan(&id, &l.ID, &l.Target, &start, &answer, &end, &l.Cause, &l.Agent, &l.Trunk, &l.Number, &l.TransferBy); err != nil {
			return err
		}
		l.Start, l.Answer, l.End = fromMS(start), fromMS(answer), fromMS(end)
		r := &recs[byID[id]]
		r.Legs = append(r.Legs, l)
		return nil
	}, ids...)
	if err != nil {
		return nil, s.errf("list cdr legs", err)
	}
	return recs, nil
}

// QueueLogEntry is one line of the queue log, in Asterisk's queue_log shape
// (time|callid|queue|agent|event|data1|...|data5).
type QueueLogEntry struct {
	Time   time.Time // zero: now
	CallID string
	Queue  string
	Agent  string
	Event  string   // ENTERQUEUE, CONNECT, COMPLETECALLER, ABANDON, ...
	Data   []string // at most 5
}

// InsertQueueLog appends one queue-log entry.
func (s *Store) InsertQueueLog(ctx context.Context, e QueueLogEntry) error {
	if len(e.Data) > 5 {
		return fmt.Errorf("store: queue log %s %s: %d data fields, at most 5", e.CallID, e.Event, len(e.Data))
	}
	var d [5]string
	copy(d[:], e.Data)
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO queue_log (time_ms, call_id, queue, agent, event, data1, data2, data3, data4, data5)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, e.Time.UnixMilli(), e.CallID, e.Queue, e.Agent, e.Event, d[0], d[1], d[2], d[3], d[4])
	if err != nil {
		return fmt.Errorf("store: insert queue log into %s: %w", s.path, err)
	}
	return nil
}

// ListQueueLog returns the entries with Time in [from, to) (zero: open
// ended), of queue (or all queues when ""), oldest first. Data holds the
// fields up to the last non-empty one.
func (s *Store) ListQueueLog(ctx context.Context, from, to time.Time, queue string) ([]QueueLogEntry, error) {
	where, args := timeRange(from, to)
	if queue != "" {
		where, args = append(where, "queue = ?"), append(args, queue)
	}
	q := `SELECT time_ms, call_id, queue, agent, event, data1, data2, data3, data4, data5 FROM queue_log` +
		whereClause(where) + ` ORDER BY time_ms, id`
	var out []QueueLogEntry
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var e QueueLogEntry
		var t int64
		var d [5]string
		if err := rows.Scan(&t, &e.CallID, &e.Queue, &e.Agent, &e.Event, &d[0], &d[1], &d[2], &d[3], &d[4]); err != nil {
			return err
		}
		e.Time = time.UnixMilli(t).UTC()
		n := len(d)
		for n > 0 && d[n-1] == "" {
			n--
		}
		if n > 0 {
			e.Data = append([]string(nil), d[:n]...)
		}
		out = append(out, e)
		return nil
	}, args...)
	if err != nil {
		return nil, s.errf("list queue log", err)
	}
	return out, nil
}

// AgentActivity is one change of an agent's status or state.
type AgentActivity struct {
	Time   time.Time // zero: now
	Agent  string
	Status string // logged_out, available, paused, ...
	State  string // idle, ringing, on_call, wrap_up, ...
	Reason string // pause reason
	Source string // web, button, feature_code, api, schedule, system
}

// InsertAgentActivity appends one agent activity row.
func (s *Store) InsertAgentActivity(ctx context.Context, a AgentActivity) error {
	if a.Time.IsZero() {
		a.Time = s.now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO agent_activity (time_ms, agent, status, state, reason, source)
		VALUES (?,?,?,?,?,?)`, a.Time.UnixMilli(), a.Agent, a.Status, a.State, a.Reason, a.Source)
	if err != nil {
		return fmt.Errorf("store: insert agent activity into %s: %w", s.path, err)
	}
	return nil
}

// ListAgentActivity returns agent's activity (all agents when agent is "")
// with Time in [from, to) (zero: open ended), oldest first.
func (s *Store) ListAgentActivity(ctx context.Context, agent string, from, to time.Time) ([]AgentActivity, error) {
	where, args := timeRange(from, to)
	if agent != "" {
		where, args = append(where, "agent = ?"), append(args, agent)
	}
	q := `SELECT time_ms, agent, status, state, reason, source FROM agent_activity` + whereClause(where) + ` ORDER BY time_ms, id`
	var out []AgentActivity
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var a AgentActivity
		var t int64
		if err := rows.Scan(&t, &a.Agent, &a.Status, &a.State, &a.Reason, &a.Source); err != nil {
			return err
		}
		a.Time = time.UnixMilli(t).UTC()
		out = append(out, a)
		return nil
	}, args...)
	if err != nil {
		return nil, s.errf("list agent activity", err)
	}
	return out, nil
}

// AuditEntry is one line of the audit log: who did what to which object.
type AuditEntry struct {
	Time   time.Time // zero: now
	Actor  string    // user login, "token:NAME", "cli" or "system"
	Action string    // e.g. "config.import", "user.create"
	Object string
	Detail string
}

// InsertAudit appends one audit row.
func (s *Store) InsertAudit(ctx context.Context, e AuditEntry) error {
	if err := s.insertAudit(ctx, s.w, e); err != nil {
		return fmt.Errorf("store: insert audit into %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) insertAudit(ctx context.Context, q querier, e AuditEntry) error {
	if e.Action == "" {
		return errors.New("audit entry without action")
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (time_ms, actor, action, object, detail) VALUES (?,?,?,?,?)`,
		e.Time.UnixMilli(), e.Actor, e.Action, e.Object, e.Detail)
	return err
}

// ListAudit returns audit entries with Time in [from, to) (zero: open
// ended), newest first, at most limit (0: 100).
func (s *Store) ListAudit(ctx context.Context, from, to time.Time, limit int) ([]AuditEntry, error) {
	where, args := timeRange(from, to)
	if limit <= 0 {
		limit = 100
	}
	q := `SELECT time_ms, actor, action, object, detail FROM audit` + whereClause(where) + ` ORDER BY time_ms DESC, id DESC LIMIT ?`
	var out []AuditEntry
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var e AuditEntry
		var t int64
		if err := rows.Scan(&t, &e.Actor, &e.Action, &e.Object, &e.Detail); err != nil {
			return err
		}
		e.Time = time.UnixMilli(t).UTC()
		out = append(out, e)
		return nil
	}, append(args, limit)...)
	if err != nil {
		return nil, s.errf("list audit", err)
	}
	return out, nil
}

func timeRange(from, to time.Time) ([]string, []any) {
	var where []string
	var args []any
	if !from.IsZero() {
		where, args = append(where, "time_ms >= ?"), append(args, from.UnixMilli())
	}
	if !to.IsZero() {
		where, args = append(where, "time_ms < ?"), append(args, to.UnixMilli())
	}
	return where, args
}

func whereClause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(where, " AND ")
}

// AuditFilter selects audit entries for the audit API.
type AuditFilter struct {
	From, To time.Time // Time in [From, To); zero: open ended
	// Kind keeps entries whose action is Kind or starts with Kind and a
	// dot: "web" keeps "web.forbidden", "tollfraud" every
	// "tollfraud.<kind>". Kinds are open-ended: whoever writes the log
	// names theirs.
	Kind   string
	Limit  int // 0: 100; at most MaxAuditLimit
	Offset int
}

// MaxAuditLimit caps AuditFilter.Limit.
const MaxAuditLimit = 1000

// AuditRow is an audit entry with its id, as the audit API lists it.
type AuditRow struct {
	ID int64
	AuditEntry
}

// ListAuditFilter returns the audit entries f selects, newest first.
func (s *Store) ListAuditFilter(ctx context.Context, f AuditFilter) ([]AuditRow, error) {
	where, args := timeRange(f.From, f.To)
	if f.Kind != "" {
		where = append(where, "(action = ? OR substr(action, 1, ?) = ?)")
		args = append(args, f.Kind, len(f.Kind)+1, f.Kind+".")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, MaxAuditLimit)
	q := `SELECT id, time_ms, actor, action, object, detail FROM audit` + whereClause(where) + ` ORDER BY time_ms DESC, id DESC LIMIT ? OFFSET ?`
	var out []AuditRow
	err := rowsEach(ctx, s.r, q, func(rows *sql.Rows) error {
		var e AuditRow
		var t int64
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Object, &e.Detail); err != nil {
			return err
		}
		e.Time = time.UnixMilli(t).UTC()
		out = append(out, e)
		return nil
	}, append(args, limit, max(f.Offset, 0))...)
	if err != nil {
		return nil, s.errf("list audit", err)
	}
	return out, nil
}
