package sip

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
	"ringbox/firmware/site"
)

// Dialer rings SIP targets: every registered contact of an extension at
// once, or one number through one trunk (outbound routing, patterns,
// permissions and trunk failover live in package dialplan). It implements
// call.Dialer and call.Bridger.
type Dialer struct{ s *Server }

var (
	_ call.Dialer  = (*Dialer)(nil)
	_ call.Bridger = (*Dialer)(nil)
	_ call.Leg     = (*Leg)(nil)
	_ Ringer       = (*Leg)(nil)
)

// Dial implements call.Dialer. The returned leg rings until Answer sees the
// far end answer; cancelling ctx before then cancels the call with the
// context's cause (call.AnsweredElsewhere sends the RFC 3326 Reason).
//
// A trunk leg ends with call.Congestion when the trunk is down, answers
// 408 or 5xx, or neither rings nor answers within Config.TrunkTimeout, so
// that routing can try the next trunk.
func (d *Dialer) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	s := d.s
	if s.draining.Load() {
		return nil, call.Shutdown
	}
	switch t.Kind {
	case call.TargetExtension:
		regs := s.reg.contacts(t.Number)
		if len(regs) == 0 {
			return nil, call.Unavailable
		}
		var branches []branchSpec
		for _, r := range regs {
			uri, dest, ok := r.target()
			if !ok {
				continue
			}
			branches = append(branches, branchSpec{uri: uri, dest: dest, transport: r.Transport})
		}
		if len(branches) == 0 {
			return nil, call.Unavailable
		}
		return d.start(ctx, t, "ext:"+t.Number, branches, false)
	case call.TargetTrunk:
		return d.dialTrunk(ctx, t)
	default:
		return nil, call.NotFound
	}
}

// dialTrunk sends one number to one trunk.
func (d *Dialer) dialTrunk(ctx context.Context, t call.Target) (call.Leg, error) {
	st := d.s.cfg.Site()
	if st == nil {
		return nil, call.Congestion
	}
	tr, ok := findTrunk(st, t.Trunk)
	if !ok || tr.Host == "" {
		// An analog (FXO) line is the board's to dial; this edge has none.
		return nil, call.Congestion
	}
	host, port := trunkAddr(tr)
	transport := strings.ToUpper(tr.TransportName())
	uri := sipgosip.Uri{Scheme: "sip", User: t.Number, Host: host, Port: port}
	return d.start(ctx, t, "trunk:"+tr.ID, []branchSpec{{uri: uri, transport: transport, trunk: tr}}, true)
}

func findTrunk(st *site.Site, id string) (site.Trunk, bool) {
	for _, t := range st.Trunks {
		if t.ID == id {
			return t, true
		}
	}
	return site.Trunk{}, false
}

// branchSpec is one INVITE to send.
type branchSpec struct {
	uri       sipgosip.Uri
	dest      string // NAT: the registration's source address
	transport string
	trunk     site.Trunk // zero for extensions
}

// start creates the outbound leg and its ring goroutine: the branches
// ring at once (an extension's contacts), the first 2xx wins. trunk makes a
// silent or failing far end end the leg with call.Congestion.
func (d *Dialer) start(ctx context.Context, t call.Target, target string, branches []branchSpec, trunk bool) (call.Leg, error) {
	s := d.s
	if s.cfg.Media == nil {
		return nil, call.Congestion
	}
	st, err := s.cfg.Media.Open()
	if err != nil {
		s.log.Warn("no media port for an outbound call", "target", target, "error", err)
		return nil, call.Congestion
	}
	l := s.newLeg(false, target, st)
	l.plainMedia = trunk && branches[0].trunk.PlainMedia()
	l.remote = call.Party{Number: t.Number}
	// The caller's codecs first, so the bridge rarely needs to transcode;
	// then the others the box can transcode to, so a phone that shares
	// none of the caller's still takes the call.
	l.local = media.OfferCodecs(t.Codecs, st.Local())
	ringCtx, cancel := context.WithCancelCause(context.Background())
	l.cancelRing = cancel
	// ctx bounds the ringing only: a ring group's stage context that ends
	// after this leg won must not hang the answered call up.
	stop := context.AfterFunc(ctx, func() {
		if l.getState() == stateOffered {
			l.Hangup(call.CauseOf(context.Cause(ctx)))
		}
	})
	go func() {
		defer close(l.ringStopped)
		l.ring(ringCtx, t, branches, trunk)
		stop()
	}()
	return l, nil
}

