package sip

// Subscriptions (RFC 6665), the notifier side, shared by the event
// packages the box serves: message-summary (mwi.go) and dialog
// (dialoginfo.go). A package says what a SUBSCRIBE may watch and what a
// NOTIFY carries; everything else (digest, Expires, refresh and
// unsubscribe, the dialog, the send queues, dropping a subscription whose
// NOTIFY gets 481 or times out) is here, once.
//
// Sending never blocks the caller. NOTIFYs to one target (a subscription
// dialog, or one contact) go out one at a time from a goroutine that lives
// while that target has something to send; a newer state replaces one not
// yet sent, so a phone that is slow to answer ends up with the latest
// state and NOTIFYs inside a dialog leave in CSeq order.

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
	// defaultSubExpires applies when a SUBSCRIBE has no Expires header;
	// RFC 3842 and RFC 4235 leave the default to the notifier.
	defaultSubExpires = 3600
	// notifySendTimeout bounds one NOTIFY transaction; a phone that does
	// not answer in time is skipped until the next change.
	notifySendTimeout = 10 * time.Second
)

var errServerStopped = errors.New("sip server stopped")

// eventPackage is one event package the box is the notifier of.
type eventPackage struct {
	name        string
	contentType string
	// maxPerOwner bounds one extension's subscriptions to the package; the
	// one closest to expiry (a rebooted phone's old dialog) makes room for
	// a new one.
	maxPerOwner int
	// resource names what a new SUBSCRIBE of acct watches, from user, the
	// Request-URI's user part (or the To's, or acct's own extension when
	// both are empty). A non-zero code refuses the SUBSCRIBE with it.
	resource func(s *Server, user string, acct Account) (res string, code int, reason string)
	// body is the NOTIFY body for sub's resource as it is now; version is
	// the subscription's count of NOTIFYs before this one.
	body func(s *Server, sub *subscription, version uint32) []byte
}

// subscription is one subscription dialog, seen from the notifier (RFC
// 6665 §4.2).
type subscription struct {
	pkg       *eventPackage
	key       string // dialog key: Call-ID, their tag, our tag
	resource  string // what is watched: a mailbox "101", "ext:102", "agent:bob"
	user      string // the user part subscribed to: our Contact in NOTIFYs
	owner     string // the subscriber's extension
	callID    string
	localURI  sipgosip.Uri // the SUBSCRIBE's To: our From in NOTIFY
	localTag  string
	remoteURI sipgosip.Uri // the SUBSCRIBE's From: our To in NOTIFY
	remoteTag string
	eventID   string   // Event "id" parameter, echoed in NOTIFY
	routes    []string // Record-Route of the SUBSCRIBE, in order

	// Protected by notifier.mu.
	target     sipgosip.Uri // remote target: the SUBSCRIBE's Contact
	source     string       // where the SUBSCRIBE came from (NAT)
	transport  string
	expires    time.Time
	remoteCSeq uint32
	cseq       uint32 // last NOTIFY CSeq
	version    uint32 // NOTIFYs built so far (dialog-info's version)
}

// notifier keeps the subscriptions of every package and the send queues.
type notifier struct {
	s    *Server
	pkgs []*eventPackage // served, in the order Allow-Events lists them

	mu     sync.Mutex                   // protects following
	subs   map[string]*subscription     // dialog key -> subscription
	outbox map[string]*outbox           // target with a sender running
	seen   map[string]map[string]string // mwi: ext -> contact -> REGISTER Call-ID already notified
}

// outbox is the next job for a target whose sender is busy.
type outbox struct{ next func(context.Context) }

func newNotifier(s *Server, pkgs ...*eventPackage) *notifier {
	return &notifier{s: s, pkgs: pkgs, subs: make(map[string]*subscription), outbox: make(map[string]*outbox),
		seen: make(map[string]map[string]string)}
}

func (m *notifier) pkg(name string) *eventPackage {
	for _, p := range m.pkgs {
		if p.name == name {
			return p
		}
	}
	return nil
}

func (m *notifier) allowEvents() string {
	names := make([]string, len(m.pkgs))
	for i, p := range m.pkgs {
		names[i] = p.name
	}
	return strings.Join(names, ", ")
}

// notifyResource sends resource's state as it will be then to every
// subscription of pkg that watches it.
func (m *notifier) notifyResource(pkg *eventPackage, resource string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sub := range m.liveSubsLocked(pkg, resource, time.Now()) {
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, "", nil)
		})
	}
}

