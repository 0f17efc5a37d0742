package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// browserPhoneSite: agent ann takes calls only in her browser (no
// extension), in queue sales, which the DID reaches from the carrier.
func browserPhoneSite(t *testing.T, carrierPort int) string {
	t.Helper()
	y := fmt.Sprintf(`version: 1
system: {name: Browser phone E2E, timezone: UTC}
agents:
  - {id: ann, name: Ann Agent, ring_preference: browser}
queues:
  - {id: sales, name: Sales, agents: [ann], agent_ring: 15s, wrapup: 1s, on_empty: hangup}
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
inbound:
  - {match: "+15551230000", to: queue:sales}
users:
  - {login: installer, role: admin, password: "Correct-Horse-Battery-42"}
  - {login: ann, role: agent, agent: ann, password: "Anns-Browser-Phone-42"}
`, carrierPort)
	p := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// carrierMedia is the carrier's RTP endpoint: it keeps the PCMU audio the
// box sends and, once the box has sent something, answers with a tone.
type carrierMedia struct {
	conn *net.UDPConn
	mu   sync.Mutex
	got  []int16   // decoded audio from the box
	at   []float64 // seconds since start, per 20 ms packet
	sent int
}

func startCarrierMedia(t *testing.T, ip string, toneHz float64) (*carrierMedia, int) {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	m := &carrierMedia{conn: c}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); c.Close() })
	start := time.Now()
	var peer *net.UDPAddr
	var pmu sync.Mutex
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n < 12 || buf[1]&0x7f != 0 {
				continue // not PCMU (a keypad event, RTCP)
			}
			pmu.Lock()
			peer = from
			pmu.Unlock()
			m.mu.Lock()
			for _, b := range buf[12:n] {
				m.got = append(m.got, ulawDecode(b))
			}
			m.at = append(m.at, time.Since(start).Seconds())
			m.mu.Unlock()
		}
	}()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		pkt := make([]byte, 12+160)
		ssrc := uint32(0x5ca11e12)
		var seq uint16
		var ts uint32
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			pmu.Lock()
			to := peer
			pmu.Unlock()
			if to == nil {
				continue
			}
			pkt[0], pkt[1] = 0x80, 0
			binary.BigEndian.PutUint16(pkt[2:], seq)
			binary.BigEndian.PutUint32(pkt[4:], ts)
			binary.BigEndian.PutUint32(pkt[8:], ssrc)
			for i := 0; i < 160; i++ {
				v := 8000 * math.Sin(2*math.Pi*toneHz*float64(ts+uint32(i))/8000)
				pkt[12+i] = ulawEncode(int16(v))
			}
			seq++
			ts += 160
			if _, err := c.WriteToUDP(pkt, to); err == nil {
				m.mu.Lock()
				m.sent++
				m.mu.Unlock()
			}
		}
	}()
	return m, c.LocalAddr().(*net.UDPAddr).Port
}

// bestTone is the highest share of energy at hz over any 1 s of what the
// box sent, and how many packets came.
func (m *carrierMedia) bestTone(hz float64) (share float64, packets int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for off := 0; off+8000 <= len(m.got); off += 1600 {
		share = max(share, toneShare(m.got[off:off+8000], 8000, hz))
	}
	return share, len(m.at)
}

func ulawDecode(u byte) int16 {
	u = ^u
	t := (int(u&0x0f) << 3) + 0x84
	t <<= (u & 0x70) >> 4
	if u&0x80 != 0 {
		return int16(0x84 - t)
	}
	return int16(t - 0x84)
}

func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	sign := 0
	if v < 0 {
		v, sign = -v, 0x80
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

// officeLAN makes sure the machine has a network besides loopback, as an
// office does: Chromium and the box (on its defaults) offer ICE host
// candidates only on such interfaces, never on loopback. In a private
// network namespace with only lo (how the tests run), it adds a veth pair
// with 10.203.0.1/24, as root; elsewhere it uses what is there.
func officeLAN(t *testing.T) {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback != 0 || i.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := i.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && n.IP.IsGlobalUnicast() {
				return
			}
		}
	}
	if len(ifs) != 1 || os.Geteuid() != 0 {
		t.Fatalf("the browser phone test needs a network interface besides loopback (or root in a private network namespace, where it makes one); have %v", ifs)
	}
	for _, args := range [][]string{
		{"link", "add", "rbxlan0", "type", "veth", "peer", "name", "rbxlan1"},
		{"addr", "add", "10.203.0.1/24", "dev", "rbxlan0"},
		{"link", "set", "rbxlan1", "up"},
		{"link", "set", "rbxlan0", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { exec.Command("ip", "link", "del", "rbxlan0").Run() })
}