type branchResult struct {
	b   *branch
	res *sipgosip.Response // final response, nil on timeout/transport error
	err error
}

type branch struct {
	spec branchSpec
	d    *uacDialog
	// earlySDP is the answer a reliable provisional carried.
	earlySDP []byte
	// cancelled is closed to make the branch send CANCEL.
	cancelled chan string
}

// ring runs an outbound leg until it is answered or fails. On a trunk, a
// far end that neither rings nor answers within TrunkTimeout, a 408, a 5xx
// or a transport error ends the leg with call.Congestion.
func (l *Leg) ring(ctx context.Context, t call.Target, specs []branchSpec, trunk bool) {
	s := l.s
	hungUp := ctx // ctx is replaced below once its end is handled
	res := make(chan branchResult, len(specs))
	winner := make(chan *branch, len(specs))
	ringing := make(chan struct{}, len(specs))
	var branches []*branch
	for _, spec := range specs {
		b := &branch{spec: spec, cancelled: make(chan string, 1)}
		if err := l.newBranch(b, t); err != nil {
			l.log.Warn("invite not sent", "uri", spec.uri.String(), "error", err)
			continue
		}
		branches = append(branches, b)
		go l.runBranch(b, res, winner, ringing)
	}
	var timeout <-chan time.Time
	if trunk {
		tm := time.NewTimer(s.cfg.TrunkTimeout)
		defer tm.Stop()
		timeout = tm.C
	}
	pending := len(branches)
	var won *branch
	var fails []int
	var cause call.Cause = -1
	for pending > 0 {
		select {
		case <-ringing:
			timeout = nil // a ringing trunk is not a dead trunk
		case w := <-winner:
			// A winning branch reports on winner only: were it to report
			// on res too, this select could take that 2xx first, count it
			// as a failure and end the leg while the far end is answered
			// (1 call in 6000 at 400/s).
			pending--
			if won != nil {
				// Both answered at once: the later one is ended.
				go l.byeStray(w.d)
				continue
			}
			won = w
			l.answered(w)
			for _, b := range branches {
				if b != w {
					b.cancel(reasonElsewhere)
				}
			}
		case r := <-res:
			pending--
			if r.res != nil {
				fails = append(fails, r.res.StatusCode)
			} else if r.err != nil {
				fails = append(fails, 408)
			}
		case <-timeout:
			l.log.Info("trunk timeout", "trunk", t.Trunk, "after", s.cfg.TrunkTimeout)
			for _, b := range branches {
				b.cancel("")
			}
			timeout = nil
			fails = append(fails, 408)
		case <-ctx.Done():
			if cause < 0 {
				cause = call.CauseOf(context.Cause(ctx))
				reason := ""
				if cause == call.AnsweredElsewhere {
					reason = reasonElsewhere
				}
				for _, b := range branches {
					b.cancel(reason)
				}
			}
			ctx = context.Background() // only once
		}
	}
	if won != nil {
		if hungUp.Err() == nil {
			return
		}
		// Hangup came while the leg was still ringing and left ending it
		// to this goroutine, but a branch answered at that moment (a ring
		// group's losers answering as the winner did): end the answered
		// dialog too, or the leg and its media ports stay up for good, as
		// the soak test found.
		if cause < 0 {
			cause = call.CauseOf(context.Cause(hungUp))
		}
		bye, stop := context.WithTimeout(context.Background(), 8*time.Second)
		if err := won.d.bye(bye); err != nil {
			l.log.Debug("bye of an answer after hangup failed", "error", err)
		}
		stop()
		won.d.tx.Terminate()
		l.finish(cause, "local")
		return
	}
	if cause >= 0 {
		l.finish(cause, "local")
		return
	}
	status := bestStatus(fails)
	c := call.CauseFromSIP(status)
	switch {
	case trunk && (status == 0 || status == 408 || status >= 500 && status < 600):
		l.log.Info("trunk failed", "trunk", t.Trunk, "status", status)
		c = call.Congestion
	case status == 0:
		c = call.Unavailable
	}
	l.finish(c, "remote")
}

// bestStatus picks the response to report from failed forks (RFC 3261
// §16.7 in spirit): a 6xx or busy wins, then the lowest class.
func bestStatus(codes []int) int {
	best := 0
	for _, c := range codes {
		switch {
		case c >= 600 || c == 486:
			return c
		case best == 0 || c/100 < best/100:
			best = c
		}
	}
	return best
}

