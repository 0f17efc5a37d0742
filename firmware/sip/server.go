// Package sip is the SIP edge of the box, built on sipgo: UDP and TCP
// transports on one listening address, the registrar with our own digest
// authentication, trunk registration, and a B2BUA whose call legs implement
// call.Leg so that routing code never touches SIP.
//
// # Shape
//
// One sipgo UserAgent owns the transport and transaction layers. Every
// request runs on its own sipgo goroutine; an INVITE's goroutine becomes the
// inbound leg's owner until the call ends, and [Config.Handler] runs the
// call on a goroutine of its own. Dialogs are indexed by their dialog ID in
// one table so that ACK, BYE, re-INVITE, UPDATE and INFO find their leg.
//
// Requests leave from the listening socket (UDP) so that NATs and firewalls
// see one address; responses go to the received address and rport (RFC 3581).
//
// # Authentication
//
// REGISTER is challenged with 401 and INVITE with 407, offering MD5 unless
// [Config.Algorithms] or the site's system.sip_digest ask for SHA-256 (RFC
// 8760). Unknown users and wrong passwords get the same 403, so extensions
// cannot be enumerated; the log says which, rate-limited. Failures are
// counted per source address ([Server.AuthFailures]) for the ban list that
// [Config.ReadFilter] enforces.
package sip

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/media"
	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

// Account is what the registrar needs to know about an extension.
type Account struct {
	Extension  string
	HA1MD5     string // H(ext:realm:secret) with MD5
	HA1SHA256  string // the same with SHA-256
	Permission string // outbound class (site.Perm*)
	Name       string // caller-ID name
	// Mailbox: the extension has a voicemail box. Only these get
	// unsolicited message-waiting NOTIFYs.
	Mailbox bool
	// Trunk: the credentials were a trunk's inbound_auth (trunkid.go),
	// not an extension's.
	Trunk string
}

// CallInfo describes a new inbound call.
type CallInfo struct {
	CallID    string
	From      call.Party
	To        string // dialled user part of the Request-URI
	Extension string // authenticated extension, or ""
	Trunk     string // trunk id when the call came from a trunk, or ""
	DID       string // number dialled on the trunk
	// Asserted is the user part of a trunk call's P-Asserted-Identity
	// (RFC 3325): the number the carrier vouches for, which DISA also
	// recognises when the From is withheld or differs; "" when absent.
	Asserted string
}

// Handler runs calls. HandleCall runs on its own goroutine per call and owns
// the inbound leg: it answers, rings, bridges and hangs up as it decides.
type Handler interface {
	HandleCall(ctx context.Context, in call.Leg, info CallInfo)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, in call.Leg, info CallInfo)

// HandleCall calls f.
func (f HandlerFunc) HandleCall(ctx context.Context, in call.Leg, info CallInfo) { f(ctx, in, info) }