// liveSubsLocked returns the unexpired subscriptions of pkg to resource
// and forgets the expired ones of every package and resource.
func (m *notifier) liveSubsLocked(pkg *eventPackage, resource string, now time.Time) []*subscription {
	var out []*subscription
	for k, sub := range m.subs {
		if !sub.expires.After(now) {
			delete(m.subs, k)
			continue
		}
		if sub.pkg == pkg && sub.resource == resource {
			out = append(out, sub)
		}
	}
	return out
}

// enqueueLocked runs job for key after the job being sent there, if any;
// a job still waiting is replaced, since only the latest state matters.
func (m *notifier) enqueueLocked(key string, job func(context.Context)) {
	if ob, busy := m.outbox[key]; busy {
		ob.next = job
		return
	}
	m.outbox[key] = &outbox{}
	go m.drain(key, job)
}

// drain sends key's jobs until none is left. Each is bounded by
// notifySendTimeout, so the goroutine ends soon after the server stops.
func (m *notifier) drain(key string, job func(context.Context)) {
	for job != nil {
		ctx, cancel := context.WithTimeout(context.Background(), notifySendTimeout)
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

// addNotifyHeaders adds what every NOTIFY of pkg carries, and its body.
func (s *Server) addNotifyHeaders(req *sipgosip.Request, pkg *eventPackage, user, event, state string, body []byte) {
	mf := sipgosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(s.contactHeader(user, req.Transport()))
	req.AppendHeader(sipgosip.NewHeader("Event", event))
	req.AppendHeader(sipgosip.NewHeader("Subscription-State", state))
	req.AppendHeader(sipgosip.NewHeader("Allow-Events", pkg.name))
	req.AppendHeader(sipgosip.NewHeader("User-Agent", s.userAgent()))
	req.AppendHeader(sipgosip.NewHeader("Content-Type", pkg.contentType))
	req.SetBody(body)
	s.setLaddr(req)
}

// notifySub sends a NOTIFY inside sub's dialog with the state of its
// resource (body, when set, says it instead of the package). A non-empty
// terminated is the final NOTIFY's Subscription-State; otherwise the
// subscription must still exist.
func (m *notifier) notifySub(ctx context.Context, sub *subscription, terminated string, body func(version uint32) []byte) {
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
	version := sub.version
	sub.version++
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
	event := sub.pkg.name
	if sub.eventID != "" {
		event += ";id=" + sub.eventID
	}
	var b []byte
	if body != nil {
		b = body(version)
	} else {
		b = sub.pkg.body(s, sub, version)
	}
	s.addNotifyHeaders(req, sub.pkg, sub.user, event, state, b)
	res, err := m.send(ctx, req)
	var code int
	if res != nil {
		code = res.StatusCode
	}
	switch {
	case err == nil && res.IsSuccess():
		return
	case err != nil:
		s.log.Debug("notify failed", "event", sub.pkg.name, "resource", sub.resource, "call_id", sub.callID, "error", err)
	default:
		s.log.Debug("notify refused", "event", sub.pkg.name, "resource", sub.resource, "call_id", sub.callID, "code", code)
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
func (m *notifier) send(ctx context.Context, req *sipgosip.Request) (*sipgosip.Response, error) {
	tx, err := m.s.client(req.Transport()).TransactionRequest(ctx, req, sipgo.ClientRequestAddVia)
	if err != nil {
		return nil, fmt.Errorf("send notify: %w", err)
	}
	return finalResponse(ctx, tx, m.s.runDone)
}

// eventPackageOf splits an Event header value into package and id.
func eventPackageOf(req *sipgosip.Request) (pkg, id string) {
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

// accepts reports whether the SUBSCRIBE's Accept headers, if any, allow
// contentType (RFC 6665 §4.2.1.1: none means the package's default).
func accepts(req *sipgosip.Request, contentType string) bool {
	hs := req.GetHeaders("Accept")
	if len(hs) == 0 {
		return true
	}
	for _, h := range hs {
		for _, t := range strings.Split(h.Value(), ",") {
			t, _, _ = strings.Cut(t, ";")
			t = strings.ToLower(strings.TrimSpace(t))
			if t == contentType || t == "*/*" || t == "" {
				return true
			}
			if typ, sub, _ := strings.Cut(t, "/"); sub == "*" && strings.HasPrefix(contentType, typ+"/") {
				return true
			}
		}
	}
	return false
}

// onSubscribe is the SUBSCRIBE handler (RFC 6665 §4.2.1).
func (m *notifier) onSubscribe(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	s := m.s
	if req.From() == nil || req.To() == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	name, eventID := eventPackageOf(req)
	pkg := m.pkg(name)
	if pkg == nil {
		// §8.2.1: an unknown package is refused before anything else.
		s.respond(tx, req, 489, "Bad Event", sipgosip.NewHeader("Allow-Events", m.allowEvents()))
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
		m.refresh(req, tx, pkg, acct, toTag, exp)
		return
	}
	if !accepts(req, pkg.contentType) {
		s.respond(tx, req, 406, "Not Acceptable", sipgosip.NewHeader("Accept", pkg.contentType))
		return
	}

	user := req.Recipient.User
	if user == "" {
		user = req.To().Address.User
	}
	if user == "" {
		user = acct.Extension
	}
	resource, code, reason := pkg.resource(s, user, acct)
	if code != 0 {
		s.log.Info("subscribe refused", "event", pkg.name, "user", acct.Extension, "resource", user, "code", code, "src", req.Source())
		s.respond(tx, req, code, reason)
		return
	}
	contact := req.Contact()
	if contact == nil {
		s.respond(tx, req, 400, "Missing Contact")
		return
	}
	localTag := sipgosip.GenerateTagN(16)
	sub := &subscription{
		pkg:        pkg,
		key:        subKey(req.CallID().Value(), fromTag, localTag),
		resource:   resource,
		user:       user,
		owner:      acct.Extension,
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
	m.respondSub(tx, req, localTag, user, exp)

	m.mu.Lock()
	defer m.mu.Unlock()
	if exp == 0 {
		// §4.4.3: Expires 0 on a new dialog is a fetch: one final NOTIFY.
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, "terminated;reason=timeout", nil)
		})
		return
	}
	now := time.Now()
	var mine []*subscription
	for k, o := range m.subs {
		switch {
		case !o.expires.After(now):
			delete(m.subs, k)
		case o.pkg == pkg && o.owner == sub.owner:
			mine = append(mine, o)
		}
	}
	for len(mine) >= pkg.maxPerOwner {
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
	s.log.Info("subscribed", "event", pkg.name, "ext", sub.owner, "resource", resource, "src", sub.source, "transport", sub.transport, "expires", exp)
	m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
		m.notifySub(ctx, sub, "", nil)
	})
}

// refresh handles a SUBSCRIBE inside an existing dialog: a refresh, or
// with Expires 0 the end of the subscription (RFC 6665 §4.2.1.2).
func (m *notifier) refresh(req *sipgosip.Request, tx sipgosip.ServerTransaction, pkg *eventPackage, acct Account, toTag string, exp int) {
	s := m.s
	key := subKey(req.CallID().Value(), tagOf(req.From().Params), toTag)
	now := time.Now()
	m.mu.Lock()
	sub := m.subs[key]
	if sub == nil || !sub.expires.After(now) || sub.pkg != pkg {
		if sub != nil && sub.pkg == pkg {
			delete(m.subs, key)
		}
		m.mu.Unlock()
		s.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if sub.owner != acct.Extension {
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

	m.respondSub(tx, req, toTag, sub.user, exp)
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp == 0 {
		s.log.Info("unsubscribed", "event", pkg.name, "ext", sub.owner, "resource", sub.resource, "src", req.Source())
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, "terminated", nil)
		})
		return
	}
	m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
		m.notifySub(ctx, sub, "", nil)
	})
}

// respondSub sends the 200 to a SUBSCRIBE: our tag, our Contact and the
// granted Expires.
func (m *notifier) respondSub(tx sipgosip.ServerTransaction, req *sipgosip.Request, localTag, user string, exp int) {
	s := m.s
	res := s.newResponse(req, 200, "OK", nil)
	if to := res.To(); to != nil {
		// sipgo made up a tag; the dialog's is ours.
		to.Params.Remove("tag")
		to.Params.Add("tag", localTag)
	}
	res.AppendHeader(s.contactHeader(user, req.Transport()))
	res.AppendHeader(sipgosip.NewHeader("Expires", strconv.Itoa(exp)))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("subscribe respond", "error", err)
	}
}

func subKey(callID, remoteTag, localTag string) string {
	return callID + "\x00" + remoteTag + "\x00" + localTag
}
