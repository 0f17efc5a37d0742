package sip

// Session timers (RFC 4028): a call whose far end vanished without a BYE
// (a carrier's restart, a phone pulled from the wall) would otherwise stay
// up, and billed, until the RTP watchdog noticed, which a held call or a
// carrier that keeps sending comfort noise never lets happen. Each side
// agrees an interval and which of them refreshes the session (re-INVITE or
// UPDATE) at half of it; the other ends the call when no refresh came.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
)

const (
	// sessionInterval is the box's own Session-Expires: 30 minutes, the
	// RFC 4028 recommendation.
	sessionInterval = 1800 * time.Second
	// minSE is the shortest interval the box accepts (RFC 4028 §4: 90 s
	// is the floor; a shorter one gets 422 with this Min-SE).
	minSE = 90 * time.Second
)

// sessionExpires is a parsed Session-Expires header: "1800;refresher=uac".
type sessionExpires struct {
	interval  time.Duration
	refresher string // "uac", "uas" or "" (not said)
}

// errBadSessionExpires: a Session-Expires or Min-SE that is not
// delta-seconds with optional parameters.
var errBadSessionExpires = errors.New("bad delta-seconds")

// parseDeltaSeconds reads the delta-seconds that Session-Expires and
// Min-SE start with (RFC 4028 §4), and the parameters after it.
func parseDeltaSeconds(v string) (time.Duration, string, error) {
	v = strings.TrimSpace(v)
	num, params, _ := strings.Cut(v, ";")
	num = strings.TrimSpace(num)
	if num == "" || len(num) > 10 {
		return 0, "", fmt.Errorf("%w %q", errBadSessionExpires, num)
	}
	n, err := strconv.ParseUint(num, 10, 32)
	if err != nil {
		return 0, "", fmt.Errorf("%w %q", errBadSessionExpires, num)
	}
	return time.Duration(n) * time.Second, params, nil
}

// parseSessionExpires parses a Session-Expires value. An unknown refresher
// value is an error (RFC 4028 §4: "uac" / "uas"); other parameters are
// ignored.
func parseSessionExpires(v string) (sessionExpires, error) {
	d, params, err := parseDeltaSeconds(v)
	if err != nil {
		return sessionExpires{}, err
	}
	se := sessionExpires{interval: d}
	for p := range strings.SplitSeq(params, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "refresher") {
			continue
		}
		switch val = strings.ToLower(strings.TrimSpace(val)); val {
		case "uac", "uas":
			se.refresher = val
		default:
			return sessionExpires{}, fmt.Errorf("refresher %q: want uac or uas", val)
		}
	}
	return se, nil
}

// headers is what requests and responses share for reading headers.
// The lookups below walk the header list comparing names without case
// (full or compact form) instead of sipgo's GetHeader, which lower-cases
// a copy of every header name it passes: this runs on every INVITE.
type headers interface {
	Headers() []sipgosip.Header
}

func nameIs(h sipgosip.Header, name, compact string) bool {
	n := h.Name()
	return strings.EqualFold(n, name) || compact != "" && strings.EqualFold(n, compact)
}

// headerValue is the first value of a header by its full or compact name.
func headerValue(m headers, name, compact string) string {
	for _, h := range m.Headers() {
		if nameIs(h, name, compact) {
			return h.Value()
		}
	}
	return ""
}