// Config configures a Server. Zero values get the defaults noted.
type Config struct {
	ListenAddr string // "ip:port" for both UDP and TCP; default "0.0.0.0:5060"
	// PublicHost is the address put in Via, Contact and SDP origin; default
	// the listen IP (or the first non-loopback address when listening on all).
	PublicHost string
	Realm      string // digest realm; default "ringbox"
	UserAgent  string // User-Agent and Server header until Reload gives the site's; default "Ringbox"
	Lookup     func(ext string) (Account, bool)
	Site       func() *site.Site
	Media      *media.Engine
	Handler    Handler
	Bus        *events.Bus
	Logger     *slog.Logger
	// TrunkTimeout is how long a trunk may take to give a final answer (or
	// a 180) before the next trunk is tried; default 32s (Timer B).
	TrunkTimeout time.Duration
	// ReadFilter sees every datagram or TCP read before parsing; returning
	// false drops it (UDP) or closes the connection (TCP). Bans and rate
	// limits go here.
	ReadFilter func(src netip.AddrPort, msg []byte) bool
	// Algorithms are the digest challenges offered, in order (MD5,
	// SHA-256). When empty the site's system.sip_digest decides, read at
	// each challenge, and without it MD5 alone: SIPp 3.6 and many desk
	// phones read only the first challenge and know only MD5, and baresip
	// 1.x gives up when any challenge names another algorithm.
	Algorithms []string
	// nonceLifetime is how long a challenge's nonce stays fresh; default
	// 5 minutes. Tests shorten it to see stale nonces.
	nonceLifetime time.Duration
	// RetryAfter is sent with 503 while shutting down; default 30s.
	RetryAfter time.Duration
	// TrunkRetry is the first back-off after a failed trunk registration;
	// it doubles up to TrunkRetryMax. Defaults 30s and 10m.
	TrunkRetry, TrunkRetryMax time.Duration
	// Voicemail returns an extension's new and old message counts for the
	// message-waiting indicator (SUBSCRIBE and REGISTER); nil: 0/0, and no
	// NOTIFY on REGISTER.
	Voicemail func(ext string) (newMsgs, oldMsgs int)
	// MaxCalls bounds the inbound calls up at once (answered or not); a
	// new INVITE past it gets 503 with Retry-After. 0: no bound.
	MaxCalls int
	// Admit, when set, is asked before a new inbound call is taken; an
	// error refuses it with 503 and is logged as the reason (e.g. memory
	// running short).
	Admit func() error
	// Alive, when set, is called every AliveEvery (0: 5s) by Run's loop
	// once it has taken the server's and the registrar's locks: the
	// watchdog's proof that the SIP edge is not deadlocked. nil: no
	// probe.
	Alive      func()
	AliveEvery time.Duration
	// Lamps gives the busy lamps of the dialog event package (BLF keys,
	// dialoginfo.go); nil: SUBSCRIBE Event: dialog gets 489.
	Lamps LampSource

	// SIP over TLS (tls.go). TLSListener (plain TCP; the server wraps it
	// in TLS and closes it) turns it on; TLSCertificate serves the
	// certificate at each handshake (so a new one is used without a
	// restart); TLSClient verifies TLS trunks (nil: the system's roots).
	TLSListener    net.Listener
	TLSCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	TLSClient      *tls.Config

	// Edge connects the edge filter: authentication outcomes, allow
	// lists, unparseable packets, TCP connection limits (edgehooks.go).
	Edge EdgeHooks
}

// Server is the SIP edge.
type Server struct {
	cfg   Config
	log   *slog.Logger
	agent atomic.Pointer[string] // User-Agent and Server header: site system.sip_user_agent (userAgent)
	host  string                 // public host for Via/Contact
	ip    netip.Addr             // listen IP when specific: requests leave from it
	port  int

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	udpCli *sipgo.Client
	tcpCli *sipgo.Client

	tlsCli  *sipgo.Client // Via names the TLS port (tls.go)
	tlsPort int           // 0: no TLS listener

	nonces     *digest.Nonces
	authLog    *logLimiter
	algCache   atomic.Pointer[algCache]
	localAddrs localAddrs
	refusals   *refusalLog
	recent     *recentSet
	reg        *registrar
	trunks     *trunkManager
	dialer     *Dialer
	subs       *notifier // SUBSCRIBE/NOTIFY of every event package (subscribe.go)
	lastSrc    lastSource
	frames     streamFrames // where each message begins on TCP and TLS (tcpframe.go)
	caps       *inboundCaps // inbound calls per trunk and per source (trunkid.go)

	draining  atomic.Bool
	inCalls   atomic.Int64 // inbound legs not yet ended
	lingering atomic.Int64 // answered non-INVITE transactions kept (bounded)

	mu       sync.Mutex      // protects following
	dialogs  map[string]*Leg // dialog id (as seen by incoming requests) -> leg
	legs     map[*Leg]struct{}
	authFail map[netip.Addr]uint64
	peak     int // most entries dialogs or legs held since they were last rebuilt

	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown's end to make Run return
	runDone  chan struct{}
	legSeq   atomic.Uint64
}