// phonePage runs web/e2e/browserphone.mjs; the test talks to it line by
// line (see the script).
type phonePage struct {
	t      *testing.T
	cmd    *exec.Cmd
	in     *os.File
	lines  chan string
	out    strings.Builder
	mu     sync.Mutex
	result map[string]any
	done   chan error
}

func startPhonePage(t *testing.T, a *appliance, login, password string, env ...string) *phonePage {
	t.Helper()
	node, dir := browserScripts(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	p := &phonePage{t: t, lines: make(chan string, 100), done: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, node, "browserphone.mjs")
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), append([]string{"BASE_URL=" + a.base, "AGENT_LOGIN=" + login, "AGENT_PASSWORD=" + password}, env...)...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdin, p.in = r, w
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			l := sc.Text()
			p.mu.Lock()
			p.out.WriteString(l + "\n")
			p.mu.Unlock()
			if res, ok := strings.CutPrefix(l, "result "); ok {
				var m map[string]any
				json.Unmarshal([]byte(res), &m)
				p.mu.Lock()
				p.result = m
				p.mu.Unlock()
			}
			p.lines <- l
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { w.Close(); p.cmd.Process.Kill() })
	return p
}

func (p *phonePage) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitLine waits for the script to print want.
func (p *phonePage) waitLine(want string, d time.Duration) {
	p.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case l := <-p.lines:
			if l == want {
				return
			}
		case err := <-p.done:
			p.t.Fatalf("browserphone.mjs ended (%v) before %q:\n%s", err, want, p.output())
		case <-deadline:
			p.t.Fatalf("browserphone.mjs did not say %q within %v:\n%s", want, d, p.output())
		}
	}
}

// wait waits for the script to end and returns what it measured.
func (p *phonePage) wait(d time.Duration) map[string]any {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.t.Logf("browserphone.mjs:\n%s", p.output())
		if err != nil {
			p.t.Fatalf("the browser phone failed: %v", err)
		}
	case <-time.After(d):
		p.t.Fatalf("browserphone.mjs still running after %v:\n%s", d, p.output())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.result
}

