package main

// SIP that carriers and phones require, end to end against the real
// binary with SIPp as the carrier and baresip as the extensions: a late
// offer (INVITE without SDP), reliable provisionals with PRACK both ways,
// session timers (a refresh the box sends, a call the box ends when the
// carrier stops refreshing), and a trunk over TCP.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func sipExtSite(carrier, tcpCarrier int) string {
	return fmt.Sprintf(`version: 1
system: {name: SIP interop, timezone: UTC, office_number: "+15551230000"}
extensions:
  - {number: "101", name: Bob, secret: "bob-interop-secret-101"}
  - {number: "102", name: Sue, secret: "sue-interop-secret-102"}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp, prack: required}
  - {id: tcpcarrier, host: "127.0.0.3:%d", transport: tcp}
outbound:
  - {pattern: "+1212NXXXXXX", trunks: [carrier], permission: national}
  - {pattern: "+1312NXXXXXX", trunks: [tcpcarrier], permission: national}
inbound:
  - {match: "+15551230001", to: "extension:101"}
  - {match: "+15551230002", to: "extension:102"}
`, carrier, tcpCarrier)
}

// sippRun is a SIPp process run in the background to completion: wait
// returns its exit code and output.
type sippRun struct {
	cmd  *exec.Cmd
	dir  string
	out  strings.Builder
	mu   sync.Mutex
	done chan struct{}
	code int
}

func (r *sippRun) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

// startSipp starts SIPp (bounded by timeout) without waiting for it.
func startSipp(t *testing.T, timeout time.Duration, args ...string) *sippRun {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp is required (make test installs sip-tester): %v", err)
	}
	r := &sippRun{dir: t.TempDir(), done: make(chan struct{})}
	full := append([]string{"-k", "5", fmt.Sprint(int(timeout.Seconds())), "sipp"}, args...)
	full = append(full, "-nostdin", "-trace_err", "-error_file", filepath.Join(r.dir, "err.log"),
		"-trace_msg", "-message_file", filepath.Join(r.dir, "messages.log"))
	r.cmd = exec.Command("timeout", full...)
	r.cmd.Dir = r.dir
	r.cmd.Stdout, r.cmd.Stderr = r, r
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() {
		defer close(r.done)
		if err := r.cmd.Wait(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				r.code = ee.ExitCode()
			} else {
				r.code = -1
			}
		}
	}()
	t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	time.Sleep(300 * time.Millisecond) // let it bind
	return r
}

// wait waits for SIPp to finish and returns its exit code and what it
// said (output, errors, messages).
func (r *sippRun) wait(t *testing.T) (int, string) {
	t.Helper()
	<-r.done
	e, _ := os.ReadFile(filepath.Join(r.dir, "err.log"))
	m, _ := os.ReadFile(filepath.Join(r.dir, "messages.log"))
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.out.String() + string(e) + "\n--- messages ---\n" + string(m)
}

// messages is SIPp's message log so far.
func (r *sippRun) messages() string {
	m, _ := os.ReadFile(filepath.Join(r.dir, "messages.log"))
	return string(m)
}

// TestLateOfferFromACarrier: a carrier's INVITE without SDP reaches Bob;
// the box offers in its 200, takes the answer from the ACK, and audio
// flows: Bob's tone goes out to the carrier, which echoes it, and Bob
// hears it back. A carrier whose ACK carries no answer is hung up on.
func TestLateOfferFromACarrier(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, sipExtSite(carrier, freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-interop-secret-101", box, mediaPorts(t, 100), 1200)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	r := startSipp(t, 40*time.Second, box, "-sf", testdata(t, "uac_late_offer.xml"), "-s", "+15551230001", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "6000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo")
	if code, out := r.wait(t); code != 0 {
		t.Fatalf("late-offer call: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("bob's call did not end with the carrier's BYE")
	}
	time.Sleep(500 * time.Millisecond)
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 1200, 2*time.Second) {
		t.Errorf("bob did not hear his 1200 Hz come back from the carrier (%.0f%% of what he heard): no audio through the late offer",
			100*toneShare(s, rate, 1200))
	}
	if rec := a.waitCDR(a.token("admin"), 1)[0]; rec.Answer.IsZero() || rec.Cause != "normal" {
		t.Errorf("CDR %+v, want answered, ended normally", rec)
	}

	// The ACK without an answer: the box ends the call with a BYE.
	r = startSipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_late_offer_noanswer.xml"), "-s", "+15551230001", "-set", "caller", "+12125550100",
		"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if code, out := r.wait(t); code != 0 {
		t.Fatalf("late offer without an answer: sipp exit %d (the box sent no BYE?)\n%s\n%s", code, out, a.log())
	}
}

