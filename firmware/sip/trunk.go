package sip

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/site"
)

// Trunk registration states.
const (
	TrunkRegistered   = "registered"
	TrunkFailed       = "failed"
	TrunkUnregistered = "unregistered"
	TrunkDisabled     = "disabled"
)

// TrunkState is one SIP trunk's registration as the API shows it.
type TrunkState struct {
	ID        string    `json:"id"`
	State     string    `json:"state"` // registered | failed | unregistered | disabled
	Expires   time.Time `json:"expires,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

const trunkRequestExpires = 3600

type trunkManager struct {
	s  *Server
	bg context.Context

	mu     sync.Mutex // protects following
	regs   map[string]*trunkReg
	states map[string]*TrunkState

	resMu    sync.Mutex // protects resolved
	resolved map[string]resolvedHost
}

type resolvedHost struct {
	ips []netip.Addr
	at  time.Time
}

type trunkReg struct {
	cfg        site.Trunk
	cancel     context.CancelFunc
	unregister chan bool // true: send Expires 0 before stopping
	done       chan struct{}
}

func newTrunkManager(s *Server) *trunkManager {
	return &trunkManager{s: s, regs: make(map[string]*trunkReg), states: make(map[string]*TrunkState),
		resolved: make(map[string]resolvedHost), bg: context.Background()}
}

func (m *trunkManager) start(ctx context.Context) {
	m.mu.Lock()
	m.bg = ctx
	m.mu.Unlock()
}

func (m *trunkManager) list() []TrunkState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]TrunkState, 0, len(m.states))
	for _, st := range m.states {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b TrunkState) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (m *trunkManager) setState(id string, f func(*TrunkState)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.states[id]
	if !ok {
		return
	}
	f(st)
}

// reload diffs the site's SIP trunks against the running registrations.
func (m *trunkManager) reload(st *site.Site) {
	if st == nil {
		return
	}
	want := make(map[string]site.Trunk)
	for _, t := range st.Trunks {
		if t.FXO != 0 || t.Host == "" {
			continue
		}
		want[t.ID] = t
	}
	m.mu.Lock()
	var stop []*trunkReg
	for id, r := range m.regs {
		if t, ok := want[id]; !ok || regConfig(t) != regConfig(r.cfg) || !t.Register {
			stop = append(stop, r)
			delete(m.regs, id)
		}
	}
	for id := range m.states {
		if _, ok := want[id]; !ok {
			delete(m.states, id)
		}
	}
	var startList []site.Trunk
	for id, t := range want {
		if !t.Register {
			m.states[id] = &TrunkState{ID: id, State: TrunkDisabled}
			continue
		}
		if _, running := m.regs[id]; running {
			continue
		}
		m.states[id] = &TrunkState{ID: id, State: TrunkUnregistered}
		startList = append(startList, t)
	}
	bg := m.bg
	m.mu.Unlock()
	for _, r := range stop {
		r.stop(true)
	}
	m.resMu.Lock()
	clear(m.resolved)
	m.resMu.Unlock()
	for _, t := range startList {
		ctx, cancel := context.WithCancel(bg)
		r := &trunkReg{cfg: t, cancel: cancel, unregister: make(chan bool, 1), done: make(chan struct{})}
		m.mu.Lock()
		m.regs[t.ID] = r
		m.mu.Unlock()
		go m.run(ctx, r)
	}
}

// regConfig is what a trunk's registration depends on: a change of
// anything else (inbound identification, caps) leaves it running.
func regConfig(t site.Trunk) [5]string {
	return [5]string{t.Host, t.Transport, t.Username, t.Password, strconv.FormatBool(t.Register)}
}

func (r *trunkReg) stop(unregister bool) {
	r.unregister <- unregister
	r.cancel()
	<-r.done
}

// stopAll stops every registration, un-registering first when asked.
func (m *trunkManager) stopAll(unregister bool) {
	m.mu.Lock()
	regs := make([]*trunkReg, 0, len(m.regs))
	for id, r := range m.regs {
		regs = append(regs, r)
		delete(m.regs, id)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, r := range regs {
		wg.Go(func() { r.stop(unregister) })
	}
	wg.Wait()
}

// errRetryAfter carries a registrar's Retry-After.
type errRetryAfter struct {
	err   error
	after time.Duration
}

func (e *errRetryAfter) Error() string { return e.err.Error() }
func (e *errRetryAfter) Unwrap() error { return e.err }

// run keeps one trunk registered: refresh at 85% of the granted time,
// back off 30s doubling to 10m on failure (or as Retry-After says).
func (m *trunkManager) run(ctx context.Context, r *trunkReg) {
	defer close(r.done)
	t := r.cfg
	log := m.s.log.With("trunk", t.ID)
	sess := &trunkSession{m: m, t: t, callID: sipgosip.GenerateTagN(24) + "@" + m.s.host, cseq: 1}
	backoff := m.s.cfg.TrunkRetry
	registered := false
	for {
		exp, err := sess.register(ctx, trunkRequestExpires)
		var wait time.Duration
		if err == nil {
			registered = true
			until := time.Now().Add(exp)
			m.setState(t.ID, func(st *TrunkState) { st.State, st.Expires, st.LastError = TrunkRegistered, until, "" })
			log.Info("trunk registered", "expires", exp)
		} else if ctx.Err() == nil {
			registered = false
			m.setState(t.ID, func(st *TrunkState) { st.State, st.Expires, st.LastError = TrunkFailed, time.Time{}, err.Error() })
		}
		wait, backoff = trunkSchedule(err, exp, backoff, m.s.cfg.TrunkRetry, m.s.cfg.TrunkRetryMax)
		if err != nil && ctx.Err() == nil {
			log.Warn("trunk registration failed", "error", err, "retry_in", wait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			unreg := false
			select {
			case unreg = <-r.unregister:
			default:
			}
			if unreg && registered {
				uctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				if _, err := sess.register(uctx, 0); err != nil {
					log.Warn("trunk un-register failed", "error", err)
				}
				cancel()
			}
			m.setState(t.ID, func(st *TrunkState) { st.State, st.Expires = TrunkUnregistered, time.Time{} })
			return
		case <-timer.C:
		}
	}
}

// trunkSchedule says when to REGISTER next: at 85% of a granted expiry
// (backoff reset), or after the current back-off (or the registrar's
// Retry-After) with the back-off doubled up to max.
func trunkSchedule(err error, granted, backoff, first, maxBackoff time.Duration) (wait, next time.Duration) {
	if err == nil {
		return granted * 85 / 100, first
	}
	wait = backoff
	var ra *errRetryAfter
	if errors.As(err, &ra) && ra.after > 0 {
		wait = ra.after
	}
	return wait, min(backoff*2, maxBackoff)
}

type trunkSession struct {
	m      *trunkManager
	t      site.Trunk
	callID string
	cseq   uint32
}

func trunkHostPort(host string) (string, int) {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		return host, 5060
	}
	port, _ := strconv.Atoi(p)
	return h, port
}

// register sends one REGISTER (answering a digest challenge) and returns
// the granted expiry.
func (ts *trunkSession) register(ctx context.Context, expires int) (time.Duration, error) {
	s := ts.m.s
	host, port := trunkAddr(ts.t)
	transport := strings.ToUpper(ts.t.Transport)
	if transport == "" {
		transport = "UDP"
	}
	recipient := sipgosip.Uri{Scheme: "sip", Host: host, Port: port}
	req := sipgosip.NewRequest(sipgosip.REGISTER, recipient)
	req.SetTransport(transport)
	user := ts.t.Username
	if user == "" {
		user = ts.t.ID
	}
	aor := sipgosip.Uri{Scheme: "sip", User: user, Host: host}
	from := &sipgosip.FromHeader{Address: aor, Params: sipgosip.NewParams()}
	from.Params.Add("tag", sipgosip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipgosip.ToHeader{Address: aor})
	cid := sipgosip.CallIDHeader(ts.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: ts.cseq, MethodName: sipgosip.REGISTER})
	ts.cseq++
	req.AppendHeader(s.contactHeader(user, transport))
	req.AppendHeader(sipgosip.NewHeader("Expires", strconv.Itoa(expires)))
	req.AppendHeader(sipgosip.NewHeader("User-Agent", s.userAgent()))

	cli := s.client(transport)
	rctx, cancel := context.WithTimeout(ctx, 32*time.Second)
	defer cancel()
	res, err := cli.Do(rctx, req)
	if err != nil {
		return 0, fmt.Errorf("register %s: %w", ts.t.Host, err)
	}
	if res.StatusCode == 401 || res.StatusCode == 407 {
		if ts.t.Password == "" {
			return 0, fmt.Errorf("register %s: %d and no password configured", ts.t.Host, res.StatusCode)
		}
		res, err = cli.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: user, Password: ts.t.Password})
		if err != nil {
			return 0, fmt.Errorf("register %s: %w", ts.t.Host, err)
		}
		ts.cseq = req.CSeq().SeqNo + 1
	}
	if !res.IsSuccess() {
		e := fmt.Errorf("register %s: %d %s", ts.t.Host, res.StatusCode, res.Reason)
		if h := res.GetHeader("Retry-After"); h != nil {
			v, _, _ := strings.Cut(h.Value(), ";")
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return 0, &errRetryAfter{err: e, after: time.Duration(n) * time.Second}
			}
		}
		return 0, e
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			granted = n
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		if ch, ok := h.(*sipgosip.ContactHeader); ok && ch.Address.User == user {
			if v, ok := ch.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					granted = n
				}
			}
		}
	}
	if expires > 0 && granted <= 0 {
		granted = expires
	}
	return time.Duration(granted) * time.Second, nil
}

// resolve caches a trunk host's addresses for a minute.
func (m *trunkManager) resolve(ctx context.Context, hostport string) []netip.Addr {
	host, _ := trunkHostPort(hostport)
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}
	}
	m.resMu.Lock()
	r, ok := m.resolved[host]
	m.resMu.Unlock()
	if ok && time.Since(r.at) < time.Minute {
		return r.ips
	}
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(lctx, "ip", host)
	if err != nil {
		ips = r.ips // keep the last good answer
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	m.resMu.Lock()
	m.resolved[host] = resolvedHost{ips: ips, at: time.Now()}
	m.resMu.Unlock()
	return ips
}
