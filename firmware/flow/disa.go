package flow

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"sync"
	"time"

	"ringbox/audio/tone"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// DISA (direct inward system access, seed 000's "the mobile as an office
// phone"): a caller reaches the disa destination, is recognised as one of
// the site's extensions, hears dial tone and dials; the call then runs as
// if that extension's phone had dialled: extensions, park slots, feature
// codes and outside numbers (through the outbound routes under the
// extension's permission, showing the office number).
//
// Who the caller is: when the caller's number (the From as the trunk sent
// it, else its P-Asserted-Identity) is an extension's mobile or the mobile
// of an agent with an extension (site.ExtensionOfMobile, numbers compared
// with site.SameNumber), that extension, without a PIN. Anyone else is
// asked for the extension number then #, and its PIN then #
// (site.DISAPINOf: the extension's disa_pin, else its agent's pin). Calls
// to disa are rate-limited per caller number (system.disa_attempts per
// system.disa_window); three wrong PINs end the call, audited.
const (
	// DISAPINTries is how many wrong extension/PIN pairs end the call.
	DISAPINTries = 3
	// DISAFirstDigit is how long dial tone (or a prompt, once played)
	// waits for the first key.
	DISAFirstDigit = 15 * time.Second
	// DISANextDigit ends a number when no key follows for this long (#
	// ends it at once).
	DISANextDigit = 4 * time.Second
	// disaMaxDigits bounds what one number may hold.
	disaMaxDigits = 32
)

// disa runs the disa destination.
func (c *Call) disa(ctx context.Context) (string, call.Cause) {
	caller := c.disaCaller()
	key := caller
	if key == "" {
		key = "trunk:" + c.info.Trunk // withheld numbers share their trunk's allowance
	}
	attempts, window := c.snap.Site.System.DISALimit()
	if !c.e.disaGate.allow(key, time.Now(), attempts, window) {
		c.log.Warn("disa rate limit: call refused", "caller", caller, "trunk", c.info.Trunk, "limit", attempts, "window", window)
		c.disaAudit(ctx, "disa.limited", caller, fmt.Sprintf("more than %d calls to disa within %s from %q (trunk %s)", attempts, window, caller, c.info.Trunk))
		return "", call.Forbidden
	}
	if err := c.answer(ctx); err != nil {
		return "", call.CauseOf(err)
	}
	ext := c.snap.Site.ExtensionOfMobile(c.info.From.Number)
	if ext == "" {
		ext = c.snap.Site.ExtensionOfMobile(c.info.Asserted)
	}
	how := "mobile"
	if ext == "" {
		how = "pin"
		var cause call.Cause
		ext, cause = c.disaLogin(ctx)
		if ext == "" {
			return "", cause
		}
	}
	x, ok := c.extension(ext)
	if !ok {
		return "", call.NotFound
	}
	number, gone := c.disaDigits(ctx, "", true)
	if gone {
		return "", c.goneCause(ctx)
	}
	if number == "" {
		return "", call.Normal // dial tone, then nothing dialled
	}
	c.log.Info("disa call", "caller", caller, "extension", ext, "by", how, "number", number)
	c.rec.Path = append(c.rec.Path, "disa:"+ext)
	// From here the call is the extension's: route sees a call from its
	// phone to number, and outbound routing shows the office number.
	c.info.Extension = ext
	c.info.From = call.Party{Number: ext, Name: x.Name}
	c.info.To = number
	c.info.Trunk, c.info.DID = "", ""
	return "", c.route(ctx)
}

// disaCaller is the number the caller is known by for the rate limit and
// the log: the From's when it is a phone number (a withheld number is
// "anonymous" or empty), else the carrier's P-Asserted-Identity; "" for
// neither.
func (c *Call) disaCaller() string {
	for _, n := range []string{c.info.From.Number, c.info.Asserted} {
		if site.SameNumber(n, n) {
			return n
		}
	}
	return ""
}

