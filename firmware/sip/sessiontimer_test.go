package sip

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
)

func TestParseSessionExpires(t *testing.T) {
	for _, c := range []struct {
		in        string
		interval  time.Duration
		refresher string
		bad       bool
	}{
		{"1800", 1800 * time.Second, "", false},
		{" 90;refresher=uac", 90 * time.Second, "uac", false},
		{"4000 ; Refresher = UAS ; x=1", 4000 * time.Second, "uas", false},
		{"1800;foo", 1800 * time.Second, "", false},
		{"", 0, "", true},
		{"-5", 0, "", true},
		{"18OO", 0, "", true},
		{"99999999999", 0, "", true},
		{"1800;refresher=both", 0, "", true},
	} {
		se, err := parseSessionExpires(c.in)
		if (err != nil) != c.bad {
			t.Errorf("%q: error %v, want bad=%v", c.in, err, c.bad)
			continue
		}
		if !c.bad && (se.interval != c.interval || se.refresher != c.refresher) {
			t.Errorf("%q: %v %q, want %v %q", c.in, se.interval, se.refresher, c.interval, c.refresher)
		}
	}
}

func FuzzParseSessionExpires(f *testing.F) {
	for _, s := range []string{"1800", "90;refresher=uac", "x;refresher=", ";;;", "4294967295;refresher=uas"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		se, err := parseSessionExpires(v)
		if err == nil && (se.interval < 0 || se.refresher != "" && se.refresher != "uac" && se.refresher != "uas") {
			t.Fatalf("%q parsed to %+v", v, se)
		}
		if _, _, err := parseDeltaSeconds(v); err == nil && len(v) == 0 {
			t.Fatal("empty Min-SE accepted")
		}
	})
}

func inviteWith(hdrs ...string) *sipgosip.Request {
	req := sipgosip.NewRequest(sipgosip.INVITE, sipgosip.Uri{Scheme: "sip", User: "100", Host: "127.0.0.1"})
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.AppendHeader(sipgosip.NewHeader(hdrs[i], hdrs[i+1]))
	}
	return req
}

