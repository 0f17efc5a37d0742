package sip

// Message-waiting indication: the message-summary event package (RFC 3842)
// over SUBSCRIBE/NOTIFY (RFC 6665).
//
// Two kinds of phone get the indicator. Phones that SUBSCRIBE get NOTIFYs
// inside their subscription dialog. Phones that only REGISTER get an
// unsolicited NOTIFY (out of dialog, Subscription-State: terminated, as
// Asterisk's unsolicited MWI sends) at each of their contacts, so that a
// phone configured without a voicemail subscription still lights up. A
// contact that also holds a subscription gets only the in-dialog NOTIFY.
//
// Sending never blocks the caller. NOTIFYs to one target (a subscription
// dialog, or one contact) go out one at a time from a goroutine that lives
// while that target has something to send; a newer state replaces one not
// yet sent, so a phone that is slow to answer ends up with the latest
// counts and NOTIFYs inside a dialog leave in CSeq order.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"
)

const (
	mwiEvent       = "message-summary"
	mwiContentType = "application/simple-message-summary"
	// defaultSubExpires applies when a SUBSCRIBE has no Expires header;
	// RFC 3842 leaves the default to the notifier.
	defaultSubExpires = 3600
	// maxSubsPerExt bounds an extension's subscriptions; the one closest
	// to expiry (a rebooted phone's old dialog) makes room for a new one.
	maxSubsPerExt = 10
	// mwiSendTimeout bounds one NOTIFY transaction; a phone that does not
	// answer in time is skipped until the next change.
	mwiSendTimeout = 10 * time.Second
)

var errServerStopped = errors.New("sip server stopped")

// mwiCounts is the state of a mailbox.
type mwiCounts struct{ newMsgs, oldMsgs int }

// mwiSub is one message-summary subscription dialog, seen from the
// notifier (RFC 6665 §4.2).
type mwiSub struct {
	key       string // dialog key: Call-ID, their tag, our tag
	ext       string
	callID    string
	localURI  sipgosip.Uri // the SUBSCRIBE's To: our From in NOTIFY
	localTag  string
	remoteURI sipgosip.Uri // the SUBSCRIBE's From: our To in NOTIFY
	remoteTag string
	eventID   string   // Event "id" parameter, echoed in NOTIFY
	routes    []string // Record-Route of the SUBSCRIBE, in order

	// Protected by mwiNotifier.mu.
	target     sipgosip.Uri // remote target: the SUBSCRIBE's Contact
	source     string       // where the SUBSCRIBE came from (NAT)
	transport  string
	expires    time.Time
	remoteCSeq uint32
	cseq       uint32 // last NOTIFY CSeq
}

// mwiNotifier keeps the subscriptions and the send queues.
type mwiNotifier struct {
	s *Server

	mu     sync.Mutex                   // protects following
	subs   map[string]*mwiSub           // dialog key -> subscription
	outbox map[string]*mwiOutbox        // target with a sender running
	seen   map[string]map[string]string // ext -> contact -> REGISTER Call-ID already notified
}

// mwiOutbox is the next job for a target whose sender is busy.
type mwiOutbox struct{ next func(context.Context) }

func newMWI(s *Server) *mwiNotifier {
	return &mwiNotifier{s: s, subs: make(map[string]*mwiSub), outbox: make(map[string]*mwiOutbox),
		seen: make(map[string]map[string]string)}
}

// Notify sends ext's mailbox state to every subscription of ext and, when
// ext has a mailbox, as an unsolicited NOTIFY to each registered contact
// of ext that holds no subscription. It returns at once; failures are
// logged at debug level. Notify implements voicemail.MWI.
func (s *Server) Notify(ext string, newMsgs, oldMsgs int) {
	c := mwiCounts{newMsgs, oldMsgs}
	var regs []Registration
	if s.hasMailbox(ext) {
		regs = s.reg.contacts(ext)
	}
	s.mwi.notifyAll(ext, regs, func() mwiCounts { return c })
}

// hasMailbox reports whether ext has a voicemail box. Only those get
// unsolicited NOTIFYs: a phone without voicemail would otherwise show a
// message indicator (or a voicemail key) that leads nowhere. A phone that
// subscribes asked for the state and gets it either way.
func (s *Server) hasMailbox(ext string) bool {
	a, ok := s.cfg.Lookup(ext)
	return ok && a.Mailbox
}

