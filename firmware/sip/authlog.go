package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/sip/digest"
)

// Failed authentications are logged with their reason so that an installer
// can see why a phone does not register, but anyone on the network can
// cause them: each reason has a token bucket of authLogBurst lines that
// refills one line every authLogEvery, and the line that follows a
// suppressed stretch says how many lines were left out.
const (
	authLogBurst = 10
	authLogEvery = 6 * time.Second
	// maxLoggedUser bounds how much of a user name (the peer's text) the
	// log repeats.
	maxLoggedUser = 32
)

// reasonNotOwnBinding: the user authenticated, but the REGISTER is for
// another extension's bindings.
const reasonNotOwnBinding digest.Reason = "authenticated as another extension"

// reasonNotAllowed: the right password from an address outside the
// extension's allow list.
const reasonNotAllowed digest.Reason = "address not on the extension's allow list"

// logLimiter is a token bucket per key. Keys are the reason constants, a
// fixed set, so the table cannot grow with what peers send.
type logLimiter struct {
	burst float64
	every time.Duration

	mu      sync.Mutex // protects buckets
	buckets map[digest.Reason]*logBucket
}

type logBucket struct {
	tokens     float64
	last       time.Time
	suppressed uint64
}

func newLogLimiter(burst int, every time.Duration) *logLimiter {
	return &logLimiter{burst: float64(burst), every: every, buckets: make(map[digest.Reason]*logBucket)}
}

// allow takes a token for key. When it says yes, suppressed is the number
// of lines refused for key since the last one allowed.
func (l *logLimiter) allow(key digest.Reason) (ok bool, suppressed uint64) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		b = &logBucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.last))/float64(l.every))
	b.last = now
	if b.tokens < 1 {
		b.suppressed++
		return false, 0
	}
	b.tokens--
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// authFailed logs a failed authentication of req: the reason, the user
// name the peer gave, where it came from. Never the credentials' response,
// nonce or anything else of the Authorization header.
func (s *Server) authFailed(req *sipgosip.Request, why digest.Reason, user string) {
	ok, suppressed := s.authLog.allow(why)
	if !ok {
		return
	}
	if len(user) > maxLoggedUser {
		user = user[:maxLoggedUser] + "..."
	}
	attrs := []slog.Attr{
		slog.String("reason", string(why)),
		slog.String("user", user),
		slog.String("src", req.Source()),
		slog.String("method", req.Method.String()),
	}
	if to := req.To(); to != nil && req.Method == sipgosip.REGISTER {
		ext := to.Address.User
		if len(ext) > maxLoggedUser {
			ext = ext[:maxLoggedUser] + "..."
		}
		attrs = append(attrs, slog.String("ext", ext))
	}
	if suppressed > 0 {
		attrs = append(attrs, slog.Uint64("suppressed", suppressed))
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "sip auth failed", attrs...)
}
