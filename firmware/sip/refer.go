package sip

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
)

// Call transfer (RFC 3515 REFER, RFC 3891 Replaces, RFC 3420 sipfrag).
//
// A phone transfers the party it is talking to by sending REFER in the
// dialog it has with the box. The REFER is parsed here and handed to the
// flow as a call.Transfer on the leg's Transfers channel: the flow, which
// owns the call, carries it out and reports how it goes through
// Transfer.Report, which this file turns into NOTIFYs (message/sipfrag) in
// the same dialog. Nothing outside this file knows about REFER.

// referTarget is a parsed Refer-To.
type referTarget struct {
	User     string    // the destination: what the transferrer dialled
	Replaces *replaces // attended transfer: the consult dialog, else nil
}

// replaces is a Replaces header (RFC 3891): a dialog by Call-ID and tags.
type replaces struct {
	CallID, ToTag, FromTag string
}

// maxReferTo bounds what the parser looks at: a Refer-To is a URI, a few
// hundred bytes at most even with Replaces.
const maxReferTo = 2048

// parseReferTo parses a Refer-To header value (name-addr or addr-spec,
// RFC 3515 §2.1) into the destination's user part and an embedded
// Replaces, if any. The input comes from the network: every malformed
// value is an error naming what is wrong.
func parseReferTo(v string) (referTarget, error) {
	var t referTarget
	v = strings.TrimSpace(v)
	if v == "" {
		return t, errors.New("empty Refer-To")
	}
	if len(v) > maxReferTo {
		return t, fmt.Errorf("Refer-To of %d bytes, at most %d", len(v), maxReferTo)
	}
	uri := v
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return t, errors.New("Refer-To: '<' without '>'")
		}
		uri = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ';'); i >= 0 {
		// addr-spec: what follows ';' are header parameters.
		uri = v[:i]
	}
	uri = strings.TrimSpace(uri)
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok {
		return t, fmt.Errorf("Refer-To %q: not a URI", uri)
	}
	switch strings.ToLower(scheme) {
	case "tel":
		user, _, _ := strings.Cut(rest, ";")
		u, err := referUser(user)
		t.User = u
		return t, err
	case "sip", "sips":
	default:
		return t, fmt.Errorf("Refer-To: scheme %q, want sip, sips or tel", scheme)
	}
	addr, hdrs, _ := strings.Cut(rest, "?")
	userinfo, host, ok := strings.Cut(addr, "@")
	if !ok {
		return t, fmt.Errorf("Refer-To %q: no user part (the number to transfer to)", uri)
	}
	if h, _, _ := strings.Cut(host, ";"); strings.TrimSpace(h) == "" {
		return t, fmt.Errorf("Refer-To %q: no host", uri)
	}
	user, _, _ := strings.Cut(userinfo, ":") // a password, never used
	u, err := referUser(user)
	if err != nil {
		return t, err
	}
	t.User = u
	if hdrs == "" {
		return t, nil
	}
	for _, kv := range strings.Split(hdrs, "&") {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(name, "Replaces") {
			continue // other embedded headers are not ours to use
		}
		if t.Replaces != nil {
			return t, errors.New("Refer-To: more than one Replaces")
		}
		raw, err := url.PathUnescape(val)
		if err != nil {
			return t, fmt.Errorf("Refer-To: Replaces: %w", err)
		}
		r, err := parseReplaces(raw)
		if err != nil {
			return t, err
		}
		t.Replaces = &r
	}
	return t, nil
}

// referUser unescapes and checks a destination: digits, letters and the
// few marks numbers and destination ids use ("+", "*", "#", ".", "-",
// "_", and ":" in "queue:service").
func referUser(s string) (string, error) {
	u, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("Refer-To user %q: %w", s, err)
	}
	if u == "" {
		return "", errors.New("Refer-To: empty user part (the number to transfer to)")
	}
	if len(u) > 64 {
		return "", fmt.Errorf("Refer-To user of %d characters, at most 64", len(u))
	}
	for _, r := range u {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case strings.ContainsRune("+*#.-_:", r):
		default:
			return "", fmt.Errorf("Refer-To user %q: character %q is not allowed in a number or destination", u, r)
		}
	}
	return u, nil
}