// onRegistered lights a newly registered contact: one whose REGISTER
// Call-ID has not been notified yet, which is a phone that has just booted
// (RFC 3261 §10.2.4 keeps the Call-ID for refreshes). Refreshes, which
// phones behind NAT send every minute or two, send nothing.
func (s *Server) onRegistered(ext, callID string) {
	if s.cfg.Voicemail == nil || !s.hasMailbox(ext) {
		return
	}
	regs := s.reg.contacts(ext)
	m := s.mwi
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneSeenLocked(ext, regs)
	subs := m.liveSubsLocked(ext, time.Now())
	for _, b := range regs {
		if b.callID != callID || m.seen[ext][b.Contact] == callID {
			continue
		}
		if m.seen[ext] == nil {
			m.seen[ext] = make(map[string]string)
		}
		m.seen[ext][b.Contact] = callID
		if covered(b, subs) {
			continue
		}
		m.enqueueLocked("reg:"+ext+"|"+b.Contact, func(ctx context.Context) {
			m.notifyBinding(ctx, b, s.mailboxCounts(ext))
		})
	}
}

// mailboxCounts asks Config.Voicemail for ext's counts; none: 0/0.
func (s *Server) mailboxCounts(ext string) mwiCounts {
	if s.cfg.Voicemail == nil {
		return mwiCounts{}
	}
	n, o := s.cfg.Voicemail(ext)
	return mwiCounts{n, o}
}

func (m *mwiNotifier) notifyAll(ext string, regs []Registration, counts func() mwiCounts) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneSeenLocked(ext, regs)
	subs := m.liveSubsLocked(ext, time.Now())
	for _, sub := range subs {
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, counts(), "")
		})
	}
	for _, b := range regs {
		if covered(b, subs) {
			continue // the phone hears it in its subscription
		}
		m.enqueueLocked("reg:"+ext+"|"+b.Contact, func(ctx context.Context) {
			m.notifyBinding(ctx, b, counts())
		})
	}
}

// covered reports whether binding b belongs to a phone that holds one of
// subs: the same Contact, or the same source address and transport.
func covered(b Registration, subs []*mwiSub) bool {
	for _, sub := range subs {
		if sub.target.String() == b.Contact ||
			(sub.source == b.Source && strings.EqualFold(sub.transport, b.Transport)) {
			return true
		}
	}
	return false
}

// liveSubsLocked returns ext's unexpired subscriptions and forgets the
// expired ones of every extension.
func (m *mwiNotifier) liveSubsLocked(ext string, now time.Time) []*mwiSub {
	var out []*mwiSub
	for k, sub := range m.subs {
		if !sub.expires.After(now) {
			delete(m.subs, k)
			continue
		}
		if sub.ext == ext {
			out = append(out, sub)
		}
	}
	return out
}

// pruneSeenLocked forgets the notified Call-IDs of contacts that are no
// longer registered.
func (m *mwiNotifier) pruneSeenLocked(ext string, regs []Registration) {
	for contact := range m.seen[ext] {
		if !hasContact(regs, contact) {
			delete(m.seen[ext], contact)
		}
	}
	if len(m.seen[ext]) == 0 {
		delete(m.seen, ext)
	}
}

func hasContact(regs []Registration, contact string) bool {
	for _, r := range regs {
		if r.Contact == contact {
			return true
		}
	}
	return false
}

// enqueueLocked runs job for key after the job being sent there, if any;
// a job still waiting is replaced, since only the latest state matters.
func (m *mwiNotifier) enqueueLocked(key string, job func(context.Context)) {
	if ob, busy := m.outbox[key]; busy {
		ob.next = job
		return
	}
	m.outbox[key] = &mwiOutbox{}
	go m.drain(key, job)
}

// drain sends key's jobs until none is left. Each is bounded by
// mwiSendTimeout, so the goroutine ends soon after the server stops.
func (m *mwiNotifier) drain(key string, job func(context.Context)) {
	for job != nil {
		ctx, cancel := context.WithTimeout(context.Background(), mwiSendTimeout)
		job(ctx)
		cancel()
		m.mu.Lock()
		ob := m.outbox[key]
		job, ob.next = ob.next, nil
		if job == nil {
			delete(m.outbox, key)
		}
		m.mu.Unlock()
	}
}