// TestBrowserPhoneTakesACarrierCall: agent ann, whose ring preference is
// her browser, takes a carrier's queue call in the agent page in Chromium
// (a fake microphone playing a 1000 Hz tone) against the real box. The
// banner and a notification show within a second of the INVITE; Accept
// connects the call; the page hears the caller (a 440 Hz tone from the
// carrier's RTP socket) and the carrier hears the browser's 1000 Hz tone;
// hanging up in the page sends the carrier a BYE, and the call record
// says ann answered and for how long.
func TestBrowserPhoneTakesACarrierCall(t *testing.T) {
	// Not parallel: it asserts latencies (under a second) that the
	// load of the tests beside it would break.
	officeLAN(t)
	carrier := freePort(t)
	a := startServe(t, serveOpt{site: browserPhoneSite(t, carrier)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	mic := filepath.Join(t.TempDir(), "mic.wav")
	writeToneWAVRate(t, mic, 1000, 30, 48000)
	media, mport := startCarrierMedia(t, "127.0.0.2", 440)

	page := startPhonePage(t, a, "ann", "Anns-Browser-Phone-42", "MIC_WAV="+mic, "HOLD_MS=3000")
	page.waitLine("ready", 60*time.Second)
	type sippRun struct {
		code int
		out  string
	}
	call := make(chan sippRun, 1)
	invited := time.Now()
	go func() {
		code, out := sipp(t, 60*time.Second, box, "-sf", testdata(t, "uac_carrier_media.xml"), "-s", "+15551230000",
			"-set", "caller", "+12125550100", "-set", "mport", fmt.Sprint(mport),
			"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2")
		call <- sippRun{code, out}
	}()
	fmt.Fprintf(page.in, "call %d\n", invited.UnixMilli())
	res := page.wait(90 * time.Second)

	var c sippRun
	select {
	case c = <-call:
	case <-time.After(10 * time.Second):
		t.Fatalf("the carrier got no BYE within 10 s of hanging up in the page\n%s", a.log())
	}
	if c.code != 0 {
		t.Fatalf("carrier call: sipp exit %d (want a BYE from the box after the page hung up)\n%s", c.code, c.out)
	}
	share, packets := media.bestTone(1000)
	t.Logf("figures: banner %v ms after the INVITE, caller's audio %v ms after Accept (the page's offer left after %v ms), page received %v packets (level %v, %v), sent %v; carrier received %d packets, 1000 Hz share %.2f",
		res["banner_ms"], res["accept_to_audio_ms"], res["accept_to_offer_ms"], res["packets_received"], res["audio_level"], res["codec"], res["packets_sent"], packets, share)
	if share < 0.5 {
		t.Errorf("the carrier did not hear the browser's 1000 Hz tone: best share %.2f over %d packets", share, packets)
	}
	if ms, _ := res["accept_to_audio_ms"].(float64); ms >= 1000 {
		t.Errorf("Accept to audio took %v ms, want under 1 s", ms)
	}

	r := a.waitCDR(a.token("admin"), 1)[0]
	t.Logf("CDR: %+v", r)
	if r.Answer.IsZero() || r.Agent != "ann" || r.Billable <= 0 || r.HangupBy == "" {
		t.Errorf("call record %+v: want answered by agent ann with billable seconds", r)
	}
}

// TestBrowserPhoneDeclineMovesOn: queue sales rings bob's browser first
// (linear), then ann's. Bob declines in his page: ann's page rings at
// once, not after bob's 15 s of ringing; she takes the call. The queue
// log counts bob's decline and the call record says ann answered.
func TestBrowserPhoneDeclineMovesOn(t *testing.T) {
	// Not parallel: it asserts latencies (under a second) that the
	// load of the tests beside it would break.
	officeLAN(t)
	carrier := freePort(t)
	src, err := os.ReadFile(browserPhoneSite(t, carrier))
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(src), "  - {id: ann,", "  - {id: bob, name: Bob Agent, ring_preference: browser}\n  - {id: ann,", 1)
	y = strings.Replace(y, "agents: [ann], agent_ring: 15s,", "strategy: linear, agents: [bob, ann], agent_ring: 15s,", 1)
	y += "  - {login: bob, role: agent, agent: bob, password: \"Bobs-Browser-Phone-42\"}\n"
	site := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(site, []byte(y), 0o600)
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	mic := filepath.Join(t.TempDir(), "mic.wav")
	writeToneWAVRate(t, mic, 1000, 30, 48000)
	_, mport := startCarrierMedia(t, "127.0.0.2", 440)

	bob := startPhonePage(t, a, "bob", "Bobs-Browser-Phone-42", "MIC_WAV="+mic, "MODE=decline")
	ann := startPhonePage(t, a, "ann", "Anns-Browser-Phone-42", "MIC_WAV="+mic, "HOLD_MS=1000", "MAX_BANNER_MS=15000")
	bob.waitLine("ready", 60*time.Second)
	ann.waitLine("ready", 60*time.Second)
	call := make(chan int, 1)
	invited := time.Now()
	go func() {
		code, out := sipp(t, 60*time.Second, box, "-sf", testdata(t, "uac_carrier_media.xml"), "-s", "+15551230000",
			"-set", "caller", "+12125550100", "-set", "mport", fmt.Sprint(mport),
			"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2")
		if code != 0 {
			t.Logf("carrier call: sipp exit %d\n%s", code, out)
		}
		call <- code
	}()
	for _, p := range []*phonePage{bob, ann} {
		fmt.Fprintf(p.in, "call %d\n", invited.UnixMilli())
	}
	rb := bob.wait(60 * time.Second)
	ra := ann.wait(60 * time.Second)
	declined, _ := rb["declined_at"].(float64)
	rang, _ := ra["banner_at"].(float64)
	moved := rang - declined
	t.Logf("figures: bob's banner %v ms after the INVITE; ann's page rang %.0f ms after bob declined; ann heard the caller %v ms after Accept",
		rb["banner_ms"], moved, ra["accept_to_audio_ms"])
	if declined == 0 || rang == 0 || moved < 0 || moved > 1000 {
		t.Errorf("ann's page rang %.0f ms after bob declined, want within 1 s", moved)
	}
	select {
	case code := <-call:
		if code != 0 {
			t.Fatalf("carrier call: sipp exit %d (want a BYE after ann hung up)", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the carrier got no BYE after ann hung up")
	}
	admin := a.token("admin")
	r := a.waitCDR(admin, 1)[0]
	if r.Agent != "ann" || r.Answer.IsZero() {
		t.Errorf("call record %+v: want answered by ann", r)
	}
	ql := ""
	a.waitFor("bob's decline in the queue log", func() bool {
		req, _ := http.NewRequest("GET", a.base+"/api/v1/queuelog", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ql = string(b)
		return regexp.MustCompile(`\|sales\|bob\|RINGNOANSWER\|\d+\|declined`).MatchString(ql) &&
			regexp.MustCompile(`\|sales\|ann\|CONNECT\|`).MatchString(ql)
	})
	t.Logf("queue log:\n%s", ql)
}

// TestBrowserPhoneBlindTransfer: ann takes a carrier's queue call in her
// browser and transfers it with the page's Transfer form to extension 102
// (baresip, answering with a 700 Hz tone). The page says the call was
// transferred and closes its call; the carrier then hears 102; 102's
// hang-up ends the carrier's call; the call record lists ann's blind
// transfer to 102.
func TestBrowserPhoneBlindTransfer(t *testing.T) {
	// Not parallel: it asserts latencies (under a second) that the
	// load of the tests beside it would break.
	officeLAN(t)
	carrier := freePort(t)
	site := browserPhoneSite(t, carrier)
	y, err := os.ReadFile(site)
	if err != nil {
		t.Fatal(err)
	}
	y = []byte(strings.Replace(string(y), "agents:\n", "extensions:\n  - {number: \"102\", name: Dan, secret: \"dan-xfer-secret-102\"}\nagents:\n", 1))
	if err := os.WriteFile(site, y, 0o600); err != nil {
		t.Fatal(err)
	}
	a := startServe(t, serveOpt{site: site})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	dan := startBaresip(t, "102", "dan-xfer-secret-102", box, mediaPorts(t, 100), 700)
	if !dan.waitRegistered(10 * time.Second) {
		t.Fatal("baresip 102 did not register")
	}
	mic := filepath.Join(t.TempDir(), "mic.wav")
	writeToneWAVRate(t, mic, 1000, 30, 48000)
	media, mport := startCarrierMedia(t, "127.0.0.2", 440)

	page := startPhonePage(t, a, "ann", "Anns-Browser-Phone-42", "MIC_WAV="+mic, "HOLD_MS=2000", "TRANSFER_TO=102")
	page.waitLine("ready", 60*time.Second)
	call := make(chan int, 1)
	go func() {
		code, out := sipp(t, 90*time.Second, box, "-sf", testdata(t, "uac_carrier_media.xml"), "-s", "+15551230000",
			"-set", "caller", "+12125550100", "-set", "mport", fmt.Sprint(mport),
			"-m", "1", "-i", "127.0.0.2", "-p", fmt.Sprint(carrier), "-mi", "127.0.0.2")
		if code != 0 {
			t.Logf("carrier sipp:\n%s", out)
		}
		call <- code
	}()
	fmt.Fprintf(page.in, "call %d\n", time.Now().UnixMilli())
	page.wait(90 * time.Second)
	if _, ok := dan.waitEvent("CALL_ESTABLISHED", 15*time.Second); !ok {
		t.Fatalf("102 never got the transferred call\n%s", a.log())
	}
	time.Sleep(3 * time.Second) // the carrier and 102 talk
	dan.command("hangup", "")
	select {
	case code := <-call:
		if code != 0 {
			t.Fatalf("carrier call: sipp exit %d, want the box's BYE after 102 hung up", code)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the carrier got no BYE after 102 hung up\n%s", a.log())
	}
	if share, packets := media.bestTone(700); share < 0.5 {
		t.Errorf("the carrier did not hear 102's 700 Hz tone after the transfer: best share %.2f over %d packets", share, packets)
	}
	rows := waitCDRs[transferCDR](a, a.token("admin"), 1)
	if len(rows[0].Transfers) == 0 {
		t.Fatalf("the call record lists no transfer: %+v", rows[0])
	}
	x := rows[0].Transfers[0]
	t.Logf("CDR transfers: %+v", rows[0].Transfers)
	if x.Kind != "blind" || x.To != "102" {
		t.Errorf("CDR transfer %+v: want a blind transfer to 102", x)
	}
}