// New builds a server; Run starts it.
func New(cfg Config) (*Server, error) {
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = "0.0.0.0:5060"
	}
	if cfg.Realm == "" {
		cfg.Realm = "ringbox"
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = site.DefaultSIPUserAgent
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.TrunkTimeout <= 0 {
		cfg.TrunkTimeout = 32 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 30 * time.Second
	}
	if cfg.TrunkRetry <= 0 {
		cfg.TrunkRetry = 30 * time.Second
	}
	if cfg.TrunkRetryMax <= 0 {
		cfg.TrunkRetryMax = 10 * time.Minute
	}
	for _, a := range cfg.Algorithms {
		if a != digest.SHA256 && a != digest.MD5 {
			return nil, fmt.Errorf("sip: digest algorithm %q not supported (SHA-256, MD5)", a)
		}
	}
	if cfg.Lookup == nil {
		cfg.Lookup = func(string) (Account, bool) { return Account{}, false }
	}
	if cfg.Site == nil {
		cfg.Site = func() *site.Site { return &site.Site{} }
	}
	ap, err := listenAddr(cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("sip listen address %q: %w", cfg.ListenAddr, err)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger.With("pkg", "sip"),
		port:     int(ap.Port()),
		nonces:   digest.NewNonces(cmp.Or(cfg.nonceLifetime, 5*time.Minute), 0),
		authLog:  newLogLimiter(authLogBurst, authLogEvery),
		refusals: newRefusalLog(cfg.Logger.With("pkg", "sip")),
		recent:   newRecentSet(recentKeep, recentMax),
		caps:     newInboundCaps(),
		dialogs:  make(map[string]*Leg),
		legs:     make(map[*Leg]struct{}),
		authFail: make(map[netip.Addr]uint64),
		stop:     make(chan struct{}),
		runDone:  make(chan struct{}),
	}
	s.setUserAgent(cfg.UserAgent)
	s.host = cfg.PublicHost
	if s.host == "" {
		s.host = ap.Addr().String()
		if ap.Addr().IsUnspecified() {
			s.host = firstAddr()
		}
	}
	if !ap.Addr().IsUnspecified() {
		s.ip = ap.Addr().Unmap()
	}
	if err := s.setupTLS(); err != nil {
		return nil, err
	}

	var tpOpts []sipgosip.TransportLayerOption
	tpOpts = append(tpOpts, sipgosip.WithTransportLayerLogger(slog.New(quietHandler{Handler: s.log.Handler(), s: s})))
	tpOpts = append(tpOpts, sipgosip.WithTransportLayerReadFilter(s.readFilter))
	s.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.UserAgent), sipgo.WithUserAgentHostname(s.host),
		sipgo.WithUserAgentTransportLayerOptions(tpOpts...), sipgo.WithUserAgenTLSConfig(s.tlsClientConfig()),
		sipgo.WithUserAgentTransactionLayerOptions(sipgosip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse)))
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	s.srv, err = sipgo.NewServer(s.ua, sipgo.WithServerLogger(s.log))
	if err != nil {
		return nil, fmt.Errorf("sip server: %w", err)
	}
	connAddr := cfg.ListenAddr
	if ap.Addr().IsUnspecified() {
		connAddr = ""
	}
	udpOpts := []sipgo.ClientOption{sipgo.WithClientHostname(s.host), sipgo.WithClientPort(s.port), sipgo.WithClientLogger(s.log)}
	if connAddr != "" {
		udpOpts = append(udpOpts, sipgo.WithClientConnectionAddr(connAddr))
	}
	if s.udpCli, err = sipgo.NewClient(s.ua, udpOpts...); err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	if s.tcpCli, err = sipgo.NewClient(s.ua, sipgo.WithClientHostname(s.host), sipgo.WithClientPort(s.port), sipgo.WithClientLogger(s.log)); err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	if err := s.newTLSClient(); err != nil {
		return nil, err
	}
	s.reg = newRegistrar(s)
	s.trunks = newTrunkManager(s)
	s.dialer = &Dialer{s: s}

	// INVITE, ACK, BYE and INFO manage their transactions themselves;
	// the other methods' are kept for Timer J, bounded (timers.go).
	s.srv.OnRegister(s.bounded(s.reg.handle))
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.bounded(func(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
		// Matched CANCELs never get here: the transaction layer answers them.
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
	}))
	s.srv.OnOptions(s.bounded(s.onOptions))
	s.srv.OnInfo(s.onInfo)
	s.srv.OnUpdate(s.bounded(s.onUpdate))
	s.srv.OnPrack(s.bounded(s.onPrack))
	s.srv.OnRefer(s.bounded(s.onRefer))
	s.subs = newNotifier(s, s.eventPackages()...)
	s.srv.OnSubscribe(s.bounded(s.subs.onSubscribe))
	s.srv.OnNoRoute(s.bounded(func(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
		s.send(tx, req, 405, "Method Not Allowed", sipgosip.NewHeader("Allow", allowMethods))
	}))
	return s, nil
}