// parseReplaces parses "call-id;to-tag=X;from-tag=Y" (RFC 3891 §6.1);
// early-only and unknown parameters are ignored.
func parseReplaces(v string) (replaces, error) {
	var r replaces
	parts := strings.Split(strings.TrimSpace(v), ";")
	r.CallID = strings.TrimSpace(parts[0])
	if r.CallID == "" {
		return r, errors.New("Replaces: no Call-ID")
	}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			r.ToTag = strings.TrimSpace(val)
		case "from-tag":
			r.FromTag = strings.TrimSpace(val)
		}
	}
	if r.ToTag == "" || r.FromTag == "" {
		return r, fmt.Errorf("Replaces %q: to-tag and from-tag are required", v)
	}
	return r, nil
}

// findReplaced is the leg of the dialog a Replaces names. The tags are
// tried both ways: RFC 3891 names them from the point of view of the
// Replaces' recipient, and transferrers differ in whose that is.
func (s *Server) findReplaced(r replaces) *Leg {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.dialogs[sipgosip.DialogIDMake(r.CallID, r.ToTag, r.FromTag)]; l != nil {
		return l
	}
	return s.dialogs[sipgosip.DialogIDMake(r.CallID, r.FromTag, r.ToTag)]
}

// Transfers implements call.Transferor: the transfers the phone on this
// leg asks for (REFER).
func (l *Leg) Transfers() <-chan call.Transfer { return l.transfers }

// handOver is how long a REFER waits for the flow to take its transfer:
// the flow reads the channel whenever the leg is bridged, so only a leg
// that is not (ringing, in a menu, hearing a prompt) makes it wait.
const handOver = 2 * time.Second