// TestPrackWithACarrierThatRequiresIt: Bob calls out through a trunk
// marked prack: required: the INVITE requires 100rel, the box PRACKs the
// carrier's reliable 183 (whose SDP is the answer: the 200 has none) and
// the call has audio. A carrier's INVITE that requires 100rel gets a
// reliable 183 and the 200 only after its PRACK.
func TestPrackWithACarrierThatRequiresIt(t *testing.T) {
	t.Parallel()
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, sipExtSite(carrier, freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-interop-secret-101", box, mediaPorts(t, 100), 1200)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatal("bob's phone did not register")
	}
	far := startSipp(t, 40*time.Second, "-sf", testdata(t, "uas_prack.xml"), "-i", "127.0.0.2", "-p", fmt.Sprint(carrier),
		"-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo", "-m", "1")
	bob.command("dial", "sip:+12125550142@"+box)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		_, out := far.wait(t)
		t.Fatalf("the call through the PRACK trunk was not answered\n%s\n%s", out, a.log())
	}
	time.Sleep(6 * time.Second)
	bob.command("hangup", "")
	if code, out := far.wait(t); code != 0 {
		t.Fatalf("carrier requiring PRACK: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	time.Sleep(500 * time.Millisecond)
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 1200, 2*time.Second) {
		t.Errorf("bob did not hear his 1200 Hz back from the carrier (%.0f%%): the 183's SDP was not used",
			100*toneShare(s, rate, 1200))
	}

	// Inbound: the carrier requires 100rel. Bob answers by hand after a
	// moment, so the box's 183 (ringback) comes first.
	sue := startBaresipMode(t, "102", "sue-interop-secret-102", box, mediaPorts(t, 100), 900, "manual")
	if !sue.waitRegistered(10 * time.Second) {
		t.Fatal("sue's phone did not register")
	}
	in := startSipp(t, 40*time.Second, box, "-sf", testdata(t, "uac_prack.xml"), "-s", "+15551230002", "-set", "caller", "+12125550100",
		"-m", "1", "-d", "3000", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo")
	if _, ok := sue.waitEvent("CALL_INCOMING", 10*time.Second); !ok {
		_, out := in.wait(t)
		t.Fatalf("the call requiring 100rel did not reach sue\n%s\n%s", out, a.log())
	}
	time.Sleep(1500 * time.Millisecond)
	sue.command("accept", "")
	if code, out := in.wait(t); code != 0 {
		t.Fatalf("carrier INVITE requiring 100rel: sipp exit %d\n%s\n%s", code, out, a.log())
	}
}

// TestSessionTimers: two carrier calls with a 90 s session timer. In the
// first the carrier asks the box to refresh: the box's UPDATE comes at
// 45 s and the call goes on. In the second the carrier is to refresh and
// never does: the box ends the call at 60 s, both legs, with the CDR
// cause session_expired.
func TestSessionTimers(t *testing.T) {
	// Mostly waiting on real-time audio and timers: it runs beside the
	// other such tests (their RTP ports are apart), which keeps make test
	// short on two cores.
	t.Parallel()
	if testing.Short() {
		t.Skip("a minute of session timers")
	}
	carrier, carrier2 := freePort(t), freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, sipExtSite(carrier, freePort(t)))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-interop-secret-101", box, mediaPorts(t, 100), 1200)
	sue := startBaresip(t, "102", "sue-interop-secret-102", box, mediaPorts(t, 100), 900)
	if !bob.waitRegistered(10*time.Second) || !sue.waitRegistered(10*time.Second) {
		t.Fatal("phones did not register")
	}
	// baresip hangs up when its microphone file ends (30 s): these calls
	// last a minute and more.
	writeToneWAV(t, filepath.Join(bob.dir, "mic.wav"), 1200, 100)
	writeToneWAV(t, filepath.Join(sue.dir, "mic.wav"), 900, 100)
	start := time.Now()
	refreshed := startSipp(t, 90*time.Second, box, "-sf", testdata(t, "uac_session_timer.xml"), "-s", "+15551230001", "-set", "caller", "+12125550100",
		"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo")
	dead := startSipp(t, 100*time.Second, box, "-sf", testdata(t, "uac_session_expire.xml"), "-s", "+15551230002", "-set", "caller", "+12125550101",
		"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier2), "-mi", "127.0.0.2", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo")
	if code, out := refreshed.wait(t); code != 0 {
		t.Fatalf("call the box refreshes: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if code, out := dead.wait(t); code != 0 {
		t.Fatalf("call the carrier stopped refreshing: sipp exit %d (no BYE from the box?)\n%s\n%s", code, out, a.log())
	}
	if took := time.Since(start); took < 55*time.Second {
		t.Errorf("the unrefreshed call ended after %v, before its session expired", took)
	}
	if _, ok := sue.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Error("sue's leg of the expired call was not hung up")
	}
	var expired bool
	for _, r := range a.waitCDR(a.token("admin"), 2) {
		if r.Caller == "+12125550101" {
			expired = r.Cause == "session_expired" && r.HangupBy == "system"
			if !expired {
				t.Errorf("CDR of the unrefreshed call: cause %q by %q, want session_expired by system", r.Cause, r.HangupBy)
			}
		} else if r.Cause != "normal" {
			t.Errorf("CDR of the refreshed call: cause %q, want normal", r.Cause)
		}
	}
}