func (b *branch) cancel(reason string) {
	select {
	case b.cancelled <- reason:
	default:
	}
}

// newBranch builds and sends one INVITE.
func (l *Leg) newBranch(b *branch, t call.Target) error {
	s := l.s
	spec := b.spec
	req := sipgosip.NewRequest(sipgosip.INVITE, spec.uri)
	req.SetTransport(spec.transport)
	num := t.From.Number
	fromHost := s.host
	if spec.trunk.Host != "" {
		fromHost, _ = trunkHostPort(spec.trunk.Host)
	}
	from := &sipgosip.FromHeader{DisplayName: t.From.Name, Address: sipgosip.Uri{Scheme: "sip", User: num, Host: fromHost}, Params: sipgosip.NewParams()}
	from.Params.Add("tag", sipgosip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipgosip.ToHeader{Address: sipgosip.Uri{Scheme: "sip", User: spec.uri.User, Host: spec.uri.Host, Port: spec.uri.Port}})
	cid := sipgosip.CallIDHeader(sipgosip.GenerateTagN(24) + "@" + s.host)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: 1, MethodName: sipgosip.INVITE})
	req.AppendHeader(s.contactHeader(num, spec.transport))
	if spec.trunk.Host != "" {
		// RFC 3325: the identity the office stands behind; RFC 5806: the
		// number the call was for, so a carrier accepts the original
		// caller's number in From on a forwarded call.
		if t.Asserted != "" {
			req.AppendHeader(sipgosip.NewHeader("P-Asserted-Identity", fmt.Sprintf("<sip:%s@%s>", t.Asserted, fromHost)))
		}
		if t.Diversion != "" {
			req.AppendHeader(sipgosip.NewHeader("Diversion", fmt.Sprintf("<sip:%s@%s>;reason=unconditional", t.Diversion, fromHost)))
		}
	}
	req.AppendHeader(sipgosip.NewHeader("Allow", allowMethods))
	// RFC 3262 and RFC 4028: reliable provisionals as the trunk wants
	// them (extensions: offered), and the box's session timer, which the
	// far end may take up and shorten to no less than Min-SE.
	switch spec.trunk.PrackMode() {
	case site.PrackOff:
		req.AppendHeader(sipgosip.NewHeader("Supported", "timer"))
	case site.PrackRequired:
		req.AppendHeader(sipgosip.NewHeader("Supported", "timer"))
		req.AppendHeader(sipgosip.NewHeader("Require", "100rel"))
	default:
		req.AppendHeader(sipgosip.NewHeader("Supported", supportedTags))
	}
	req.AppendHeader(sessionExpiresHeader(sessionInterval, ""))
	req.AppendHeader(minSEHeader())
	req.AppendHeader(sipgosip.NewHeader("User-Agent", s.userAgent()))
	req.AppendHeader(sipgosip.NewHeader("Content-Type", "application/sdp"))
	l.mu.Lock()
	req.SetBody(l.offerSDPLocked(spec.transport))
	l.mu.Unlock()
	b.d = &uacDialog{s: s, cli: s.client(spec.transport), invite: req, dest: spec.dest, transport: spec.transport}
	if spec.trunk.Host != "" {
		s.largeOverTCP(b.d)
	}
	return b.d.send(context.Background())
}

