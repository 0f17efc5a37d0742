package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"ringbox/firmware/webrtc"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// PhoneSignal is one message between the agent page's browser phone and
// the box, sent as one JSON text frame over GET /api/v1/agent/ws (the
// protocol of package webrtc, docs/webrtc.md).
type PhoneSignal = webrtc.Signal

// PhoneSession is one attached page; Send must not block for long and be
// safe for concurrent use; an error means the page is gone.
type PhoneSession = webrtc.Session

// PhoneHub is the browser phone hub as the page's WebSocket uses it
// (*webrtc.Hub): each open page is
// attached for its agent and every message it sends is passed on, naming
// the page, so that the page that accepts gets the answer and the agent's
// other pages get cancel.
type PhoneHub interface {
	Attach(agent string, s PhoneSession) (detach func())
	ReceiveFrom(ctx context.Context, agent string, s PhoneSession, sig PhoneSignal)
}

const (
	// phoneQueue is how many messages wait for a slow page before it is
	// dropped: the box never waits for a browser.
	phoneQueue = 32
	// phoneWriteTimeout bounds one write; phonePing finds pages that
	// went away without closing (a laptop lid).
	phoneWriteTimeout = 10 * time.Second
	phonePing         = 30 * time.Second
)

// DecodePhoneSignal parses and checks one message from a page with
// webrtc.DecodeSignal (a known page-to-box type, a printable call id, an
// SDP offer for accept, one DTMF key for dtmf, a destination for
// transfer) and drops the box-to-page fields a page sends.
func DecodePhoneSignal(b []byte) (PhoneSignal, error) {
	s, err := webrtc.DecodeSignal(b)
	if err != nil {
		return PhoneSignal{}, err
	}
	if s.Type != webrtc.TypeAccept {
		s.SDP = ""
	}
	s.Candidate, s.Caller, s.CallerName, s.Via, s.Offer, s.Reason, s.Code = "", "", "", "", "", "", 0
	return s, nil
}

// wsSameOrigin refuses a WebSocket opened by another site's page: a
// browser sends the page's Origin with every WebSocket handshake, and the
// cookie would otherwise let any site attach to the agent's phone.
func wsSameOrigin(r *http.Request) bool {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" && sfs != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return false // browsers always send it; tools may use a token and no WebSocket
	}
	u, err := url.Parse(o)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func (h *desk) phoneWS(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	if p.Agent == "" {
		WriteError(w, http.StatusForbidden, "your login is not bound to an agent: there is no phone to attach")
		return
	}
	if !wsSameOrigin(r) {
		WriteError(w, http.StatusForbidden, "cross-site WebSocket refused")
		return
	}
	// The socket counts among the login's live streams (streams.go).
	release, ok := h.s.openStream(w, p)
	if !ok {
		return
	}
	defer release()
	if h.d.Phones == nil {
		WriteError(w, http.StatusServiceUnavailable, "the browser phone is not available on this box")
		return
	}
	// The origin was checked above, so Accept need not (it would refuse a
	// proxy that rewrites Host the same way the page's origin does).
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		h.log.Warn("agent websocket", "agent", p.Agent, "err", err)
		return
	}
	c.SetReadLimit(webrtc.MaxSignalBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	sess := &wsSession{out: make(chan PhoneSignal, phoneQueue), gone: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		// The server's Close ends the socket as it ends event streams.
		sess.writeLoop(ctx, c, h.s.done)
	}()
	detach := h.d.Phones.Attach(p.Agent, sess)
	h.log.Info("browser phone attached", "agent", p.Agent, "login", p.Login)
	err = readPhone(ctx, c, func(sig PhoneSignal) { h.d.Phones.ReceiveFrom(ctx, p.Agent, sess, sig) }, sess.Send)
	detach()
	sess.close()
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) && websocket.CloseStatus(err) == -1 {
		h.log.Info("browser phone detached", "agent", p.Agent, "err", err)
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// readPhone reads frames until the page or ctx ends: each valid signal
// goes to recv; an invalid one is answered with an error signal (the page
// logs it) and does not end the socket.
func readPhone(ctx context.Context, c *websocket.Conn, recv func(PhoneSignal), reply func(PhoneSignal) error) error {
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			reply(PhoneSignal{Type: "error", Reason: "text frames only"})
			continue
		}
		sig, err := DecodePhoneSignal(b)
		if err != nil {
			reply(PhoneSignal{Type: "error", Reason: err.Error()})
			continue
		}
		recv(sig)
	}
}

// wsSession is one page's socket as the hub sees it: Send queues, one
// writer goroutine writes.
type wsSession struct {
	out  chan PhoneSignal
	once sync.Once
	gone chan struct{} // closed when the page is gone
}

var errPageGone = errors.New("the agent's page is gone")

// Send queues sig for the page; a page that cannot keep up is dropped.
func (s *wsSession) Send(sig PhoneSignal) error {
	select {
	case <-s.gone:
		return errPageGone
	default:
	}
	select {
	case s.out <- sig:
		return nil
	case <-s.gone:
		return errPageGone
	default:
		s.close()
		return errPageGone
	}
}

func (s *wsSession) close() { s.once.Do(func() { close(s.gone) }) }

func (s *wsSession) writeLoop(ctx context.Context, c *websocket.Conn, done <-chan struct{}) {
	defer s.close()
	ping := time.NewTicker(phonePing)
	defer ping.Stop()
	for {
		select {
		case sig := <-s.out:
			b, err := json.Marshal(sig)
			if err != nil {
				continue
			}
			wctx, cancel := context.WithTimeout(ctx, phoneWriteTimeout)
			err = c.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, phoneWriteTimeout)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		case <-s.gone:
			return
		case <-done:
			return
		case <-ctx.Done():
			return
		}
	}
}

var _ PhoneHub = (*webrtc.Hub)(nil)