// firstAddr is the first non-loopback IPv4 address, for a server that
// listens on all interfaces and was given no public host.
func firstAddr() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return "127.0.0.1"
}

func (s *Server) readFilter(p sipgosip.TransportReadProps, data []byte) ([]byte, error) {
	var src netip.AddrPort
	switch a := p.RemoteAddr.(type) {
	case *net.UDPAddr:
		src = a.AddrPort()
	case *net.TCPAddr:
		src = a.AddrPort()
	default:
		src, _ = netip.ParseAddrPort(p.RemoteAddr.String())
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	reliable := sipgosip.IsReliable(p.Transport)
	s.lastSrc.set(reliable, src.Addr())
	if s.cfg.ReadFilter == nil {
		return data, nil
	}
	if reliable {
		// Every message of the read is judged, not only the first; a
		// stream cannot skip part of itself, so a refusal drops the
		// connection.
		if !s.frames.headers(src, data, s.cfg.ReadFilter) {
			s.frames.forget(src)
			return nil, fmt.Errorf("read filter refused %s", src)
		}
		return data, nil
	}
	if s.cfg.ReadFilter(src, data) {
		return data, nil
	}
	return nil, nil
}

// Run listens on UDP and TCP and serves until ctx ends or Shutdown
// completes. A port in use is an error naming the address.
func (s *Server) Run(ctx context.Context) error {
	defer close(s.runDone)
	udpAddr, err := net.ResolveUDPAddr("udp", s.cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("sip listen udp %s: %w", s.cfg.ListenAddr, err)
	}
	uc, err := net.ListenUDP("udp", udpAddr)
	if err != nil {
		return fmt.Errorf("sip listen udp %s: %w", s.cfg.ListenAddr, err)
	}
	growBuffers(uc)
	tl, err := net.Listen("tcp", s.cfg.ListenAddr)
	if err != nil {
		uc.Close()
		return fmt.Errorf("sip listen tcp %s: %w", s.cfg.ListenAddr, err)
	}
	tlsLn, err := s.listenTLS()
	if err != nil {
		uc.Close()
		tl.Close()
		return err
	}
	errc := make(chan error, 3)
	go func() { errc <- s.srv.ServeUDP(uc) }()
	go func() { errc <- s.srv.ServeTCP(s.wrapTCP(tl)) }()
	if tlsLn != nil {
		go func() { errc <- s.srv.ServeTLS(tlsLn) }()
		defer tlsLn.Close()
	}
	s.log.Info("sip listening", "addr", s.cfg.ListenAddr, "public", s.host)

	bg, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.reg.sweep(bg) })
	wg.Go(func() { s.recent.sweep(bg) })
	wg.Go(func() { s.watchMedia(bg) })
	// sipgo adds the listening socket to its connection pool from inside
	// ServeUDP; a trunk REGISTER sent before that tries to bind the same
	// address again and fails. Wait until it is pooled (at most 2 s).
	pooled := uc.LocalAddr().String()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; {
		if _, err := s.ua.TransportLayer().GetConnection("udp", pooled); err == nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.trunks.start(bg)
	s.trunks.reload(s.cfg.Site())

	var runErr error
	var tick <-chan time.Time // nil without a probe: no ticks
	if s.cfg.Alive != nil {
		every := s.cfg.AliveEvery
		if every <= 0 {
			every = 5 * time.Second
		}
		t := time.NewTicker(every)
		defer t.Stop()
		tick = t.C
	}
serve:
	for {
		select {
		case <-ctx.Done():
			break serve
		case <-s.stop:
			break serve
		case err := <-errc:
			if err != nil {
				runErr = fmt.Errorf("sip serve %s: %w", s.cfg.ListenAddr, err)
			}
			break serve
		case <-tick:
			s.probe()
		}
	}
	s.trunks.stopAll(false)
	cancel()
	wg.Wait()
	s.hangupAll(call.Shutdown)
	uc.Close()
	tl.Close()
	s.ua.Close()
	return runErr
}