// TestTrunkOverTCP: a trunk with transport: tcp: Bob's outside call goes
// to the carrier over TCP and has audio both ways; the carrier's own call
// to a DID, over TCP too, reaches Sue.
func TestTrunkOverTCP(t *testing.T) {
	t.Parallel()
	tcpCarrier := freePort(t)
	a := startServe(t, serveOpt{site: writeSite(t, sipExtSite(freePort(t), tcpCarrier))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	bob := startBaresip(t, "101", "bob-interop-secret-101", box, mediaPorts(t, 100), 1200)
	sue := startBaresip(t, "102", "sue-interop-secret-102", box, mediaPorts(t, 100), 900)
	if !bob.waitRegistered(10*time.Second) || !sue.waitRegistered(10*time.Second) {
		t.Fatal("phones did not register")
	}
	far := startSipp(t, 40*time.Second, "-sf", testdata(t, "uas_answer.xml"), "-t", "t1", "-i", "127.0.0.3", "-p", fmt.Sprint(tcpCarrier),
		"-mi", "127.0.0.3", "-mp", fmt.Sprint(mediaPorts(t, 4)), "-rtp_echo", "-d", "0", "-m", "1")
	bob.command("dial", "sip:+13125550142@"+box)
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		_, out := far.wait(t)
		t.Fatalf("the call over TCP was not answered\n%s\n%s", out, a.log())
	}
	time.Sleep(6 * time.Second)
	bob.command("hangup", "")
	code, out := far.wait(t)
	if code != 0 {
		t.Fatalf("carrier over TCP: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if !strings.Contains(out, "SIP/2.0/TCP") {
		t.Errorf("the carrier saw no Via over TCP:\n%s", out)
	}
	time.Sleep(500 * time.Millisecond)
	s, rate, err := bob.received()
	if err != nil {
		t.Fatal(err)
	}
	if !talked(s, rate, 1200, 2*time.Second) {
		t.Errorf("bob did not hear his 1200 Hz back over the TCP trunk's call (%.0f%%)", 100*toneShare(s, rate, 1200))
	}

	in := startSipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_carrier.xml"), "-t", "t1", "-s", "+15551230002", "-set", "caller", "+13125550100",
		"-m", "1", "-d", "2000", "-i", "127.0.0.3", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.3", "-mp", fmt.Sprint(mediaPorts(t, 4)))
	if code, out := in.wait(t); code != 0 {
		t.Fatalf("carrier call over TCP: sipp exit %d\n%s\n%s", code, out, a.log())
	}
	if sue.countEvents("CALL_ESTABLISHED") != 1 {
		t.Error("the carrier's TCP call did not reach sue")
	}
	var fromTrunk bool
	for _, r := range a.waitCDR(a.token("admin"), 2) {
		if r.Caller == "+13125550100" {
			fromTrunk = r.Trunk == "tcpcarrier"
		}
	}
	if !fromTrunk {
		t.Error("the TCP call was not taken as the tcpcarrier trunk's")
	}
}
