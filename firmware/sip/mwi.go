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

import (
	"context"
	"fmt"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
)

const (
	mwiEvent       = "message-summary"
	mwiContentType = "application/simple-message-summary"
	// maxSubsPerExt bounds an extension's message-summary subscriptions.
	maxSubsPerExt = 10
)

// mwiPackage is the message-summary package: a phone watches its own
// mailbox only.
var mwiPackage = &eventPackage{
	name:        mwiEvent,
	contentType: mwiContentType,
	maxPerOwner: maxSubsPerExt,
	resource: func(s *Server, mailbox string, acct Account) (string, int, string) {
		if mailbox != acct.Extension {
			return "", 403, "Forbidden"
		}
		return mailbox, 0, ""
	},
	body: func(s *Server, sub *subscription, _ uint32) []byte {
		return messageSummary(s.mailboxAccount(sub.resource), s.mailboxCounts(sub.resource))
	},
}

// mwiCounts is the state of a mailbox.
type mwiCounts struct{ newMsgs, oldMsgs int }

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
	s.subs.notifyAll(ext, regs, func() mwiCounts { return c })
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
	m := s.subs
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneSeenLocked(ext, regs)
	subs := m.liveSubsLocked(mwiPackage, ext, time.Now())
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

func (m *notifier) notifyAll(ext string, regs []Registration, counts func() mwiCounts) {
	s := m.s
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneSeenLocked(ext, regs)
	subs := m.liveSubsLocked(mwiPackage, ext, time.Now())
	for _, sub := range subs {
		m.enqueueLocked("sub:"+sub.key, func(ctx context.Context) {
			m.notifySub(ctx, sub, "", func(uint32) []byte { return messageSummary(s.mailboxAccount(ext), counts()) })
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
func covered(b Registration, subs []*subscription) bool {
	for _, sub := range subs {
		if sub.target.String() == b.Contact ||
			(sub.source == b.Source && strings.EqualFold(sub.transport, b.Transport)) {
			return true
		}
	}
	return false
}

// pruneSeenLocked forgets the notified Call-IDs of contacts that are no
// longer registered.
func (m *notifier) pruneSeenLocked(ext string, regs []Registration) {
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

// notifyBinding sends an unsolicited NOTIFY to one registered contact, at
// the address its REGISTER came from.
func (m *notifier) notifyBinding(ctx context.Context, b Registration, c mwiCounts) {
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
	s.addNotifyHeaders(req, mwiPackage, b.Extension, mwiEvent, "terminated", messageSummary(s.mailboxAccount(b.Extension), c))
	res, err := m.send(ctx, req)
	switch {
	case err != nil:
		s.log.Debug("mwi notify failed", "ext", b.Extension, "contact", b.Contact, "error", err)
	case !res.IsSuccess():
		s.log.Debug("mwi notify refused", "ext", b.Extension, "contact", b.Contact, "code", res.StatusCode)
	}
}