// probe tells cfg.Alive the edge is alive, once the locks every request
// takes are free: a leg or registration handler stuck holding one stops
// the beats.
func (s *Server) probe() {
	s.mu.Lock()
	s.mu.Unlock() //nolint:staticcheck // SA2001: taking the lock is the probe
	s.reg.mu.Lock()
	s.reg.mu.Unlock() //nolint:staticcheck // SA2001: likewise
	s.cfg.Alive()
}

// Shutdown drains: new INVITEs get 503 with Retry-After, trunks
// un-register, calls in progress may finish until ctx ends and are then
// hung up (BYE), and the user agent closes. Run returns afterwards.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.trunks.stopAll(true)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
wait:
	for {
		s.mu.Lock()
		n := len(s.legs)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			break wait
		case <-t.C:
		}
	}
	s.hangupAll(call.Shutdown)
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.runDone:
	case <-time.After(5 * time.Second):
	}
	return nil
}

// hangupAll ends every leg and waits briefly for the BYEs to go out.
func (s *Server) hangupAll(c call.Cause) {
	s.mu.Lock()
	legs := make([]*Leg, 0, len(s.legs))
	for l := range s.legs {
		legs = append(legs, l)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Go(func() {
			l.Hangup(c)
			select {
			case <-l.Done():
			case <-time.After(3 * time.Second):
			}
		})
	}
	wg.Wait()
}

// Dialer returns the dialer for outbound legs (implements call.Dialer and
// call.Bridger).
func (s *Server) Dialer() *Dialer { return s.dialer }

// Registrations lists the current contact bindings, for the API.
func (s *Server) Registrations() []Registration { return s.reg.list() }

// TrunkStates reports each trunk's registration.
func (s *Server) TrunkStates() []TrunkState { return s.trunks.list() }

// Reload applies a new site: trunk registrations are started, restarted
// or stopped as their configuration changed, and the User-Agent the box
// sends is the site's from the next message.
func (s *Server) Reload(st *site.Site) {
	if st != nil {
		s.setUserAgent(st.System.UserAgent())
	}
	s.trunks.reload(st)
}

// userAgent is the User-Agent and Server header the box sends.
func (s *Server) userAgent() string { return *s.agent.Load() }

func (s *Server) setUserAgent(ua string) {
	if ua == "" {
		ua = site.DefaultSIPUserAgent
	}
	s.agent.Store(&ua)
}

// AuthFailures returns how many failed authentications each source address
// has made since start, for the ban list.
func (s *Server) AuthFailures() map[netip.Addr]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[netip.Addr]uint64, len(s.authFail))
	for k, v := range s.authFail {
		out[k] = v
	}
	return out
}

// maxAuthFailSources bounds the failure table; a flood from many addresses
// resets it rather than growing memory without limit.
const maxAuthFailSources = 65536

func (s *Server) countAuthFailure(ip netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.authFail) >= maxAuthFailSources {
		clear(s.authFail)
	}
	s.authFail[ip]++
}

func (s *Server) publish(p events.Payload) {
	if s.cfg.Bus != nil {
		s.cfg.Bus.Publish(p)
	}
}

// newResponse builds a response that goes back to where the request came
// from, with received= per RFC 3261 §18.2.1 when the Via host differs.
func (s *Server) newResponse(req *sipgosip.Request, code int, reason string, body []byte) *sipgosip.Response {
	res := sipgosip.NewResponseFromRequest(req, code, reason, body)
	if via := res.Via(); via != nil {
		if src, err := netip.ParseAddrPort(req.Source()); err == nil {
			if via.Host != src.Addr().String() && !via.Params.Has("received") {
				via.Params.Add("received", src.Addr().String())
			}
		}
	}
	res.AppendHeader(sipgosip.NewHeader("Server", s.userAgent()))
	return res
}