// messageSummary is the RFC 3842 §5.2 body. Urgent counts are not kept.
func messageSummary(account string, c mwiCounts) []byte {
	waiting := "no"
	if c.newMsgs > 0 {
		waiting = "yes"
	}
	return fmt.Appendf(nil, "Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d (0/0)\r\n",
		waiting, account, c.newMsgs, c.oldMsgs)
}

func (s *Server) mailboxAccount(ext string) string {
	return (&sipgosip.Uri{Scheme: "sip", User: ext, Host: s.host}).String()
}

// addMWIHeaders adds what every message-summary NOTIFY carries.
func (s *Server) addMWIHeaders(req *sipgosip.Request, ext, event, state string, c mwiCounts) {
	mf := sipgosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(s.contactHeader(ext, req.Transport()))
	req.AppendHeader(sipgosip.NewHeader("Event", event))
	req.AppendHeader(sipgosip.NewHeader("Subscription-State", state))
	req.AppendHeader(sipgosip.NewHeader("Allow-Events", mwiEvent))
	req.AppendHeader(sipgosip.NewHeader("User-Agent", s.cfg.UserAgent))
	req.AppendHeader(sipgosip.NewHeader("Content-Type", mwiContentType))
	req.SetBody(messageSummary(s.mailboxAccount(ext), c))
	s.setLaddr(req)
}

// notifyBinding sends an unsolicited NOTIFY to one registered contact, at
// the address its REGISTER came from.
func (m *mwiNotifier) notifyBinding(ctx context.Context, b Registration, c mwiCounts) {
	s := m.s
	uri, dest, ok := b.target()
	if !ok {
		return
	}
	req := sipgosip.NewRequest(sipgosip.NOTIFY, uri)
	req.SetTransport(b.Transport)
	if dest != "" {
		req.SetDestination(dest)
	}
	aor := sipgosip.Uri{Scheme: "sip", User: b.Extension, Host: s.host}
	from := &sipgosip.FromHeader{Address: aor, Params: sipgosip.NewParams()}
	from.Params.Add("tag", sipgosip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sipgosip.ToHeader{Address: aor})
	cid := sipgosip.CallIDHeader(sipgosip.GenerateTagN(24) + "@" + s.host)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: 1, MethodName: sipgosip.NOTIFY})
	// No subscription exists: "terminated" tells the phone not to expect a
	// dialog, which is what phones accept from Asterisk's unsolicited MWI.
	s.addMWIHeaders(req, b.Extension, mwiEvent, "terminated", c)
	res, err := m.send(ctx, req)
	switch {
	case err != nil:
		s.log.Debug("mwi notify failed", "ext", b.Extension, "contact", b.Contact, "error", err)
	case !res.IsSuccess():
		s.log.Debug("mwi notify refused", "ext", b.Extension, "contact", b.Contact, "code", res.StatusCode)
	}
}

// notifySub sends a NOTIFY inside sub's dialog. A non-empty terminated is
// the final NOTIFY's Subscription-State; otherwise the subscription must
// still exist.
func (m *mwiNotifier) notifySub(ctx context.Context, sub *mwiSub, c mwiCounts, terminated string) {
	s := m.s
	m.mu.Lock()
	state := terminated
	if state == "" {
		left := int(time.Until(sub.expires).Round(time.Second) / time.Second)
		if m.subs[sub.key] != sub || left <= 0 {
			m.mu.Unlock()
			return // ended while this NOTIFY waited
		}
		state = "active;expires=" + strconv.Itoa(left)
	}
	sub.cseq++
	cseq, target, source, transport := sub.cseq, sub.target, sub.source, sub.transport
	m.mu.Unlock()

	req := sipgosip.NewRequest(sipgosip.NOTIFY, *target.Clone())
	req.SetTransport(transport)
	from := &sipgosip.FromHeader{Address: *sub.localURI.Clone(), Params: sipgosip.NewParams()}
	from.Params.Add("tag", sub.localTag)
	req.AppendHeader(from)
	to := &sipgosip.ToHeader{Address: *sub.remoteURI.Clone(), Params: sipgosip.NewParams()}
	to.Params.Add("tag", sub.remoteTag)
	req.AppendHeader(to)
	cid := sipgosip.CallIDHeader(sub.callID)
	req.AppendHeader(&cid)
	req.AppendHeader(&sipgosip.CSeqHeader{SeqNo: cseq, MethodName: sipgosip.NOTIFY})
	for _, r := range sub.routes {
		req.AppendHeader(sipgosip.NewHeader("Route", r))
	}
	if rt := req.Route(); rt != nil {
		req.SetDestination(rt.Address.HostPort())
	} else {
		req.SetDestination(source) // NAT: back where the SUBSCRIBE came from
	}
	event := mwiEvent
	if sub.eventID != "" {
		event += ";id=" + sub.eventID
	}
	s.addMWIHeaders(req, sub.ext, event, state, c)
	res, err := m.send(ctx, req)
	var code int
	if res != nil {
		code = res.StatusCode
	}
	switch {
	case err == nil && res.IsSuccess():
		return
	case err != nil:
		s.log.Debug("mwi notify failed", "ext", sub.ext, "call_id", sub.callID, "error", err)
	default:
		s.log.Debug("mwi notify refused", "ext", sub.ext, "call_id", sub.callID, "code", code)
	}
	// RFC 6665 §4.2.2: a NOTIFY answered 481 or timing out ends the
	// subscription. Phones answer NOTIFY at once, so our own deadline
	// counts as a timeout too; the phone's next refresh gets 481 and it
	// subscribes afresh.
	if code == 481 || code == 408 || errors.Is(err, sipgosip.ErrTransactionTimeout) || errors.Is(err, context.DeadlineExceeded) {
		m.mu.Lock()
		if m.subs[sub.key] == sub {
			delete(m.subs, sub.key)
		}
		m.mu.Unlock()
	}
}

