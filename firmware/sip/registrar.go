package sip

import (
	"context"
	"net/netip"
	"ringbox/firmware/events"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
)

// Registrar limits.
const (
	MinExpires         = 60
	MaxExpires         = 3600
	MaxContactsPerExt  = 10
	defaultRegExpires  = 3600
	registrarSweepTick = 5 * time.Second
)

// Registration is one contact binding of an extension.
type Registration struct {
	Extension string    `json:"extension"`
	Contact   string    `json:"contact"`   // the Contact URI the phone registered
	Source    string    `json:"source"`    // ip:port the REGISTER came from
	Transport string    `json:"transport"` // UDP | TCP | TLS
	Expires   time.Time `json:"expires"`
	UserAgent string    `json:"user_agent,omitempty"`

	callID string
	cseq   uint32
}

type registrar struct {
	s *Server

	mu       sync.Mutex                 // protects following
	bindings map[string][]*Registration // extension -> contacts
}

func newRegistrar(s *Server) *registrar {
	return &registrar{s: s, bindings: make(map[string][]*Registration)}
}

func (r *registrar) list() []Registration {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Registration
	for _, bs := range r.bindings {
		for _, b := range bs {
			if b.Expires.After(now) {
				out = append(out, *b)
			}
		}
	}
	slices.SortFunc(out, func(a, b Registration) int {
		if c := strings.Compare(a.Extension, b.Extension); c != 0 {
			return c
		}
		return strings.Compare(a.Contact, b.Contact)
	})
	return out
}

// contacts returns the live bindings of ext.
func (r *registrar) contacts(ext string) []Registration {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Registration
	for _, b := range r.bindings[ext] {
		if b.Expires.After(now) {
			out = append(out, *b)
		}
	}
	return out
}

// sweep removes expired bindings and announces them.
func (r *registrar) sweep(ctx context.Context) {
	t := time.NewTicker(registrarSweepTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var gone []Registration
		r.mu.Lock()
		for ext, bs := range r.bindings {
			keep := bs[:0]
			for _, b := range bs {
				if b.Expires.After(now) {
					keep = append(keep, b)
				} else {
					gone = append(gone, *b)
				}
			}
			if len(keep) == 0 {
				delete(r.bindings, ext)
			} else {
				r.bindings[ext] = keep
			}
		}
		r.mu.Unlock()
		for _, g := range gone {
			r.s.publish(regEvent(g, "expired"))
		}
	}
}

func regEvent(g Registration, reason string) events.SIPUnregistered {
	return events.SIPUnregistered{Extension: g.Extension, Contact: g.Contact, Source: g.Source, Reason: reason}
}

type contactReq struct {
	uri     string
	expires int
}