func TestNegotiateUAS(t *testing.T) {
	for _, c := range []struct {
		name      string
		req       *sipgosip.Request
		want      timerAnswer
		wantError bool
	}{
		{"a phone without timers gets none", inviteWith(), timerAnswer{}, false},
		{"supported, no interval: the box's, the caller refreshes",
			inviteWith("Supported", "replaces, timer"), timerAnswer{on: true, interval: sessionInterval}, false},
		{"compact Supported", inviteWith("k", "timer"), timerAnswer{on: true, interval: sessionInterval}, false},
		{"90 asked, the caller refreshes", inviteWith("Supported", "timer", "Session-Expires", "90;refresher=uac"),
			timerAnswer{on: true, interval: 90 * time.Second}, false},
		{"the caller names the box", inviteWith("Supported", "timer", "Session-Expires", "90;refresher=uas"),
			timerAnswer{on: true, interval: 90 * time.Second, weRefresh: true}, false},
		{"a proxy added it for a caller without timers: the box refreshes", inviteWith("Session-Expires", "600"),
			timerAnswer{on: true, interval: 600 * time.Second, weRefresh: true}, false},
		{"too long is shortened to the box's", inviteWith("Supported", "timer", "x", "7200"),
			timerAnswer{on: true, interval: sessionInterval}, false},
		{"never below the request's Min-SE", inviteWith("Supported", "timer", "Session-Expires", "7200", "Min-SE", "3600"),
			timerAnswer{on: true, interval: 3600 * time.Second}, false},
		{"too small: 422", inviteWith("Supported", "timer", "Session-Expires", "60"), timerAnswer{tooSmall: true}, false},
		{"garbage: error", inviteWith("Session-Expires", "soon"), timerAnswer{}, true},
		{"garbage Min-SE: error", inviteWith("Session-Expires", "1800", "Min-SE", "-1"), timerAnswer{}, true},
	} {
		o, err := readTimerOffer(c.req)
		if (err != nil) != c.wantError {
			t.Errorf("%s: error %v", c.name, err)
			continue
		}
		if err != nil {
			continue
		}
		if got := negotiateUAS(o); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestNegotiateUAC(t *testing.T) {
	res := func(se string) *sipgosip.Response {
		r := sipgosip.NewResponse(200, "OK")
		if se != "" {
			r.AppendHeader(sipgosip.NewHeader("Session-Expires", se))
		}
		return r
	}
	for _, c := range []struct {
		se   string
		want timerAnswer
	}{
		{"", timerAnswer{}},
		{"1800;refresher=uac", timerAnswer{on: true, interval: 1800 * time.Second, weRefresh: true}},
		{"900;refresher=uas", timerAnswer{on: true, interval: 900 * time.Second}},
		{"30;refresher=uas", timerAnswer{on: true, interval: minSE}},
	} {
		got, err := negotiateUAC(res(c.se))
		if err != nil || got != c.want {
			t.Errorf("2xx with %q: %+v %v, want %+v", c.se, got, err, c.want)
		}
	}
	if _, err := negotiateUAC(res("x;refresher=uac")); err == nil {
		t.Error("a bad Session-Expires in a 2xx was taken")
	}
}

func TestRefresherParam(t *testing.T) {
	// The box as UAS of the transaction refreshing is "uas"; as UAC, "uac".
	if refresherParam(true, false) != "uas" || refresherParam(false, false) != "uac" ||
		refresherParam(true, true) != "uac" || refresherParam(false, true) != "uas" {
		t.Error("refresher parameter names the wrong side")
	}
}

// TestSessionTimerRefreshesAtHalfTheInterval: as refresher the box
// refreshes at 45 s of a 90 s session, again 45 s after each success, and
// a session whose refreshes all fail ends at 60 s (90 - 30).
func TestSessionTimerRefreshesAtHalfTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var refreshes, expiries atomic.Int32
		var tm *sessionTimer
		var failing atomic.Bool
		tm = newSessionTimer(func() {
			refreshes.Add(1)
			if !failing.Load() {
				tm.reset(90*time.Second, true)
			}
		}, func() { expiries.Add(1) })
		defer tm.stop()
		tm.reset(90*time.Second, true)
		time.Sleep(45*time.Second - time.Millisecond)
		synctest.Wait()
		if refreshes.Load() != 0 {
			t.Fatal("refreshed before half the interval")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if refreshes.Load() != 1 {
			t.Fatalf("%d refreshes at 45 s, want 1", refreshes.Load())
		}
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if refreshes.Load() != 2 || expiries.Load() != 0 {
			t.Fatalf("at 90 s: %d refreshes, %d expiries; want 2 and 0", refreshes.Load(), expiries.Load())
		}
		failing.Store(true) // the far end stops answering refreshes
		time.Sleep(45 * time.Second)
		synctest.Wait()
		if refreshes.Load() != 3 || expiries.Load() != 0 {
			t.Fatalf("at 135 s: %d refreshes, %d expiries; want 3 and 0", refreshes.Load(), expiries.Load())
		}
		time.Sleep(15*time.Second - time.Millisecond)
		synctest.Wait()
		if expiries.Load() != 0 {
			t.Fatal("expired before 60 s after the last refresh")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if expiries.Load() != 1 {
			t.Fatalf("%d expiries 60 s after the last good refresh, want 1", expiries.Load())
		}
	})
}

// TestSessionTimerEndsAnUnrefreshedCall: when the far end refreshes, a
// refresh it sends keeps the call; when none comes the call ends at the
// interval less min(32 s, interval/3): 1768 s of 1800, 60 s of 90.
func TestSessionTimerEndsAnUnrefreshedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var expiries atomic.Int32
		tm := newSessionTimer(func() { t.Error("the box refreshed a session the far end refreshes") }, func() { expiries.Add(1) })
		defer tm.stop()
		tm.reset(sessionInterval, false)
		time.Sleep(1000 * time.Second)
		tm.reset(sessionInterval, false) // the far end's refresh
		time.Sleep(1768*time.Second - time.Millisecond)
		synctest.Wait()
		if expiries.Load() != 0 {
			t.Fatal("ended although refreshed")
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if expiries.Load() != 1 {
			t.Fatal("not ended 1768 s after the last refresh")
		}

		tm2 := newSessionTimer(func() {}, func() { expiries.Add(1) })
		tm2.reset(90*time.Second, false)
		time.Sleep(60 * time.Second)
		synctest.Wait()
		if expiries.Load() != 2 {
			t.Fatal("a 90 s session not ended at 60 s")
		}
		// A call that ended stops its timer: nothing fires later.
		tm3 := newSessionTimer(func() {}, func() { expiries.Add(1) })
		tm3.reset(90*time.Second, true)
		tm3.stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		if expiries.Load() != 2 {
			t.Fatal("a stopped timer fired")
		}
	})
}

// BenchmarkInviteTimerAndPrackHeaders is what reading an INVITE's
// session-timer and 100rel headers adds to each new call.
func BenchmarkInviteTimerAndPrackHeaders(b *testing.B) {
	req := inviteWith("Supported", "replaces, 100rel, timer", "Require", "100rel", "Session-Expires", "1800;refresher=uac", "Min-SE", "90")
	b.ReportAllocs()
	for b.Loop() {
		o, err := readTimerOffer(req)
		if err != nil {
			b.Fatal(err)
		}
		_ = negotiateUAS(o)
		_ = hasOptionTag(req, "Require", "", "100rel")
	}
}
