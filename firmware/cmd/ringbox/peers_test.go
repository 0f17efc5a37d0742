package main

// Real SIP peers for the end-to-end tests: baresip (a softphone) driven
// through its ctrl_tcp module, and SIPp scenarios.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeToneWAV writes an 8 kHz mono 16-bit WAV of a sine at hz.
func writeToneWAV(t *testing.T, path string, hz float64, secs float64) {
	t.Helper()
	writeToneWAVRate(t, path, hz, secs, 8000)
}

// writeToneWAVRate writes a mono 16-bit WAV of a sine at hz, rate samples
// a second.
func writeToneWAVRate(t *testing.T, path string, hz float64, secs float64, rate int) {
	t.Helper()
	n := int(float64(rate) * secs)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(2 * rate), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(2*n))
	for i := 0; i < n; i++ {
		binary.Write(&b, binary.LittleEndian, int16(8000*math.Sin(2*math.Pi*hz*float64(i)/float64(rate))))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readWAV16 returns the samples of a 16-bit PCM WAV (any header layout).
func readWAV16(path string) ([]int16, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	if len(data) < 12 || string(data[:4]) != "RIFF" {
		return nil, 0, fmt.Errorf("%s: not a WAV file", path)
	}
	rate := 8000
	for p := 12; p+8 <= len(data); {
		id, size := string(data[p:p+4]), int(binary.LittleEndian.Uint32(data[p+4:]))
		body := data[p+8:]
		if size > len(body) {
			size = len(body)
		}
		switch id {
		case "fmt ":
			rate = int(binary.LittleEndian.Uint32(body[4:]))
		case "data":
			s := make([]int16, size/2)
			for i := range s {
				s[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return s, rate, nil
		}
		p += 8 + size + size%2
	}
	return nil, 0, fmt.Errorf("%s: no data chunk", path)
}

// heard checks what p's phone received: at least minSecs of audio, most
// of it the tone hz the other side plays (the call carried it through).
func (p *baresip) heard(t *testing.T, hz, minSecs float64) {
	t.Helper()
	s, rate, err := p.received()
	if err != nil {
		t.Fatal(err)
	}
	if secs := float64(len(s)) / float64(rate); secs < minSecs {
		t.Errorf("%s heard only %.1fs of audio, want %.0fs", p.user, secs, minSecs)
	}
	if share := toneShare(s, rate, hz); share < 0.5 {
		t.Errorf("%s: %.0f Hz is %.0f%% of what it heard (at %d Hz), want the other side's tone to dominate", p.user, hz, 100*share, rate)
	}
}

// toneShare is the share of the signal's energy at hz (Goertzel over 20 ms
// blocks, summed), from 0 to 1.
func toneShare(s []int16, rate int, hz float64) float64 {
	block := rate / 50
	var at, total float64
	for off := 0; off+block <= len(s); off += block {
		x := s[off : off+block]
		k := 2 * math.Cos(2*math.Pi*hz/float64(rate))
		var s1, s2, e float64
		for _, v := range x {
			f := float64(v)
			s0 := f + k*s1 - s2
			s2, s1 = s1, s0
			e += f * f
		}
		p := s1*s1 + s2*s2 - k*s1*s2
		at += 2 * p / float64(block)
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}

// Media ports for the tests' peers (baresip's rtp_ports, SIPp's -mp) are
// handed out from 61000-65534 so that tests running in parallel never share
// one: above Linux's ephemeral range (32768-60999, where freePort's ports
// and outgoing connections land), away from the appliances' 24000-24998
// and from the ranges other packages' tests use beside this one. Blocks
// are handed out in turn, wrapping around, and a block any of whose ports
// is bound on any address is skipped.
const mediaPortLo, mediaPortHi = 61000, 65534

var (
	mediaPortMu   sync.Mutex
	mediaPortNext = mediaPortLo
)

// mediaPorts returns the first of n consecutive UDP ports (n rounded up to
// even, the first even) for one test's media: a baresip's rtpLo takes 100
// (its range is rtpLo..rtpLo+99), a SIPp -mp 4 (audio and video, each with
// RTCP).
func mediaPorts(t *testing.T, n int) int {
	t.Helper()
	n += n % 2
	mediaPortMu.Lock()
	defer mediaPortMu.Unlock()
	for tries := 0; tries < (mediaPortHi-mediaPortLo)/2; tries++ {
		if mediaPortNext+n > mediaPortHi {
			mediaPortNext = mediaPortLo
		}
		p := mediaPortNext
		mediaPortNext += n
		if udpPortsFree(p, n) {
			return p
		}
	}
	t.Fatalf("no %d free media ports in %d-%d", n, mediaPortLo, mediaPortHi)
	return 0
}

// udpPortsFree says whether n UDP ports from p are free on every address
// (a wildcard bind fails while any address holds the port).
func udpPortsFree(p, n int) bool {
	for i := 0; i < n; i++ {
		u, err := net.ListenPacket("udp4", fmt.Sprintf("0.0.0.0:%d", p+i))
		if err != nil {
			return false
		}
		u.Close()
	}
	return true
}

// baresip is one headless baresip softphone.
type baresip struct {
	t    *testing.T
	dir  string
	user string
	sip  int
	cmd  *exec.Cmd
	conn net.Conn
	rd   *bufio.Reader

	mu     sync.Mutex
	events []map[string]any
	log    bytes.Buffer
}

// startBaresip registers user/pass at registrar (host:port) and answers
// calls automatically; it sends a tone at toneHz and records what it hears.
func startBaresip(t *testing.T, user, pass, registrar string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	return startBaresipMode(t, user, pass, registrar, rtpLo, toneHz, "auto")
}

// startBaresipMode is startBaresip with baresip's answermode: "auto"
// answers at once, "manual" rings until told to accept or hang up.
func startBaresipMode(t *testing.T, user, pass, registrar string, rtpLo int, toneHz float64, answer string) *baresip {
	t.Helper()
	acct := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=%s;regint=300;audio_codecs=PCMU,PCMA\n", user, registrar, pass, answer)
	return startBaresipAt(t, "127.0.0.1", user, acct, rtpLo, toneHz)
}

// startBaresipCarrier is a carrier's phone: baresip on ip (a trunk's host),
// not registered anywhere, sending a tone at toneHz and recording what it
// hears. The box takes its calls as coming from that trunk.
func startBaresipCarrier(t *testing.T, ip string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	acct := fmt.Sprintf("<sip:carrier@%s>;regint=0;answermode=auto;audio_codecs=PCMU,PCMA\n", ip)
	return startBaresipAt(t, ip, "carrier", acct, rtpLo, toneHz)
}

// startBaresipG722Carrier is startBaresipCarrier with a phone that speaks
// G.722 only (wideband: its microphone runs at 16 kHz).
func startBaresipG722Carrier(t *testing.T, ip string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	acct := fmt.Sprintf("<sip:carrier@%s>;regint=0;answermode=auto;audio_codecs=G722/16000/1\n", ip)
	return startBaresipRate(t, ip, "carrier", acct, rtpLo, toneHz, 16000)
}

// startBaresipAt runs baresip on ip with one account line.
func startBaresipAt(t *testing.T, ip, user, acct string, rtpLo int, toneHz float64) *baresip {
	t.Helper()
	return startBaresipRate(t, ip, user, acct, rtpLo, toneHz, 8000)
}

// startBaresipRate runs baresip with a microphone tone at rate (baresip's
// file source must run at the codec's rate).
func startBaresipRate(t *testing.T, ip, user, acct string, rtpLo int, toneHz float64, rate int) *baresip {
	t.Helper()
	return startBaresipConf(t, ip, user, acct, rtpLo, toneHz, rate, "")
}

// startBaresipConf is startBaresipRate with extra lines for baresip's
// config (modules, TLS settings).
func startBaresipConf(t *testing.T, ip, user, acct string, rtpLo int, toneHz float64, rate int, extra string) *baresip {
	t.Helper()
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatalf("baresip is required (make test installs it): %v", err)
	}
	// baresip binds SIP on UDP and TCP at its port and TLS at port+1.
	sipPort := freePorts(t, 3)
	b := &baresip{t: t, dir: t.TempDir(), user: user, sip: sipPort}
	ctrl := freePort(t)
	for ctrl >= sipPort && ctrl <= sipPort+2 {
		ctrl = freePort(t)
	}
	os.MkdirAll(filepath.Join(b.dir, "rec"), 0o755)
	mic := filepath.Join(b.dir, "mic.wav")
	writeToneWAVRate(t, mic, toneHz, 30, rate)
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen %s:%d
sip_trans_def udp
net_interface %s
call_local_timeout 120
call_max_calls 4
audio_player aubridge,nowhere
audio_source aufile,%s
audio_alert aubridge,nowhere
audio_level no
ausrc_format s16
auplay_format s16
auenc_format s16
audec_format s16
audio_buffer 20-160
rtp_ports %d-%d
rtcp_mux no
jitter_buffer_delay 5-10
module_path /usr/lib/baresip/modules
module g711.so
module g722.so
module aufile.so
module aubridge.so
module sndfile.so
module ctrl_tcp.so
module_app account.so
module_app contact.so
module_app menu.so
ctrl_tcp_listen 127.0.0.1:%d
snd_path %s
%s`, ip, b.sip, ip, mic, rtpLo, rtpLo+99, ctrl, filepath.Join(b.dir, "rec"), extra)
	os.WriteFile(filepath.Join(b.dir, "config"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(b.dir, "accounts"), []byte(acct), 0o600)
	os.WriteFile(filepath.Join(b.dir, "contacts"), nil, 0o644)
	b.cmd = exec.Command("baresip", "-f", b.dir)
	b.cmd.Stdout, b.cmd.Stderr = &lockedWriter{b: b}, &lockedWriter{b: b}
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		b.cmd.Wait()
		if t.Failed() {
			b.mu.Lock()
			t.Logf("baresip %s output:\n%s", user, b.log.String())
			b.mu.Unlock()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", ctrl))
		if err == nil {
			b.conn, b.rd = c, bufio.NewReader(c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip %s control port never opened", user)
		}
		time.Sleep(50 * time.Millisecond)
	}
	go b.readLoop()
	return b
}

type lockedWriter struct{ b *baresip }

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.b.log.Write(p)
}

func (b *baresip) readLoop() {
	for {
		n, err := b.rd.ReadString(':')
		if err != nil {
			return
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, ":"))
		if err != nil {
			return
		}
		msg := make([]byte, size+1)
		if _, err := io_ReadFull(b.rd, msg); err != nil {
			return
		}
		var m map[string]any
		if json.Unmarshal(msg[:size], &m) == nil {
			b.mu.Lock()
			b.events = append(b.events, m)
			b.mu.Unlock()
		}
	}
}

func io_ReadFull(r *bufio.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// command sends a ctrl_tcp command.
func (b *baresip) command(cmd, params string) {
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	fmt.Fprintf(b.conn, "%d:%s,", len(body), body)
}

// countEvents counts the events of type typ seen so far.
func (b *baresip) countEvents(typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.events {
		if e["type"] == typ {
			n++
		}
	}
	return n
}

// waitEvent waits for an event of type typ and returns it.
func (b *baresip) waitEvent(typ string, d time.Duration) (map[string]any, bool) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		for _, e := range b.events {
			if e["type"] == typ {
				b.mu.Unlock()
				return e, true
			}
		}
		b.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	return nil, false
}

// waitRegistered waits until baresip says its account registered (the
// event may come before the control connection is up, so read its output).
func (b *baresip) waitRegistered(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if b.outputContains("200 OK") && b.outputContains(" binding") {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

func (b *baresip) outputContains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.log.String(), s)
}

// received returns the audio baresip decoded from the call (its sndfile
// "-dec.wav" dump).
func (b *baresip) received() ([]int16, int, error) {
	files, _ := filepath.Glob(filepath.Join(b.dir, "rec", "*-dec.wav"))
	if len(files) == 0 {
		return nil, 0, fmt.Errorf("baresip %s recorded no audio", b.user)
	}
	// The newest file: sndfile names them by time to the second only, so
	// two calls in one second would sort by whatever follows.
	newest, at := files[0], time.Time{}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(at) {
			newest, at = f, fi.ModTime()
		}
	}
	return readWAV16(newest)
}

// sipp runs a SIPp scenario to completion and returns its exit code and
// output.
func sipp(t *testing.T, timeout time.Duration, args ...string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp is required (make test installs sip-tester): %v", err)
	}
	dir := t.TempDir()
	full := append([]string{fmt.Sprint(int(timeout.Seconds())), "sipp"}, args...)
	full = append(full, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "err.log"))
	cmd := exec.Command("timeout", append([]string{"-k", "5"}, full...)...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	errLog, _ := os.ReadFile(filepath.Join(dir, "err.log"))
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("sipp: %v", err)
	}
	return code, out.String() + string(errLog)
}