// onRefer takes a REFER in a call's dialog.
func (s *Server) onRefer(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	l := s.lookupDialog(req)
	if l == nil {
		s.respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	// A call we answered is a dialog from our 200 on (RFC 3261 12.1.1): a
	// REFER the phone sends right after its ACK may be read before the ACK
	// is, so "200 sent, waiting for the ACK" counts as answered too.
	if st := l.getState(); st != stateAnswered && st != stateAnswering {
		s.respond(tx, req, 403, "Forbidden", sipgosip.NewHeader("Warning", `399 ringbox "only an answered call can be transferred"`))
		return
	}
	hs := req.GetHeaders("Refer-To")
	if len(hs) != 1 {
		s.respond(tx, req, 400, fmt.Sprintf("Bad Request: %d Refer-To headers, want 1", len(hs)))
		return
	}
	t, err := parseReferTo(hs[0].Value())
	if err != nil {
		l.log.Info("refer refused", "error", err)
		s.respond(tx, req, 400, "Bad Request", sipgosip.NewHeader("Warning", fmt.Sprintf("399 ringbox %q", err.Error())))
		return
	}
	xfer := call.Transfer{To: t.User}
	if t.Replaces != nil {
		r := s.findReplaced(*t.Replaces)
		if r == nil || r == l {
			s.respond(tx, req, 481, "Call/Transaction Does Not Exist", sipgosip.NewHeader("Warning", `399 ringbox "the call to replace is not on this box"`))
			return
		}
		xfer.To, xfer.Replaces = "", r.ID()
	}
	notify := true
	if h := req.GetHeader("Refer-Sub"); h != nil && strings.EqualFold(strings.TrimSpace(h.Value()), "false") {
		notify = false // RFC 4488: no implicit subscription
	}
	res := s.newResponse(req, 202, "Accepted", nil)
	res.AppendHeader(s.contactHeader("", req.Transport()))
	if !notify {
		res.AppendHeader(sipgosip.NewHeader("Refer-Sub", "false"))
	}
	if err := tx.Respond(res); err != nil {
		l.log.Info("refer: 202 not sent", "error", err)
		return
	}
	var n *referNotifier
	if notify {
		n = l.newReferNotifier(req.CSeq().SeqNo)
		xfer.Report = n.report
		n.report(100, "Trying")
	}
	l.log.Info("transfer asked", "kind", xfer.Kind(), "to", xfer.To, "replaces", xfer.Replaces)
	timer := time.NewTimer(handOver)
	defer timer.Stop()
	select {
	case l.transfers <- xfer:
	case <-timer.C:
		if n != nil {
			n.report(403, "Forbidden")
		}
		l.log.Info("transfer not taken: the leg is not bridged")
	case <-l.done:
	}
}

// referNotifier sends a REFER's NOTIFYs in order, one at a time, from its
// own goroutine, which ends after the final one or with the leg.
type referNotifier struct {
	l    *Leg
	id   uint32
	c    chan sipfrag
	done chan struct{} // closed when run returns
	fin  bool          // a final status was queued (report's caller is the flow, one goroutine at a time)
}

type sipfrag struct {
	code   int
	reason string
}

func (l *Leg) newReferNotifier(id uint32) *referNotifier {
	n := &referNotifier{l: l, id: id, c: make(chan sipfrag, 4), done: make(chan struct{})}
	l.mu.Lock()
	l.referDone = n.done
	l.mu.Unlock()
	go n.run()
	return n
}

// referWait is how long the box's own hang-up of a leg waits for the
// leg's transfer NOTIFYs: a transfer that completed hangs the transferrer
// up at once, and the phone must learn "200 OK" before the BYE.
const referWait = 2 * time.Second

// waitRefer waits (at most referWait) until the NOTIFYs of the leg's last
// REFER are sent.
func (l *Leg) waitRefer() {
	l.mu.Lock()
	ch := l.referDone
	l.mu.Unlock()
	if ch == nil {
		return
	}
	t := time.NewTimer(referWait)
	defer t.Stop()
	select {
	case <-ch:
	case <-t.C:
	}
}

// report queues a NOTIFY for code; it never blocks (call.Transfer.Report).
func (n *referNotifier) report(code int, reason string) {
	if n.fin {
		return
	}
	if code >= 200 {
		n.fin = true
	}
	select {
	case n.c <- sipfrag{code, reason}:
	default:
		n.l.log.Info("refer notify dropped", "code", code)
	}
	if n.fin {
		close(n.c)
	}
}

// run sends the NOTIFYs until the final one. The box's own Hangup waits
// for it (waitRefer); a leg the far end ended stops it.
func (n *referNotifier) run() {
	defer close(n.done)
	for {
		select {
		case f, ok := <-n.c:
			if !ok {
				return
			}
			if err := n.send(f); err != nil {
				n.l.log.Info("refer notify failed", "code", f.code, "error", err)
			}
		case <-n.l.done:
			return
		}
	}
}

func (n *referNotifier) send(f sipfrag) error {
	req, cli := n.l.dialogRequest(sipgosip.NOTIFY)
	if req == nil {
		return errors.New("no dialog")
	}
	req.AppendHeader(sipgosip.NewHeader("Event", fmt.Sprintf("refer;id=%d", n.id)))
	state := "active;expires=60"
	if f.code >= 200 {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sipgosip.NewHeader("Subscription-State", state))
	req.AppendHeader(n.l.s.contactHeader("", req.Transport()))
	req.AppendHeader(sipgosip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.AppendHeader(sipgosip.NewHeader("User-Agent", n.l.s.userAgent()))
	req.SetBody([]byte(sipfragBody(f.code, f.reason)))
	// Not the leg's context: the final NOTIFY goes out while the box is
	// hanging the transferrer up (Hangup waits for it).
	ctx, cancel := context.WithTimeout(context.Background(), referWait)
	defer cancel()
	res, err := transact(ctx, cli, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("notify: %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// sipfragBody is the status line a NOTIFY carries (RFC 3420).
func sipfragBody(code int, reason string) string {
	return fmt.Sprintf("SIP/2.0 %d %s\r\n", code, reason)
}

// dialogRequest builds a request in the leg's dialog, whichever side
// created it, and the client to send it with; nil before a dialog exists.
func (l *Leg) dialogRequest(method sipgosip.RequestMethod) (*sipgosip.Request, *sipgo.Client) {
	if l.inbound {
		return l.uasRequest(method), l.s.client(l.inv.Transport())
	}
	l.mu.Lock()
	d := l.uac
	l.mu.Unlock()
	if d == nil || d.res == nil {
		return nil, nil
	}
	return d.request(method, d.cseq.Add(1)), d.cli
}