// disaLogin asks for an extension number and its PIN; after DISAPINTries
// wrong pairs (or silences) it logs, audits and ends the call.
func (c *Call) disaLogin(ctx context.Context) (string, call.Cause) {
	caller := c.disaCaller()
	for try := 1; ; try++ {
		ext, gone := c.disaDigits(ctx, "disa-extension", false)
		if gone {
			return "", c.goneCause(ctx)
		}
		pin := ""
		if ext != "" {
			pin, gone = c.disaDigits(ctx, "disa-pin", false)
			if gone {
				return "", c.goneCause(ctx)
			}
		}
		want := c.snap.Site.DISAPINOf(ext)
		if want != "" && pin != "" && subtle.ConstantTimeCompare([]byte(pin), []byte(want)) == 1 {
			return ext, call.Normal
		}
		// The PIN itself is never logged.
		c.log.Warn("disa: wrong extension or pin", "caller", caller, "extension", ext, "try", try)
		if try >= DISAPINTries {
			c.disaAudit(ctx, "disa.refused", caller, fmt.Sprintf("%d wrong extension/PIN tries from %q (trunk %s), last for extension %q", try, caller, c.info.Trunk, ext))
			if err := c.play(ctx, false, "goodbye"); err != nil {
				return "", call.CauseOf(err)
			}
			return "", call.Forbidden
		}
		if err := c.play(ctx, false, "invalid-option"); err != nil {
			return "", call.CauseOf(err)
		}
	}
}

// disaDigits plays prompt (a key cuts it short), or dial tone when prompt
// is "", and waits DISAFirstDigit for the first key; then it reads keys
// until #, DISANextDigit of silence or disaMaxDigits. anyKey lets * through
// (feature codes); otherwise only digits count. gone: the caller left.
func (c *Call) disaDigits(ctx context.Context, prompt string, anyKey bool) (string, bool) {
	var first byte
	var ok, gone bool
	if prompt == "" {
		first, ok, gone = c.toneUntilKey(ctx, tone.Dial, DISAFirstDigit)
	} else {
		if err := c.play(ctx, true, prompt); err != nil {
			return "", true
		}
		first, ok, gone = c.nextDigit(ctx, DISAFirstDigit)
	}
	if gone || !ok {
		return "", gone
	}
	var b strings.Builder
	for d := first; ; {
		switch {
		case d == '#':
			return b.String(), false
		case d >= '0' && d <= '9', anyKey && d == '*':
			b.WriteByte(d)
		}
		if b.Len() >= disaMaxDigits {
			return b.String(), false
		}
		d, ok, gone = c.nextDigit(ctx, DISANextDigit)
		if gone {
			return "", true
		}
		if !ok {
			return b.String(), false
		}
	}
}

// toneUntilKey plays tone k while it waits up to wait for a key.
func (c *Call) toneUntilKey(ctx context.Context, k tone.Kind, wait time.Duration) (key byte, ok, gone bool) {
	z, err := tone.Zone(c.snap.Site.System.Zone())
	if err != nil {
		return c.nextDigit(ctx, wait)
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// A tone that ends (a cadence without repeat) starts again.
		for pctx.Err() == nil {
			if err := c.in.Media().Play(pctx, z.Source(k, rateOf(c.in.Media())), true); err != nil {
				return
			}
			if len(c.in.Media().Digits()) > 0 {
				return // barged in: the key is nextDigit's
			}
		}
	}()
	key, ok, gone = c.nextDigit(ctx, wait)
	cancel()
	<-done
	return key, ok, gone
}

func (c *Call) disaAudit(ctx context.Context, action, caller, detail string) {
	if c.e.Audit == nil {
		return
	}
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.e.Audit(actx, "sip", action, caller, detail); err != nil {
		c.log.Error("audit", "action", action, "err", err)
	}
}

// disaGate counts calls to disa per caller number, for the rate limit of
// system.disa_attempts per system.disa_window.
type disaGate struct {
	mu    sync.Mutex // protects seen
	seen  map[string][]time.Time
	sweep time.Time // when old entries were last dropped
}

// allow records a call from key at now and reports whether it is within
// attempts per window.
func (g *disaGate) allow(key string, now time.Time, attempts int, window time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.seen == nil {
		g.seen = map[string][]time.Time{}
	}
	if now.Sub(g.sweep) > window {
		// Forget callers whose calls are all out of the window, so that
		// many different numbers cannot grow the map for ever.
		for k, ts := range g.seen {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= window {
				delete(g.seen, k)
			}
		}
		g.sweep = now
	}
	ts := g.seen[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= window {
		i++
	}
	ts = ts[i:]
	if len(ts) >= attempts {
		g.seen[key] = ts
		return false
	}
	g.seen[key] = append(ts, now)
	return true
}