// send runs one NOTIFY transaction and returns its final response.
func (m *mwiNotifier) send(ctx context.Context, req *sipgosip.Request) (*sipgosip.Response, error) {
	tx, err := m.s.client(req.Transport()).TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, fmt.Errorf("send notify: %w", err)
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res == nil || res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, txEnded(tx)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-m.s.runDone:
			return nil, errServerStopped
		}
	}
}

// eventPackage splits an Event header value into package and id.
func eventPackage(req *sipgosip.Request) (pkg, id string) {
	h := req.GetHeader("Event")
	if h == nil {
		h = req.GetHeader("o") // compact form, RFC 6665 §8.2.1
	}
	if h == nil {
		return "", ""
	}
	parts := strings.Split(h.Value(), ";")
	pkg = strings.ToLower(strings.TrimSpace(parts[0]))
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "id") {
			id = strings.TrimSpace(v)
		}
	}
	return pkg, id
}

// onSubscribe is the SUBSCRIBE handler (RFC 6665 §4.2.1). Only
// message-summary is served, and only for the subscriber's own mailbox.
func (m *mwiNotifier) onSubscribe(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	s := m.s
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	pkg, eventID := eventPackage(req)
	if pkg != mwiEvent {
		// §8.2.1: an unknown package is refused before anything else.
		s.respond(tx, req, 489, "Bad Event", sipgosip.NewHeader("Allow-Events", mwiEvent))
		return
	}
	fromTag := tagOf(req.From().Params)
	if fromTag == "" {
		s.respond(tx, req, 400, "Missing From tag")
		return
	}
	acct, ok := s.authenticate(req, tx, false)
	if !ok {
		return
	}
	exp := defaultSubExpires
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || v < 0 {
			s.respond(tx, req, 400, "Bad Expires")
			return
		}
		exp = v
	}
	if exp > 0 && exp < MinExpires {
		s.respond(tx, req, 423, "Interval Too Brief", sipgosip.NewHeader("Min-Expires", strconv.Itoa(MinExpires)))
		return
	}
	exp = min(exp, MaxExpires)
	if toTag := tagOf(req.To().Params); toTag != "" {
		m.refresh(req, tx, acct, toTag, exp)
		return
	}

	// The resource is the Request-URI's mailbox; a phone that names none
	// means its own.
	mailbox := req.Recipient.User
	if mailbox == "" {
		mailbox = req.To().Address.User
	}
	if mailbox == "" {
		mailbox = acct.Extension
	}
	if mailbox != acct.Extension {
		s.log.Info("mwi subscribe refused", "user", acct.Extension, "mailbox", mailbox, "src", req.Source())
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	contact := req.Contact()
	if contact == nil {
		s.respond(tx, req, 400, "Missing Contact")
		return
	}
	localTag := sipgosip.GenerateTagN(16)
	sub := &mwiSub{
		key:        subKey(req.CallID().Value(), fromTag, localTag),
		ext:        mailbox,
		callID:     req.CallID().Value(),
		localURI:   *req.To().Address.Clone(),
		localTag:   localTag,
		remoteURI:  *req.From().Address.Clone(),
		remoteTag:  fromTag,
		eventID:    eventID,
		target:     *contact.Address.Clone(),
		source:     req.Source(),
		transport:  strings.ToUpper(req.Transport()),
		expires:    time.Now().Add(time.Duration(exp) * time.Second),
		remoteCSeq: req.CSeq().SeqNo,
	}
	for _, h := range req.GetHeaders("Record-Route") {
		sub.routes = append(sub.routes, h.Value())
	}
	m.respondSub(tx, req, localTag, mailbox, exp)
	counts := func() mwiCounts { return s.mailboxCounts(mailbox) }

	m.mu.Lock()
	defer m.mu.Unlock()
	if exp == 0 {
		// §4.4.3: Expires 0 on a new dialog is a fetch: one final NOTIFY.
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, counts(), "terminated;reason=timeout")
		})
		return
	}
	now := time.Now()
	mine := m.liveSubsLocked(mailbox, now)
	for len(mine) >= maxSubsPerExt {
		j := 0
		for k := range mine {
			if mine[k].expires.Before(mine[j].expires) {
				j = k
			}
		}
		delete(m.subs, mine[j].key)
		mine = append(mine[:j], mine[j+1:]...)
	}
	m.subs[sub.key] = sub
	s.log.Info("mwi subscribed", "ext", mailbox, "src", sub.source, "transport", sub.transport, "expires", exp)
	m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
		m.notifySub(ctx, sub, counts(), "")
	})
}

