package flow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/cdr"
	"ringbox/firmware/dialplan"
	"ringbox/firmware/ring"
	"ringbox/firmware/site"
)

// "Call me back" (seed 000): the box rings the user's phone (their mobile,
// or any phone they name) and, once they answer, calls the number they
// asked for and connects them, as if their extension had dialled it: the
// same outbound routes, permission and office caller ID as a DISA call.

// CallbackRing is how long the user's phone rings before the call back is
// given up.
const CallbackRing = 30 * time.Second

// Callback errors: the request cannot be placed as asked.
var (
	ErrCallbackNoExtension = errors.New("flow: call back needs the user's extension (its permission and caller ID)")
	ErrCallbackNoPhone     = errors.New("flow: no phone to call back: no mobile and none given")
	ErrCallbackNoRoute     = errors.New("flow: no outbound route for that number")
	ErrCallbackForbidden   = errors.New("flow: the extension's permission does not allow that number")
	ErrCallbackBadNumber   = errors.New("flow: not a phone number")
)

// CallbackRequest asks the box to call Phone, then Number, as Extension.
type CallbackRequest struct {
	Extension string // whose call it is: permission and caller ID
	Phone     string // what rings first: an extension or an outside number
	Number    string // what is called once Phone answers
	By        string // who asked (a web login), for the log and audit
}

var callbackSeq atomic.Int64

// Callback checks r and starts the call back on its own goroutine (owned
// by the engine: Wait waits for it); it returns the call id at once. ctx
// is the call's lifetime, not a request's. The checks refuse, before
// anything rings, a number the extension may not dial (audited as a
// refused outbound call), or a phone outside the outbound routes.
func (e *Engine) Callback(ctx context.Context, r CallbackRequest) (string, error) {
	snap := e.Config.Current()
	s := snap.Site
	var x *site.Extension
	for i := range s.Extensions {
		if s.Extensions[i].Number == r.Extension {
			x = &s.Extensions[i]
		}
	}
	if x == nil {
		return "", ErrCallbackNoExtension
	}
	if r.Phone == "" {
		return "", ErrCallbackNoPhone
	}
	// The user's own mobile is rung as the box rings agents' mobiles;
	// any other phone only as far as the extension may dial.
	phoneClass := x.PermissionClass()
	if s.ExtensionOfMobile(r.Phone) == x.Number {
		phoneClass = site.PermInternational
	}
	phoneT, err := e.callbackTarget(ctx, snap.Outbound, s, r, r.Phone, phoneClass)
	if err != nil {
		return "", fmt.Errorf("phone %s: %w", r.Phone, err)
	}
	if _, err := e.callbackTarget(ctx, snap.Outbound, s, r, r.Number, x.PermissionClass()); err != nil {
		return "", fmt.Errorf("number %s: %w", r.Number, err)
	}
	id := "callback-" + strconv.FormatInt(callbackSeq.Add(1), 10) + "-" + strconv.FormatInt(time.Now().UnixMilli(), 36)
	log := e.logger().With("call", id)
	log.Info("call back", "extension", r.Extension, "phone", r.Phone, "number", r.Number, "by", r.By)
	// The call is in progress from the moment the phone rings: a restart
	// meanwhile still leaves its record, and one the phone never answers
	// is recorded as such.
	rec := cdr.Record{CallID: id, Caller: x.Number, CallerName: x.Name, Callee: r.Number, Direction: cdr.Outbound,
		Path: []string{"callback:" + r.Phone}, Start: time.Now()}
	if ring.FindExt(s, r.Number) != nil {
		rec.Direction = cdr.Internal
	}
	if t, ok := e.CDR.(cdr.Tracker); ok {
		t.CallStarted(rec)
	}
	e.calls.add()
	go func() {
		defer e.calls.done()
		router := &dialplan.Router{Plan: snap.Outbound, Site: s, Next: e.Dialer}
		rctx, cancel := context.WithTimeout(ctx, CallbackRing)
		defer cancel()
		phone := cdr.Leg{Target: callbackLabel(phoneT), Start: rec.Start}
		leg, err := router.Dial(rctx, phoneT)
		if err == nil {
			phone.ID = leg.ID()
			if err = leg.Answer(rctx); err != nil {
				leg.Hangup(call.CauseOf(err))
			}
		}
		if err != nil {
			log.Info("call back: phone not reached", "phone", r.Phone, "err", err)
			phone.End, phone.Cause = time.Now(), call.CauseOf(err).String()
			rec.Legs, rec.End, rec.Cause, rec.HangupBy = []cdr.Leg{phone}, phone.End, phone.Cause, cdr.BySystem
			e.saveCDR(rec, log)
			return
		}
		// The answered phone is now the caller: the call runs as its
		// extension dialling the number.
		e.Handle(ctx, leg, Inbound{CallID: id, From: call.Party{Number: x.Number, Name: x.Name}, To: r.Number, Extension: x.Number,
			Start: rec.Start})
	}()
	return id, nil
}

// callbackLabel names the phone a call back rings as CDR legs name
// targets.
func callbackLabel(t call.Target) string {
	if t.Kind == call.TargetExtension {
		return "ext:" + t.Number
	}
	return "external:" + t.Number
}

// callbackTarget is the target that rings num: an extension, or an outside
// number the outbound routes allow under class (a refusal is audited).
func (e *Engine) callbackTarget(ctx context.Context, plan *dialplan.Plan, s *site.Site, r CallbackRequest, num, class string) (call.Target, error) {
	from := call.Party{Number: r.Extension, Name: "Call back"}
	if x := ring.FindExt(s, num); x != nil {
		return call.Target{Kind: call.TargetExtension, Number: num, From: from}, nil
	}
	if num == "" || !isDialString(num) {
		return call.Target{}, ErrCallbackBadNumber
	}
	if plan == nil {
		return call.Target{}, ErrCallbackNoRoute
	}
	d, ok := plan.Lookup(num, class)
	switch {
	case !ok:
		return call.Target{}, ErrCallbackNoRoute
	case !d.Allowed:
		e.logger().Warn("call back refused: number not permitted", "extension", r.Extension, "number", num, "class", class, "by", r.By)
		if e.Audit != nil {
			actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			detail := fmt.Sprintf("call back for %s (class %q) may not dial %s: route %q", r.Extension, class, num, d.Route.Pattern)
			if err := e.Audit(actx, r.By, "call.forbidden", num, detail); err != nil {
				e.logger().Error("audit", "err", err)
			}
		}
		return call.Target{}, ErrCallbackForbidden
	}
	return call.Target{Kind: call.TargetExternal, Number: num, From: from, Class: class}, nil
}

// isDialString reports whether s is what a phone could dial: digits,
// optionally after a +.
func isDialString(s string) bool {
	if len(s) > 0 && s[0] == '+' {
		s = s[1:]
	}
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
