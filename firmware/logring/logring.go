// Package logring keeps ringbox's own most recent log records in memory,
// for the System page's log viewer: the box may have no shell, and its
// console log (the init script's ring on the data partition) is not
// readable from the browser.
//
// A [Ring] is bounded both by a number of records and by the bytes of
// their text, so a burst of long lines cannot grow it past its budget; the
// oldest records go first. [Ring.Handler] wraps the process's slog.Handler
// so that every record still goes where it went before, and a copy of it
// lands in the ring.
package logring

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Record is one log record as the ring keeps it: its attributes are
// already formatted, as key=value pairs in a text handler's style.
type Record struct {
	Time    time.Time  `json:"time"`
	Level   slog.Level `json:"level"`
	Message string     `json:"message"`
	Attrs   string     `json:"attrs,omitempty"`
}

// recordOverhead is what a Record costs beyond its text (time, level,
// string headers), counted against the byte budget so many empty records
// are bounded too.
const recordOverhead = 64

// MaxText is the most text (message and attributes) one record keeps; the
// rest is cut and marked with "…".
const MaxText = 4 << 10

func (r Record) size() int { return recordOverhead + len(r.Message) + len(r.Attrs) }

// Ring is a bounded, concurrency-safe buffer of the newest records. Create
// it with [New].
type Ring struct {
	maxCount, maxBytes int
	level              slog.Leveler

	mu    sync.Mutex // protects following
	recs  []Record   // circular, len(recs) == maxCount once full
	head  int        // index of the oldest record
	n     int        // records held
	bytes int        // their size()
}

// New returns a ring that holds at most maxCount records and maxBytes of
// them, keeping records at level or above (nil: slog.LevelInfo). A
// maxCount below 1 is taken as 1; a maxBytes below one full record is
// raised to it.
func New(maxCount, maxBytes int, level slog.Leveler) *Ring {
	if maxCount < 1 {
		maxCount = 1
	}
	if maxBytes < recordOverhead+MaxText {
		maxBytes = recordOverhead + MaxText
	}
	if level == nil {
		level = slog.LevelInfo
	}
	return &Ring{maxCount: maxCount, maxBytes: maxBytes, level: level}
}

// Add puts rec into the ring, dropping the oldest records as needed.
func (g *Ring) Add(rec Record) {
	rec.Message, rec.Attrs = clip(rec.Message, rec.Attrs)
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.n > 0 && (g.n >= g.maxCount || g.bytes+rec.size() > g.maxBytes) {
		g.dropOldest()
	}
	if len(g.recs) < g.maxCount {
		g.recs = append(g.recs, Record{})
	}
	i := (g.head + g.n) % g.maxCount
	g.recs[i] = rec
	g.n++
	g.bytes += rec.size()
}

func (g *Ring) dropOldest() {
	g.bytes -= g.recs[g.head].size()
	g.recs[g.head] = Record{} // let the strings go
	g.head = (g.head + 1) % g.maxCount
	g.n--
}

// clip cuts a record's text to MaxText in all, on a rune boundary.
func clip(msg, attrs string) (string, string) {
	if len(msg)+len(attrs) <= MaxText {
		return msg, attrs
	}
	cut := func(s string, n int) string {
		if n <= 0 {
			return ""
		}
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		return s[:n] + "…"
	}
	if len(msg) > MaxText/2 {
		msg = cut(msg, MaxText/2)
	}
	if room := MaxText - len(msg) - len("…"); len(attrs) > room {
		attrs = cut(attrs, room)
	}
	return msg, attrs
}

// Last returns up to n of the newest records at level min or above,
// oldest first. n < 1 returns none.
func (g *Ring) Last(n int, min slog.Level) []Record {
	if n < 1 {
		return []Record{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Record, 0, min2(n, g.n))
	for i := g.n - 1; i >= 0 && len(out) < n; i-- {
		r := g.recs[(g.head+i)%g.maxCount]
		if r.Level >= min {
			out = append(out, r)
		}
	}
	// Newest first so far: turn round.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func min2(a, b int) int {
	if a < b {
		return a
	}
	return b
}

// Len is how many records the ring holds, and their bytes as counted
// against its budget.
func (g *Ring) Len() (records, bytes int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n, g.bytes
}

// Handler returns a slog.Handler that passes every record to next as
// before and keeps a copy of those at the ring's level or above.
func (g *Ring) Handler(next slog.Handler) slog.Handler {
	return &handler{ring: g, next: next}
}

type handler struct {
	ring   *Ring
	next   slog.Handler
	prefix string // formatted attributes of WithAttrs, each ending in a space
	group  string // the open groups, "a.b." (keys are prefixed with it)
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.ring.level.Level() || h.next.Enabled(ctx, l)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= h.ring.level.Level() {
		var b strings.Builder
		b.WriteString(h.prefix)
		r.Attrs(func(a slog.Attr) bool {
			appendAttr(&b, h.group, a)
			return true
		})
		h.ring.Add(Record{Time: r.Time, Level: r.Level, Message: r.Message, Attrs: strings.TrimSuffix(b.String(), " ")})
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range as {
		appendAttr(&b, h.group, a)
	}
	return &handler{ring: h.ring, next: h.next.WithAttrs(as), prefix: b.String(), group: h.group}
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &handler{ring: h.ring, next: h.next.WithGroup(name), prefix: h.prefix, group: h.group + name + "."}
}

// appendAttr writes a as "group.key=value ", a text handler's way: groups
// flattened with dots, values quoted when they hold spaces or quotes.
func appendAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := group
		if a.Key != "" {
			g += a.Key + "."
		}
		for _, sub := range a.Value.Group() {
			appendAttr(b, g, sub)
		}
		return
	}
	b.WriteString(group)
	b.WriteString(a.Key)
	b.WriteByte('=')
	var v string
	switch a.Value.Kind() {
	case slog.KindTime:
		v = a.Value.Time().Format(time.RFC3339Nano)
	default:
		v = a.Value.String()
	}
	if v == "" || strings.ContainsAny(v, " \t\r\n\"=") || !utf8.ValidString(v) {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
	b.WriteByte(' ')
}