// refresh handles a SUBSCRIBE inside an existing dialog: a refresh, or
// with Expires 0 the end of the subscription (RFC 6665 §4.2.1.2).
func (m *mwiNotifier) refresh(req *sipgosip.Request, tx sipgosip.ServerTransaction, acct Account, toTag string, exp int) {
	s := m.s
	key := subKey(req.CallID().Value(), tagOf(req.From().Params), toTag)
	now := time.Now()
	m.mu.Lock()
	sub := m.subs[key]
	if sub == nil || !sub.expires.After(now) {
		delete(m.subs, key)
		m.mu.Unlock()
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if sub.ext != acct.Extension {
		m.mu.Unlock()
		s.respond(tx, req, 403, "Forbidden")
		return
	}
	if req.CSeq().SeqNo <= sub.remoteCSeq {
		// RFC 3261 §12.2.2: an out-of-order request in a dialog.
		m.mu.Unlock()
		s.respond(tx, req, 500, "Server Internal Error")
		return
	}
	sub.remoteCSeq = req.CSeq().SeqNo
	if exp == 0 {
		delete(m.subs, key)
	} else {
		sub.expires = now.Add(time.Duration(exp) * time.Second)
		if c := req.Contact(); c != nil {
			sub.target = *c.Address.Clone() // a refresh is a target refresh
		}
		sub.source, sub.transport = req.Source(), strings.ToUpper(req.Transport())
	}
	m.mu.Unlock()

	m.respondSub(tx, req, toTag, sub.ext, exp)
	counts := func() mwiCounts { return s.mailboxCounts(sub.ext) }
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp == 0 {
		s.log.Info("mwi unsubscribed", "ext", sub.ext, "src", req.Source())
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, counts(), "terminated")
		})
		return
	}
	m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
		m.notifySub(ctx, sub, counts(), "")
	})
}

// respondSub sends the 200 to a SUBSCRIBE: our tag, our Contact and the
// granted Expires.
func (m *mwiNotifier) respondSub(tx sipgosip.ServerTransaction, req *sipgosip.Request, localTag, ext string, exp int) {
	s := m.s
	res := s.newResponse(req, 200, "OK", nil)
	if to := res.To(); to != nil {
		// sipgo made up a tag; the dialog's is ours.
		to.Params.Remove("tag")
		to.Params.Add("tag", localTag)
	}
	res.AppendHeader(s.contactHeader(ext, req.Transport()))
	res.AppendHeader(sipgosip.NewHeader("Expires", strconv.Itoa(exp)))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("subscribe respond", "error", err)
	}
}

func subKey(callID, remoteTag, localTag string) string {
	return callID + "\x00" + remoteTag + "\x00" + localTag
}