// runBranch reads one INVITE transaction's responses.
func (l *Leg) runBranch(b *branch, res chan<- branchResult, winner chan<- *branch, ringing chan<- struct{}) {
	d := b.d
	authTries, timerTries := 0, 0
	racks := prackTracker{}
	cancelSent := false
	var pendingCancel *string
	for {
		select {
		case r := <-d.tx.Responses():
			if r == nil {
				continue // closed with the transaction: Done says why
			}
			switch {
			case r.IsProvisional():
				l.prack(d, r, racks)
				if len(r.Body()) > 0 && r.StatusCode > 100 && hasOptionTag(r, "Require", "", "100rel") {
					// A reliable 18x's SDP is the answer (RFC 3262 §5):
					// the 2xx may then carry none.
					b.earlySDP = r.Body()
				}
				if r.StatusCode > 100 {
					d.provision.Store(true)
					if r.StatusCode == 180 || r.StatusCode == 183 {
						l.ringOnce.Do(func() { close(l.ringing) })
						select {
						case ringing <- struct{}{}:
						default:
						}
					}
				} else {
					d.provision.Store(true)
				}
				if pendingCancel != nil && !cancelSent {
					cancelSent = true
					go l.sendCancel(d, *pendingCancel)
				}
			case r.IsSuccess():
				d.established(r)
				if err := d.ack(); err != nil {
					l.log.Warn("ack failed", "error", err)
				}
				if cancelSent || pendingCancel != nil {
					// Answered while being cancelled: ACK, then BYE.
					go l.byeStray(d)
					res <- branchResult{b: b, res: r}
					return
				}
				l.watchRetransmissions(d)
				winner <- b
				return
			case (r.StatusCode == 401 || r.StatusCode == 407) && b.spec.trunk.Password != "" && authTries < 2 && pendingCancel == nil:
				authTries++
				d.tx.Terminate()
				user := b.spec.trunk.Username
				if user == "" {
					user = b.spec.trunk.ID
				}
				tx, err := d.cli.TransactionDigestAuth(context.Background(), d.invite, r, sipgo.DigestAuth{Username: user, Password: b.spec.trunk.Password})
				if err != nil {
					res <- branchResult{b: b, err: err}
					return
				}
				d.tx = tx
				d.cseq.Store(d.invite.CSeq().SeqNo)
			case r.StatusCode == 422 && timerTries < 2 && pendingCancel == nil:
				// RFC 4028 §7.3: retry with the far end's Min-SE.
				timerTries++
				tx, err := l.retryInterval(d, r)
				if err != nil {
					res <- branchResult{b: b, res: r}
					return
				}
				d.tx = tx
				d.cseq.Store(d.invite.CSeq().SeqNo)
			default:
				res <- branchResult{b: b, res: r}
				return
			}
		case <-d.tx.Done():
			res <- branchResult{b: b, err: errors.Join(errors.New("invite transaction ended"), d.tx.Err())}
			return
		case reason := <-b.cancelled:
			if pendingCancel != nil {
				continue
			}
			pendingCancel = &reason
			if d.provision.Load() {
				cancelSent = true
				go l.sendCancel(d, reason)
			} else {
				// RFC 3261 §9.1: no CANCEL before a provisional. A silent
				// far end (dead trunk) is simply abandoned.
				go func(tx sipgosip.ClientTransaction) {
					select {
					case <-tx.Done():
					case <-time.After(2 * time.Second):
						if !d.provision.Load() {
							tx.Terminate()
						}
					}
				}(d.tx)
			}
		}
	}
}

// sendCancel cancels a ringing branch and makes sure its INVITE
// transaction ends. Past its first provisional the transaction has no
// timer of its own left (Timer B runs only until one arrives), so a far
// end that vanished while ringing (a phone unplugged mid-offer) would
// keep the leg, and its media port, forever.
func (l *Leg) sendCancel(d *uacDialog, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	tx := d.tx
	if err := d.cancel(ctx, reason); err != nil {
		// Not even the CANCEL was answered: the far end is gone.
		l.log.Info("cancel unanswered: the far end is gone", "error", err)
		tx.Terminate()
		return
	}
	// RFC 3261 §9.1: no final response 64*T1 after the CANCEL, and the
	// INVITE transaction is taken as cancelled.
	t := time.NewTimer(64 * sipgosip.T1)
	defer t.Stop()
	select {
	case <-tx.Done():
	case <-t.C:
		l.log.Info("no final response 64*T1 after the cancel")
		tx.Terminate()
	}
}

// byeStray ends a branch that answered after another one won.
func (l *Leg) byeStray(d *uacDialog) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	if err := d.bye(ctx); err != nil {
		l.log.Debug("bye of late answer failed", "error", err)
	}
	d.tx.Terminate()
}

// watchRetransmissions re-ACKs retransmitted 2xx and ends extra dialogs a
// forking proxy downstream created (a 2xx with another To-tag).
func (l *Leg) watchRetransmissions(d *uacDialog) {
	ourTag := tagOf(d.res.To().Params)
	d.tx.OnRetransmission(func(r *sipgosip.Response) {
		if !r.IsSuccess() {
			return
		}
		if tagOf(r.To().Params) == ourTag {
			if err := d.ack(); err != nil {
				l.log.Debug("re-ack failed", "error", err)
			}
			return
		}
		extra := &uacDialog{s: d.s, cli: d.cli, invite: d.invite, dest: d.dest, transport: d.transport}
		extra.established(r)
		extra.cseq.Store(d.invite.CSeq().SeqNo)
		if err := extra.ack(); err == nil {
			go l.byeStray(extra)
		}
	})
}

