package flow

import (
	"context"
	"ringbox/firmware/ring"
	"strings"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// menuResult is how one attempt at an IVR menu ended.
type menuResult int

const (
	menuChosen menuResult = iota
	menuInvalid
	menuTimeout
	menuGone // the caller hung up or the call is ending
)

// ivr runs a virtual receptionist: the greeting (keys typed during it
// count), then a key or an extension number. Invalid keys and timeouts
// are counted separately; the retries-th invalid key goes to on_invalid,
// the timeout_retries-th timeout to on_timeout. After an invalid key the
// invalid prompt plays, then the greeting again.
func (c *Call) ivr(ctx context.Context, id string) (string, call.Cause) {
	var m *site.IVR
	for i := range c.snap.Site.IVRs {
		if c.snap.Site.IVRs[i].ID == id {
			m = &c.snap.Site.IVRs[i]
		}
	}
	if m == nil {
		return "", call.NotFound
	}
	if dest := c.ivrCaller(m); dest != "" { // callers.go
		return dest, call.Normal
	}
	if err := c.answer(ctx); err != nil {
		return "", call.CauseOf(err)
	}
	invalid, timeouts := 0, 0
	for {
		if err := c.play(ctx, true, m.Greeting); err != nil {
			return "", call.CauseOf(err)
		}
		dest, res := c.collect(ctx, m)
		switch res {
		case menuChosen:
			return dest, call.Normal
		case menuGone:
			return "", c.goneCause(ctx)
		case menuTimeout:
			timeouts++
			c.log.Info("ivr timeout", "ivr", m.ID, "count", timeouts)
			if timeouts >= m.TimeoutTries() {
				return m.TimeoutDest(), call.Normal
			}
		case menuInvalid:
			invalid++
			c.log.Info("ivr invalid key", "ivr", m.ID, "count", invalid)
			if invalid >= m.InvalidTries() {
				return m.InvalidDest(), call.Normal
			}
			prompt := m.Invalid
			if prompt == "" {
				prompt = "invalid-option"
			}
			if err := c.play(ctx, true, prompt); err != nil {
				return "", call.CauseOf(err)
			}
		}
	}
}

func (c *Call) goneCause(ctx context.Context) call.Cause {
	if ctx.Err() != nil {
		return call.CauseOf(context.Cause(ctx))
	}
	if err := c.in.Err(); err != nil {
		return call.CauseOf(err)
	}
	return call.Cancelled
}

// collect reads one choice: a key of the options, or with direct_dial an
// extension number. While the keys so far could still become a longer
// extension number (option 1, extension 101) it waits for the next key
// up to the inter-digit time; then the keys so far decide. '#' ends a
// number early.
func (c *Call) collect(ctx context.Context, m *site.IVR) (string, menuResult) {
	d, ok, gone := c.nextDigit(ctx, m.Wait())
	if gone {
		return "", menuGone
	}
	if !ok {
		return "", menuTimeout
	}
	buf := string(d)
	for {
		exact := c.menuChoice(m, buf)
		longer := c.longerNumber(m, buf)
		if !longer {
			if exact == "" {
				return "", menuInvalid
			}
			c.chose(m, buf)
			return exact, menuChosen
		}
		d, ok, gone := c.nextDigit(ctx, m.InterDigit())
		switch {
		case gone:
			return "", menuGone
		case !ok || d == '#':
			if exact == "" {
				return "", menuInvalid
			}
			c.chose(m, buf)
			return exact, menuChosen
		}
		buf += string(d)
	}
}

// menuChoice is where keys lead: an option (single key) first, then an
// extension number with direct_dial; "" for neither.
func (c *Call) menuChoice(m *site.IVR, keys string) string {
	if dest, ok := m.Options[keys]; ok {
		return dest
	}
	if m.DirectDial && ring.FindExt(c.snap.Site, keys) != nil {
		return site.DestExtension + ":" + keys
	}
	return ""
}

// longerNumber reports whether an extension number starts with keys and is
// longer (so more keys may follow).
func (c *Call) longerNumber(m *site.IVR, keys string) bool {
	if !m.DirectDial {
		return false
	}
	for _, x := range c.snap.Site.Extensions {
		if len(x.Number) > len(keys) && strings.HasPrefix(x.Number, keys) {
			return true
		}
	}
	return false
}

// nextDigit waits up to d for a key; gone when the caller left.
func (c *Call) nextDigit(ctx context.Context, d time.Duration) (key byte, ok, gone bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case dg := <-c.in.Media().Digits():
		return dg.Key, true, false
	case <-t.C:
		return 0, false, false
	case <-c.in.Done():
		return 0, false, true
	case <-ctx.Done():
		return 0, false, true
	}
}
