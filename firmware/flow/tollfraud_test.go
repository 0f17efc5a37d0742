package flow

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/call/calltest"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
)

// Six international attempts from one extension within ten minutes: the
// sixth raises a security.toll_fraud alert on the bus, in the audit log
// and by e-mail to system.alert_email, while the calls themselves are
// refused (101 is national).
func TestTollFraudBurstAlerts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := testSite()
		s.System.AlertEmail = "admin@example.com"
		s.System.SMTP = &site.SMTP{Host: "mail.example.com:25", From: "pbx@example.com"}
		cfg, err := config.New(s, 1)
		if err != nil {
			t.Fatal(err)
		}
		bus := events.New()
		sub := bus.Subscribe(16, events.Filter("security."))
		defer sub.Close()
		var mu sync.Mutex
		var audit, mails []string
		d := calltest.NewDialer()
		e := &Engine{Config: cfg, Dialer: d, Bridger: calltest.Bridger{}, CDR: &cdrs{}, Bus: bus,
			Audit: func(_ context.Context, _, action, object, _ string) error {
				mu.Lock()
				audit = append(audit, action+" "+object)
				mu.Unlock()
				return nil
			},
			AlertMail: func(_ context.Context, relay site.SMTP, to, subject, text string) error {
				mu.Lock()
				mails = append(mails, to+" "+subject+" "+text)
				mu.Unlock()
				return nil
			},
		}
		for i := range 6 {
			caller := calltest.NewLeg("bob")
			e.Handle(t.Context(), caller, Inbound{CallID: "tf" + string(rune('0'+i)), To: "01144207123456", Extension: "101"})
			if c := caller.HangupCause(); c != call.Forbidden {
				t.Fatalf("attempt %d ended %v, want forbidden", i, c)
			}
			time.Sleep(time.Minute)
		}
		if err := e.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(d.Dials()) != 0 {
			t.Errorf("dials %+v", d.Dials())
		}
		select {
		case ev := <-sub.C():
			a, ok := ev.Data.(events.TollFraudAlert)
			if !ok || a.Kind != "international_burst" || a.Extension != "101" || a.Count != 6 || a.Class != "international" {
				t.Errorf("event %+v", ev.Data)
			}
		default:
			t.Fatal("no security.toll_fraud event")
		}
		mu.Lock()
		defer mu.Unlock()
		if n := strings.Count(strings.Join(audit, "\n"), "call.forbidden"); n != 6 || !strings.Contains(strings.Join(audit, "\n"), "tollfraud.international_burst 01144207123456") {
			t.Errorf("audit %v, want 6 refusals and the burst", audit)
		}
		if len(mails) != 1 || !strings.HasPrefix(mails[0], "admin@example.com ") || !strings.Contains(mails[0], "international_burst") {
			t.Errorf("mails %q, want one alert to admin@example.com", mails)
		}
	})
}