// answered makes branch w the leg's dialog.
func (l *Leg) answered(w *branch) {
	d := w.d
	body := d.res.Body()
	if len(body) == 0 {
		body = w.earlySDP
	}
	ans, err := media.ParseSDP(body)
	if err != nil {
		l.log.Info("2xx without usable sdp", "error", err)
	} else {
		l.mu.Lock()
		err = l.takeAnswerCryptoLocked(ans, w.spec.transport)
		l.mu.Unlock()
		if err != nil {
			l.log.Info("2xx with unusable srtp keys: no audio", "error", err)
		}
		l.stream.SetRemote(ans)
	}
	l.mu.Lock()
	l.uac = d
	if l.state == stateOffered {
		l.state = stateAnswered
		l.answerAt = time.Now()
	}
	l.mu.Unlock()
	l.index(d.key())
	if ta, err := negotiateUAC(d.res); err != nil {
		l.log.Info("2xx with a bad Session-Expires: no session timer", "error", err)
	} else if ta.on {
		l.startSessionTimer(ta.interval, ta.weRefresh)
	}
	close(l.answeredC) // RTP silence from now on is watched by watchMedia
}

// Bridge implements call.Bridger: it relays RTP between two legs anchored
// on media streams (SIP legs, browser legs: media.Streamer) until either
// ends or ctx ends.
func (d *Dialer) Bridge(ctx context.Context, a, b call.Leg) error {
	la, sa, ok1 := streamOf(a)
	lb, sb, ok2 := streamOf(b)
	if !ok1 || !ok2 {
		return fmt.Errorf("bridge: both legs must have media streams (got %T and %T)", a, b)
	}
	ctx, cancel := legsContext(ctx, la, lb)
	defer cancel()
	err := media.Bridge(ctx, sa, sb)
	select {
	case <-la.Done():
		return nil
	case <-lb.Done():
		return nil
	default:
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// retryInterval resends an INVITE refused with 422 with the far end's
// Min-SE as its Session-Expires (RFC 4028 §7.3).
func (l *Leg) retryInterval(d *uacDialog, r *sipgosip.Response) (sipgosip.ClientTransaction, error) {
	want, _, err := parseDeltaSeconds(headerValue(r, "Min-SE", ""))
	if err != nil || want > 2*sessionInterval {
		return nil, fmt.Errorf("422 with Min-SE %q", headerValue(r, "Min-SE", ""))
	}
	d.tx.Terminate()
	req := d.invite
	req.RemoveHeader("Session-Expires")
	req.RemoveHeader("Min-SE")
	req.AppendHeader(sessionExpiresHeader(want, ""))
	req.AppendHeader(sipgosip.NewHeader("Min-SE", strconv.Itoa(int(want/time.Second))))
	req.CSeq().SeqNo++
	req.RemoveHeader("Via")
	return d.cli.TransactionRequest(context.Background(), req, sipgo.ClientRequestAddVia)
}

// udpLimit is the size above which a request that would go over UDP goes
// over TCP instead (RFC 3261 §18.1.1), counting the Via the transport
// layer still adds; sipgo refuses to send larger datagrams at all.
const udpLimit = 1300

// largeOverTCP switches an INVITE to a UDP trunk to TCP when it is too
// large for a datagram (many codecs, long identities): the trunk's TCP
// listener on the same port gets it, and the dialog stays on TCP.
func (s *Server) largeOverTCP(d *uacDialog) {
	if !strings.EqualFold(d.transport, "udp") || !tooLargeForUDP(d.invite) {
		return
	}
	d.transport = "TCP"
	d.cli = s.client("tcp")
	d.invite.SetTransport("TCP")
	d.invite.RemoveHeader("Contact")
	d.invite.AppendHeader(s.contactHeader(d.invite.From().Address.User, "tcp"))
	d.invite.Laddr = sipgosip.Addr{}
	s.log.Info("large request sent over TCP", "size", len(d.invite.String()), "to", d.invite.Recipient.Host)
}

// viaRoom is what the Via the transport adds takes, at most.
const viaRoom = 160

func tooLargeForUDP(req *sipgosip.Request) bool {
	return len(req.String())+viaRoom > udpLimit
}
