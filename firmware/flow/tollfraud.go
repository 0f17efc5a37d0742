package flow

import (
	"context"
	"fmt"
	"time"

	"ringbox/firmware/dialplan"
	"ringbox/firmware/events"
	"ringbox/firmware/voicemail"
)

// TollGuard is the box's toll-fraud guard: the limits on outside calls
// across calls and the counters /metrics shows. The engine makes its own
// when Guard is nil, so the limits hold on defaults.
func (e *Engine) TollGuard() *dialplan.Guard {
	e.guardOnce.Do(func() {
		if e.Guard == nil {
			e.Guard = &dialplan.Guard{}
		}
	})
	return e.Guard
}

// newRouter is the outbound router of call c: the caller's extension's
// limits and hours apply.
func (c *Call) newRouter() dialplan.Router { return c.routerAs(c.info.Extension) }

// routerAs is an outbound router of call c that places calls on the
// permission, limits and hours of extension ext (DISA: the extension the
// caller authenticated as; the target's Class must be ext's). Every
// outside call of the box is authorised by dialplan.Router.Authorize
// through one of these.
func (c *Call) routerAs(ext string) dialplan.Router {
	return dialplan.Router{
		Plan: c.snap.Outbound, Site: c.snap.Site, Next: c.e.Dialer, Forbidden: c.forbidden,
		Caller: ext, Guard: c.e.TollGuard(),
		Open:  func(id string, now time.Time) bool { return c.e.scheduleOpen(c.snap, id, now) },
		Alert: c.tollAlert,
	}
}

// tollAlert tells everyone who should know of a toll-fraud anomaly: the
// event stream, the log, the audit log and, with system.alert_email and
// system.smtp, the administrator by e-mail (in the background: the call
// does not wait for the relay).
func (c *Call) tollAlert(ctx context.Context, a dialplan.Anomaly) {
	c.log.Warn("toll fraud alert", "kind", a.Kind, "extension", a.Extension, "trunk", a.Trunk, "number", a.Number, "class", a.Class, "count", a.Count)
	c.e.publish(events.TollFraudAlert{Kind: a.Kind, Extension: a.Extension, Trunk: a.Trunk, Number: a.Number, Class: a.Class, Count: a.Count, Detail: a.Detail})
	if c.e.Audit != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.e.Audit(actx, "sip", "tollfraud."+a.Kind, a.Number, a.Detail); err != nil {
			c.log.Error("audit", "err", err)
		}
	}
	sys := c.snap.Site.System
	if sys.AlertEmail == "" || sys.SMTP == nil {
		return
	}
	send := c.e.AlertMail
	if send == nil {
		send = voicemail.SendText
	}
	relay, to := *sys.SMTP, sys.AlertEmail
	subject := fmt.Sprintf("[%s] toll fraud alert: %s", sys.Name, a.Kind)
	text := a.Detail + "\n\nThe audit log has every refused call; docs/security.md (Toll fraud) says how to read the alerts.\n"
	log := c.log
	// The engine's call count owns the goroutine: Engine.Wait joins it.
	c.e.calls.add()
	go func() {
		defer c.e.calls.done()
		mctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := send(mctx, relay, to, subject, text); err != nil {
			log.Error("toll fraud alert e-mail", "to", to, "err", err)
		}
	}()
}
