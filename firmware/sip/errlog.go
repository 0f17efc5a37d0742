package sip

import (
	"log/slog"
	"sync"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
)

// Every 5xx the box answers a peer with is logged with its reason, but a
// flood of them (an overload, a peer retrying a broken request) must not
// flood the log too: at most refusalBurst lines at once and one more per
// refusalEvery after that. The lines that were left out are counted and
// reported with the next line that is written, and in the total that
// [Server.Refusals] returns.
const (
	refusalBurst = 10
	refusalEvery = time.Second
)

// refusalLog is the rate-limited log of 5xx answers: a token bucket of
// refusalBurst tokens refilled at one per refusalEvery.
type refusalLog struct {
	log *slog.Logger

	mu         sync.Mutex // protects following
	tokens     float64
	last       time.Time // when tokens was last refilled
	suppressed int       // lines left out since the last one written
	total      uint64    // every 5xx, logged or not
}

func newRefusalLog(log *slog.Logger) *refusalLog {
	return &refusalLog{log: log, tokens: refusalBurst}
}

// allow takes a token if there is one and says how many lines were left out
// before this one.
func (r *refusalLog) allow(now time.Time) (ok bool, suppressed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total++
	if !r.last.IsZero() {
		r.tokens = min(refusalBurst, r.tokens+float64(now.Sub(r.last))/float64(refusalEvery))
	}
	r.last = now
	if r.tokens < 1 {
		r.suppressed++
		return false, 0
	}
	r.tokens--
	suppressed, r.suppressed = r.suppressed, 0
	return true, suppressed
}

// refused logs one 5xx: code and phrase as sent, why the box sent it, and
// the request it answers (nil for a response built elsewhere).
func (r *refusalLog) refused(req *sipgosip.Request, code int, phrase, why string) {
	ok, suppressed := r.allow(time.Now())
	if !ok {
		return
	}
	attrs := []any{"code", code, "phrase", phrase, "why", why}
	if req != nil {
		attrs = append(attrs, "method", string(req.Method), "src", req.Source())
		if id := req.CallID(); id != nil {
			attrs = append(attrs, "call_id", id.Value())
		}
	}
	if suppressed > 0 {
		attrs = append(attrs, "suppressed", suppressed)
	}
	r.log.Warn("sip 5xx answered", attrs...)
}

func (r *refusalLog) count() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Refusals is how many 5xx responses the box has answered requests with
// since start, logged or not (the log is rate-limited).
func (s *Server) Refusals() uint64 { return s.refusals.count() }
