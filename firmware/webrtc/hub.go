package webrtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	pion "github.com/pion/webrtc/v4"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/media"
)

// Config configures a [Hub]. The zero value of every field but Media works.
type Config struct {
	// Media anchors each browser leg's audio as a *media.Stream.
	Media *media.Engine
	// ICEServers are the STUN/TURN servers the box's own ICE agent uses
	// (site config); nil: host candidates only, which is enough on a LAN.
	ICEServers []pion.ICEServer
	// PublicIP, when set, is announced instead of the box's private
	// address in host candidates (1:1 NAT in front of the box).
	PublicIP string
	Logger   *slog.Logger // nil: slog.Default()
	Bus      *events.Bus  // nil: no events

	loopback bool // tests: offer 127.0.0.1 candidates
}

// Hub connects agents' browser pages to calls. It is a call.Dialer for
// call.TargetBrowser targets. All methods are safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger
	api *pion.API

	mu     sync.Mutex                    // protects following
	pages  map[string]map[*page]struct{} // agent -> attached pages
	legs   map[string]*Leg               // call id -> leg, ringing or answered
	closed bool
	wg     sync.WaitGroup // every leg's goroutines (spawn)
}

func (h *Hub) pagesOf(agent string) []*page {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pagesLocked(agent)
}

// page is one attached Session.
type page struct {
	agent string
	s     Session
}

// ErrClosed is returned by Dial after Close.
var ErrClosed = errors.New("webrtc: hub closed")

var _ call.Dialer = (*Hub)(nil)

// NewHub builds a hub. It starts no goroutine until a call rings.
func NewHub(cfg Config) (*Hub, error) {
	if cfg.Media == nil {
		return nil, errors.New("webrtc: hub needs a media engine")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	api, err := newAPI(cfg)
	if err != nil {
		return nil, fmt.Errorf("webrtc: build api: %w", err)
	}
	return &Hub{
		cfg:   cfg,
		log:   log.With("component", "webrtc"),
		api:   api,
		pages: make(map[string]map[*page]struct{}),
		legs:  make(map[string]*Leg),
	}, nil
}

// Attach registers a page of agent (one browser tab) and returns the
// function that removes it, which the web layer calls when the WebSocket
// closes. A call answered on that page is hung up (call.Normal) when its
// page detaches: without signalling the box could never learn of the end.
func (h *Hub) Attach(agent string, s Session) (detach func()) {
	p := &page{agent: agent, s: s}
	h.mu.Lock()
	m := h.pages[agent]
	if m == nil {
		m = make(map[*page]struct{})
		h.pages[agent] = m
	}
	m[p] = struct{}{}
	n := len(m)
	h.mu.Unlock()
	h.publish(agent, n)
	h.log.Debug("page attached", "agent", agent)
	var once sync.Once
	return func() { once.Do(func() { h.detach(p) }) }
}

func (h *Hub) detach(p *page) {
	h.mu.Lock()
	if m := h.pages[p.agent]; m != nil {
		delete(m, p)
		if len(m) == 0 {
			delete(h.pages, p.agent)
		}
	}
	n := len(h.pages[p.agent])
	var legs []*Leg
	for _, l := range h.legs {
		if l.agent == p.agent {
			legs = append(legs, l)
		}
	}
	h.mu.Unlock()
	h.publish(p.agent, n)
	for _, l := range legs {
		l.pageGone(p)
	}
	h.log.Debug("page detached", "agent", p.agent)
}

// Attached reports how many pages agent has attached.
func (h *Hub) Attached(agent string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pages[agent])
}

// Receive handles a message from one of agent's pages without saying
// which: right when the agent has one page open. With several, an accept
// through Receive is answered on all of them and none gets cancel (a page
// that gets an answer it did not ask for must treat the call as taken
// elsewhere); use [Hub.ReceiveFrom].
func (h *Hub) Receive(ctx context.Context, agent string, sig Signal) {
	h.ReceiveFrom(ctx, agent, nil, sig)
}

// ReceiveFrom handles message sig from page s of agent: the page that
// accepts a call gets its answer and the agent's other pages get cancel.
// Invalid messages ([Signal.Validate]) and messages for calls that are not
// the agent's or no longer exist are ignored: a page can race the end of
// a call.
func (h *Hub) ReceiveFrom(ctx context.Context, agent string, s Session, sig Signal) {
	if err := sig.Validate(); err != nil {
		h.log.Debug("bad signal from page", "agent", agent, "error", err)
		return
	}
	h.mu.Lock()
	l := h.legs[sig.CallID]
	var from *page
	for p := range h.pages[agent] {
		if p.s == s {
			from = p
		}
	}
	h.mu.Unlock()
	if s != nil && from == nil {
		h.log.Debug("signal from a page not attached", "agent", agent, "type", sig.Type)
		return
	}
	if l == nil || l.agent != agent {
		h.log.Debug("signal for unknown call", "agent", agent, "type", sig.Type, "call", sig.CallID)
		return
	}
	l.signal(ctx, from, sig)
}

// Close hangs up every browser leg (call.Shutdown) and waits until their
// peer connections, sockets and goroutines are gone. Dial fails after it.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	legs := make([]*Leg, 0, len(h.legs))
	for _, l := range h.legs {
		legs = append(legs, l)
	}
	h.mu.Unlock()
	for _, l := range legs {
		l.end(call.Shutdown)
	}
	h.wg.Wait()
}

// BrowserPages is published on the bus when an agent's number of attached
// pages changes: the dashboard shows who can take calls in the browser.
type BrowserPages struct {
	Agent string `json:"agent"`
	Pages int    `json:"pages"`
}

// Type implements events.Payload.
func (BrowserPages) Type() string { return "webrtc.pages" }

func (h *Hub) publish(agent string, n int) {
	if h.cfg.Bus != nil {
		h.cfg.Bus.Publish(BrowserPages{Agent: agent, Pages: n})
	}
}

// spawn runs f on a goroutine Close waits for. Once Close has begun, f
// runs on the caller's goroutine instead: adding to the WaitGroup while
// Close waits on it would race, and by then every leg has ended, so what
// f does (tear a leg down, refuse a late accept or digit) is quick.
func (h *Hub) spawn(f func()) {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		f()
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer h.wg.Done()
		f()
	}()
}