// hasOptionTag says whether a Supported or Require header (every one of
// them, comma lists) names tag.
func hasOptionTag(m headers, name, compact, tag string) bool {
	for _, h := range m.Headers() {
		if !nameIs(h, name, compact) {
			continue
		}
		for t := range strings.SplitSeq(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

func supports(m headers, tag string) bool {
	return hasOptionTag(m, "Supported", "k", tag) || hasOptionTag(m, "Require", "", tag)
}

// allows says whether a message's Allow header names method.
func allows(m headers, method string) bool {
	return hasOptionTag(m, "Allow", "", method)
}

// timerOffer is what a dialog-creating INVITE asked for.
type timerOffer struct {
	se        sessionExpires
	hasSE     bool
	minSE     time.Duration // the request's Min-SE, 0 when absent
	supported bool          // the UAC supports timer
}

func readTimerOffer(req *sipgosip.Request) (timerOffer, error) {
	o := timerOffer{supported: supports(req, "timer")}
	if v := headerValue(req, "Session-Expires", "x"); v != "" {
		se, err := parseSessionExpires(v)
		if err != nil {
			return o, fmt.Errorf("Session-Expires: %w", err)
		}
		o.se, o.hasSE = se, true
	}
	if v := headerValue(req, "Min-SE", ""); v != "" {
		d, _, err := parseDeltaSeconds(v)
		if err != nil {
			return o, fmt.Errorf("Min-SE: %w", err)
		}
		o.minSE = d
	}
	return o, nil
}

// timerAnswer is the box's side of the negotiation as UAS.
type timerAnswer struct {
	on        bool          // a session timer runs
	interval  time.Duration // agreed Session-Expires
	weRefresh bool          // the box (the UAS) refreshes
	tooSmall  bool          // refuse with 422 and Min-SE
}

// negotiateUAS decides the session timer for an INVITE the box answers
// (RFC 4028 §9). A Session-Expires below the box's Min-SE gets 422; one
// above the box's own interval is shortened to it (never below the
// request's Min-SE). The refresher is the one the request named, else the
// UAC when it supports timers, else the box. A UAC that neither asks for
// a timer nor supports one gets none: many phones handle a refresh
// re-INVITE they did not agree to badly.
func negotiateUAS(o timerOffer) timerAnswer {
	if !o.hasSE && !o.supported {
		return timerAnswer{}
	}
	a := timerAnswer{on: true, interval: sessionInterval}
	if o.hasSE {
		if o.se.interval < minSE {
			return timerAnswer{tooSmall: true}
		}
		a.interval = min(o.se.interval, sessionInterval)
	}
	a.interval = max(a.interval, o.minSE, minSE)
	// "uac", or nothing said: the UAC, unless it lacks timer support
	// (a proxy added the header), when it could not refresh.
	a.weRefresh = o.se.refresher == "uas" || !o.supported
	return a
}

// negotiateUAC reads the 2xx to an INVITE the box sent with its
// Session-Expires (RFC 4028 §7.2): no Session-Expires in the 2xx, no
// timer; "refresher=uac" (or none) makes the box refresh.
func negotiateUAC(res *sipgosip.Response) (timerAnswer, error) {
	v := headerValue(res, "Session-Expires", "x")
	if v == "" {
		return timerAnswer{}, nil
	}
	se, err := parseSessionExpires(v)
	if err != nil {
		return timerAnswer{}, fmt.Errorf("Session-Expires: %w", err)
	}
	if se.interval < minSE {
		// Below the Min-SE the box sent: keep the floor rather than
		// refresh every few seconds.
		se.interval = minSE
	}
	return timerAnswer{on: true, interval: se.interval, weRefresh: se.refresher != "uas"}, nil
}

// refresherParam is the refresher parameter naming the box or the peer,
// seen from a transaction where the box is the UAC (uac true) or the UAS.
func refresherParam(weRefresh, uac bool) string {
	if weRefresh == uac {
		return "uac"
	}
	return "uas"
}

// sessionExpiresHeader is "Session-Expires: N;refresher=X".
func sessionExpiresHeader(interval time.Duration, refresher string) sipgosip.Header {
	v := strconv.Itoa(int(interval / time.Second))
	if refresher != "" {
		v += ";refresher=" + refresher
	}
	return sipgosip.NewHeader("Session-Expires", v)
}

// expiryMargin is how long before the interval ends the side that does not
// refresh gives up (RFC 4028 §10): the lesser of 32 s and a third of it.
func expiryMargin(interval time.Duration) time.Duration {
	return min(32*time.Second, interval/3)
}

// sessionTimer runs one dialog's session timer: when the box refreshes it
// calls refresh at half the interval; whoever refreshes, it calls expire
// when no refresh succeeded by the interval less expiryMargin. Both
// callbacks run on timer goroutines; refresh should return once the
// refresh is done and call reset on success.
type sessionTimer struct {
	refresh func()
	expire  func()

	mu        sync.Mutex
	interval  time.Duration
	weRefresh bool
	gen       uint64 // bumps on every reset: a stale timer's callback does nothing
	refreshT  *time.Timer
	expireT   *time.Timer
	stopped   bool
}

func newSessionTimer(refresh, expire func()) *sessionTimer {
	return &sessionTimer{refresh: refresh, expire: expire}
}

// reset (re)starts the timer after a successful refresh or the answer.
func (t *sessionTimer) reset(interval time.Duration, weRefresh bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopTimersLocked()
	t.gen++
	gen := t.gen
	t.interval, t.weRefresh = interval, weRefresh
	if weRefresh {
		t.refreshT = time.AfterFunc(interval/2, func() {
			if t.current(gen) {
				t.refresh()
			}
		})
	}
	t.expireT = time.AfterFunc(interval-expiryMargin(interval), func() {
		if t.current(gen) {
			t.expire()
		}
	})
}

func (t *sessionTimer) current(gen uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.stopped && t.gen == gen
}

// state is the agreed interval and whether the box refreshes.
func (t *sessionTimer) state() (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.interval, t.weRefresh
}

func (t *sessionTimer) stopTimersLocked() {
	if t.refreshT != nil {
		t.refreshT.Stop()
		t.refreshT = nil
	}
	if t.expireT != nil {
		t.expireT.Stop()
		t.expireT = nil
	}
}

// stop ends the timer for good (the call ended).
func (t *sessionTimer) stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	t.stopTimersLocked()
}

// supportedTags is the Supported header of the box's INVITEs and 2xx.
const supportedTags = "100rel, timer"

// negotiateTimer reads a new call's INVITE for the session timer; a bad
// header gets 400, too small an interval 422 with the box's Min-SE
// (RFC 4028 §9), and ok false then.
func (s *Server) negotiateTimer(req *sipgosip.Request, tx sipgosip.ServerTransaction) (timerAnswer, bool) {
	o, err := readTimerOffer(req)
	if err != nil {
		s.refuse(tx, req, 400, "Bad Request", err.Error())
		return timerAnswer{}, false
	}
	a := negotiateUAS(o)
	if a.tooSmall {
		s.respond(tx, req, 422, "Session Interval Too Small", minSEHeader())
		return timerAnswer{}, false
	}
	return a, true
}

func minSEHeader() sipgosip.Header {
	return sipgosip.NewHeader("Min-SE", strconv.Itoa(int(minSE/time.Second)))
}

// timerHeadersUAS adds the agreed timer to a 2xx the box sends as UAS:
// Session-Expires with the refresher, and Require: timer when the peer
// (the UAC of this transaction) is to refresh (RFC 4028 §9).
func (l *Leg) timerHeadersUAS(res *sipgosip.Response, a timerAnswer) {
	if !a.on {
		return
	}
	res.AppendHeader(sessionExpiresHeader(a.interval, refresherParam(a.weRefresh, false)))
	if !a.weRefresh {
		res.AppendHeader(sipgosip.NewHeader("Require", "timer"))
	}
}

// refreshTimer reads a re-INVITE or UPDATE in an answered dialog for the
// session timer: it is a refresh, and may change the interval or the
// refresher. ok false when it was refused (400, 422).
func (l *Leg) refreshTimer(req *sipgosip.Request, tx sipgosip.ServerTransaction) (timerAnswer, bool) {
	o, err := readTimerOffer(req)
	if err != nil {
		l.s.refuse(tx, req, 400, "Bad Request", err.Error())
		return timerAnswer{}, false
	}
	l.mu.Lock()
	t := l.sessTimer
	l.mu.Unlock()
	if t == nil {
		a := negotiateUAS(o)
		if a.tooSmall {
			l.s.respond(tx, req, 422, "Session Interval Too Small", minSEHeader())
			return timerAnswer{}, false
		}
		return a, true
	}
	interval, weRefresh := t.state()
	a := timerAnswer{on: true, interval: interval, weRefresh: weRefresh}
	if o.hasSE {
		if o.se.interval < minSE {
			l.s.respond(tx, req, 422, "Session Interval Too Small", minSEHeader())
			return timerAnswer{}, false
		}
		a.interval = max(o.se.interval, o.minSE)
		switch o.se.refresher {
		case "uac":
			a.weRefresh = false // the sender of this request refreshes
		case "uas":
			a.weRefresh = true
		}
	}
	return a, true
}

// refreshed puts the timer in the 2xx to a refresh and restarts it.
func (l *Leg) refreshed(res *sipgosip.Response, a timerAnswer) {
	l.timerHeadersUAS(res, a)
	if a.on {
		l.startSessionTimer(a.interval, a.weRefresh)
	}
}

// startSessionTimer starts or restarts the leg's session timer; it stops
// when the leg ends.
func (l *Leg) startSessionTimer(interval time.Duration, weRefresh bool) {
	l.mu.Lock()
	if l.state == stateEnded {
		l.mu.Unlock()
		return
	}
	t := l.sessTimer
	if t == nil {
		t = newSessionTimer(l.sendRefresh, l.sessionExpired)
		l.sessTimer = t
		context.AfterFunc(l.ctx, t.stop)
	}
	l.mu.Unlock()
	t.reset(interval, weRefresh)
	l.log.Debug("session timer", "interval", interval, "box_refreshes", weRefresh)
}

// sessionExpired ends a call whose session was not refreshed in time.
func (l *Leg) sessionExpired() {
	l.log.Info("session timer expired: no refresh, ending the call")
	l.Hangup(call.SessionExpired)
}

// sendRefresh refreshes the session (RFC 4028 §7.4/§9): UPDATE without
// SDP when the peer allows it, else a re-INVITE offering the same SDP.
// A refresh that times out or gets 408 or 481 ends the call; 422 is
// retried with the peer's Min-SE, 405/501 to UPDATE with a re-INVITE.
func (l *Leg) sendRefresh() {
	interval, _ := l.sessTimer.state()
	l.mu.Lock()
	st, d := l.state, l.uac
	l.mu.Unlock()
	if st != stateAnswered || (!l.inbound && d == nil) {
		return
	}
	method := sipgosip.INVITE
	if (l.inbound && allows(l.inv, "UPDATE")) || (!l.inbound && allows(d.res, "UPDATE")) {
		method = sipgosip.UPDATE
	}
	for range 3 {
		res, err := l.refreshOnce(method, interval)
		switch {
		case err != nil && l.ctx.Err() != nil:
			return // the call ended meanwhile
		case err != nil || res.StatusCode == 408 || res.StatusCode == 481:
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			l.log.Info("session refresh failed, ending the call", "method", method, "status", status, "error", err)
			l.Hangup(call.SessionExpired)
			return
		case res.IsSuccess():
			a, err := negotiateUAC(res)
			if err != nil || !a.on {
				// The peer dropped the timer: the box keeps refreshing,
				// which costs little and still finds a dead peer.
				a = timerAnswer{on: true, interval: interval, weRefresh: true}
			}
			l.startSessionTimer(a.interval, a.weRefresh)
			return
		case res.StatusCode == 422:
			if d, _, err := parseDeltaSeconds(headerValue(res, "Min-SE", "")); err == nil && d > interval && d <= 2*sessionInterval {
				interval = d
				continue
			}
		case method == sipgosip.UPDATE && (res.StatusCode == 405 || res.StatusCode == 501):
			method = sipgosip.INVITE
			continue
		}
		// Anything else (491 glare, 5xx): no retry; the session ends
		// at its expiry unless the peer refreshes meanwhile.
		l.log.Info("session refresh refused", "method", method, "status", res.StatusCode)
		return
	}
}

// refreshOnce sends one refresh request in the leg's dialog (ACKing a
// re-INVITE's 2xx) and returns the final response.
func (l *Leg) refreshOnce(method sipgosip.RequestMethod, interval time.Duration) (*sipgosip.Response, error) {
	l.mu.Lock()
	d := l.uac
	body := l.sdpLocked()
	l.mu.Unlock()
	var req *sipgosip.Request
	var transport string
	if l.inbound {
		req = l.uasRequest(method)
		transport = l.inv.Transport()
	} else {
		req = d.request(method, d.cseq.Add(1))
		req.AppendHeader(sipgosip.NewHeader("User-Agent", l.s.userAgent()))
		transport = d.transport
	}
	req.AppendHeader(l.s.contactHeader("", transport))
	req.AppendHeader(sessionExpiresHeader(interval, "uac"))
	req.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	if method == sipgosip.INVITE {
		req.AppendHeader(sipgosip.NewHeader("Allow", allowMethods))
		req.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(body)
	}
	cli := l.s.client(transport)
	if d != nil {
		cli = d.cli
	}
	ctx, cancel := context.WithTimeout(l.ctx, 32*time.Second)
	defer cancel()
	res, err := transact(ctx, cli, req)
	if err != nil {
		return nil, err
	}
	if method == sipgosip.INVITE && res.IsSuccess() {
		ack := sipgosip.NewRequest(sipgosip.ACK, req.Recipient)
		for _, h := range []string{"From", "To", "Call-ID", "Max-Forwards", "Route"} {
			sipgosip.CopyHeaders(h, req, ack)
		}
		ack.AppendHeader(&sipgosip.CSeqHeader{SeqNo: req.CSeq().SeqNo, MethodName: sipgosip.ACK})
		ack.SetTransport(req.Transport())
		ack.SetDestination(req.Destination())
		ack.Laddr = req.Laddr
		ack.SetBody(nil)
		if err := cli.WriteRequest(ack, sipgo.ClientRequestAddVia); err != nil {
			l.log.Debug("refresh ack failed", "error", err)
		}
		if ans, err := media.ParseSDP(res.Body()); err == nil {
			if i := slices.IndexFunc(ans.Codecs, media.Supported); i >= 0 {
				ans.Codecs = append([]media.Codec{ans.Codecs[i]}, slices.Delete(slices.Clone(ans.Codecs), i, i+1)...)
				l.mu.Lock()
				err := l.takeAnswerCryptoLocked(ans, l.transportLocked()) // a new key in the answer (srtp.go)
				l.mu.Unlock()
				if err != nil {
					l.log.Info("refresh answer with unusable srtp keys", "error", err)
				}
				l.stream.SetRemote(ans)
			}
		}
	}
	return res, nil
}