// handle is the REGISTER handler: RFC 3261 §10.3.
func (r *registrar) handle(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
	s := r.s
	to := req.To()
	if to == nil || req.CallID() == nil || req.CSeq() == nil {
		s.respond(tx, req, 400, "Bad Request")
		return
	}
	acct, ok := s.authenticate(req, tx, false)
	if !ok {
		return
	}
	ext := to.Address.User
	if acct.Extension != ext {
		// Step 6: the authenticated user may only change its own bindings.
		s.countAuthFailure(sourceAddr(req))
		s.authFailed(req, reasonNotOwnBinding, acct.Extension)
		s.respond(tx, req, 403, "Forbidden")
		return
	}

	defExp := defaultRegExpires
	hasExpiresHdr := false
	if h := req.GetHeader("Expires"); h != nil {
		v, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || v < 0 {
			s.respond(tx, req, 400, "Bad Expires")
			return
		}
		defExp, hasExpiresHdr = v, true
	}

	var cs []contactReq
	star := false
	for _, h := range req.GetHeaders("Contact") {
		if strings.TrimSpace(h.Value()) == "*" {
			star = true
			continue
		}
		ch, ok := h.(*sipgosip.ContactHeader)
		if !ok {
			s.respond(tx, req, 400, "Bad Contact")
			return
		}
		exp := defExp
		if v, ok := ch.Params.Get("expires"); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				s.respond(tx, req, 400, "Bad Contact expires")
				return
			}
			exp = n
		}
		if exp > 0 && exp < MinExpires {
			s.respond(tx, req, 423, "Interval Too Brief", sipgosip.NewHeader("Min-Expires", strconv.Itoa(MinExpires)))
			return
		}
		exp = min(exp, MaxExpires)
		cs = append(cs, contactReq{uri: ch.Address.String(), expires: exp})
	}
	if star && (len(cs) > 0 || !hasExpiresHdr || defExp != 0) {
		// §10.3 step 6: "*" only alone and only with Expires: 0.
		s.respond(tx, req, 400, "Bad Request")
		return
	}

	callID := req.CallID().Value()
	cseq := req.CSeq().SeqNo
	src := req.Source()
	transport := strings.ToUpper(req.Transport())
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = h.Value()
	}
	now := time.Now()

	var added, removed []Registration
	r.mu.Lock()
	bs := r.bindings[ext]
	if star {
		for _, b := range bs {
			if b.callID == callID && cseq <= b.cseq {
				r.mu.Unlock()
				s.respond(tx, req, 500, "Server Internal Error")
				return
			}
		}
		for _, b := range bs {
			removed = append(removed, *b)
		}
		bs = nil
	} else {
		// Step 7: a binding with the same Call-ID must see a higher CSeq,
		// or the whole request fails and nothing changes.
		for _, c := range cs {
			if i := indexBinding(bs, c.uri); i >= 0 && bs[i].callID == callID && cseq <= bs[i].cseq {
				r.mu.Unlock()
				s.respond(tx, req, 500, "Server Internal Error")
				return
			}
		}
		next := slices.Clone(bs)
		for _, c := range cs {
			i := indexBinding(next, c.uri)
			if c.expires == 0 {
				if i >= 0 {
					removed = append(removed, *next[i])
					next = slices.Delete(next, i, i+1)
				}
				continue
			}
			b := &Registration{Extension: ext, Contact: c.uri, Source: src, Transport: transport,
				Expires: now.Add(time.Duration(c.expires) * time.Second), UserAgent: ua, callID: callID, cseq: cseq}
			if i >= 0 {
				next[i] = b
				continue
			}
			next = append(next, b)
			added = append(added, *b)
		}
		// Over the limit: drop the bindings closest to expiry, which are
		// the ones a rebooted phone left behind.
		for len(next) > MaxContactsPerExt {
			j := 0
			for k := range next {
				if next[k].Expires.Before(next[j].Expires) {
					j = k
				}
			}
			removed = append(removed, *next[j])
			next = slices.Delete(next, j, j+1)
		}
		bs = next
	}
	if len(bs) == 0 {
		delete(r.bindings, ext)
	} else {
		r.bindings[ext] = bs
	}
	current := make([]Registration, 0, len(bs))
	for _, b := range bs {
		current = append(current, *b)
	}
	r.mu.Unlock()

	res := s.newResponse(req, 200, "OK", nil)
	for _, b := range current {
		var u sipgosip.Uri
		if err := sipgosip.ParseUri(b.Contact, &u); err != nil {
			continue
		}
		ch := &sipgosip.ContactHeader{Address: u, Params: sipgosip.NewParams()}
		ch.Params.Add("expires", strconv.Itoa(max(0, int(time.Until(b.Expires).Round(time.Second)/time.Second))))
		res.AppendHeader(ch)
	}
	res.AppendHeader(sipgosip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	if err := tx.Respond(res); err != nil {
		s.log.Debug("register respond", "error", err)
	}
	for _, a := range added {
		s.log.Info("sip registered", "ext", a.Extension, "contact", a.Contact, "src", a.Source, "transport", a.Transport)
		s.publish(events.SIPRegistered{Extension: a.Extension, Contact: a.Contact,
			Source: a.Source, Transport: a.Transport, UserAgent: a.UserAgent, Expires: a.Expires})
	}
	for _, g := range removed {
		s.log.Info("sip unregistered", "ext", g.Extension, "contact", g.Contact)
		s.publish(regEvent(g, "unregister"))
	}
	s.onRegistered(ext, callID) // light a booted phone's indicator (mwi.go)
}

func indexBinding(bs []*Registration, uri string) int {
	for i, b := range bs {
		if b.Contact == uri {
			return i
		}
	}
	return -1
}

// target is where requests for a binding go: the address the REGISTER came
// from when it differs from the Contact host (NAT), else the Contact.
func (b Registration) target() (uri sipgosip.Uri, dest string, ok bool) {
	if err := sipgosip.ParseUri(b.Contact, &uri); err != nil {
		return uri, "", false
	}
	dest = b.Source
	if strings.EqualFold(b.Transport, "tcp") || secureTransport(b.Transport) {
		return uri, dest, true // reuse the phone's connection
	}
	if src, err := netip.ParseAddrPort(b.Source); err == nil {
		if uri.Host == src.Addr().String() && (uri.Port == int(src.Port()) || (uri.Port == 0 && src.Port() == 5060)) {
			dest = ""
		}
	}
	return uri, dest, true
}