// respond sends a response without a body. A 5xx is logged (rate-limited);
// callers that know why they refuse use refuse, which logs the reason.
func (s *Server) respond(tx sipgosip.ServerTransaction, req *sipgosip.Request, code int, reason string, hdrs ...sipgosip.Header) {
	if code >= 500 {
		s.refusals.refused(req, code, reason, "")
	}
	s.send(tx, req, code, reason, hdrs...)
}

// refuse sends a 5xx (or any final response) and logs it with why, the
// box's own reason, rate-limited.
func (s *Server) refuse(tx sipgosip.ServerTransaction, req *sipgosip.Request, code int, reason, why string, hdrs ...sipgosip.Header) {
	if code >= 500 {
		s.refusals.refused(req, code, reason, why)
	}
	s.send(tx, req, code, reason, hdrs...)
}

func (s *Server) send(tx sipgosip.ServerTransaction, req *sipgosip.Request, code int, reason string, hdrs ...sipgosip.Header) {
	res := s.newResponse(req, code, reason, nil)
	for _, h := range hdrs {
		res.AppendHeader(h)
	}
	if err := tx.Respond(res); err != nil {
		s.log.Debug("respond failed", "code", code, "method", req.Method, "error", err)
		return
	}
	if req.IsInvite() && code >= 300 {
		absorbAck(tx)
	}
}

// absorbAck waits for the ACK of a non-2xx final response to an INVITE
// (a few milliseconds; at worst until Timer H ends the transaction) and
// takes it. Left unread, sipgo parks the ACK in a goroutine of its own
// until the transaction ends, 5 s later (Timer I): one per refused or
// challenged INVITE, thousands of them when the box sheds load.
func absorbAck(tx sipgosip.ServerTransaction) {
	select {
	case <-tx.Acks():
	case <-tx.Done():
	}
}

// client picks the sipgo client for a transport: UDP leaves from the
// listening socket; TCP dials (or reuses) a connection.
func (s *Server) client(transport string) *sipgo.Client {
	if strings.EqualFold(transport, "tcp") {
		return s.tcpCli
	}
	if secureTransport(transport) {
		return s.tlsCli
	}
	return s.udpCli
}

// contactHeader is the box's Contact for a transport.
func (s *Server) contactHeader(user, transport string) *sipgosip.ContactHeader {
	c := &sipgosip.ContactHeader{Address: sipgosip.Uri{Scheme: "sip", User: user, Host: s.host, Port: s.transportPort(transport)}}
	contactTransportParam(c, transport)
	return c
}

func sourceAddr(req *sipgosip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (s *Server) onOptions(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	res := s.newResponse(req, 200, "OK", nil)
	res.AppendHeader(sipgosip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sipgosip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("options respond", "error", err)
	}
}

const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK, REFER, REGISTER, SUBSCRIBE"

// busyRetry is the Retry-After of a 503 for overload: soon, the load
// may have passed.
func (s *Server) busyRetry() sipgosip.Header { return sipgosip.NewHeader("Retry-After", "5") }

func (s *Server) retryAfter() sipgosip.Header {
	return sipgosip.NewHeader("Retry-After", strconv.Itoa(int(s.cfg.RetryAfter/time.Second)))
}

var errNoDialog = errors.New("no such dialog")

// shrinkLocked rebuilds the dialog and leg maps once a burst is over: a Go
// map keeps the buckets of its largest size for good, which after a few
// thousand calls at once is hundreds of kilobytes of heap that the quiet
// box never needs again. s.mu must be held.
func (s *Server) shrinkLocked() {
	const floor = 1024
	if s.peak < floor || max(len(s.dialogs), len(s.legs))*8 > s.peak {
		return
	}
	dialogs := make(map[string]*Leg, len(s.dialogs))
	for k, v := range s.dialogs {
		dialogs[k] = v
	}
	legs := make(map[*Leg]struct{}, len(s.legs))
	for k := range s.legs {
		legs[k] = struct{}{}
	}
	s.dialogs, s.legs = dialogs, legs
	s.peak = max(len(dialogs), len(legs))
}

// listenAddr parses a listen address: IP:port, or :port (every address,
// as `ringbox serve`'s default ":5060" says).
func listenAddr(a string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port %q: want a number from 0 to 65535", port)
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return netip.AddrPort{}, fmt.Errorf("want an IP address or none, not %q", host)
		}
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}
