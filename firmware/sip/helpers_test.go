package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/events"
	"ringbox/firmware/media"
	"ringbox/firmware/sip/digest"
	"ringbox/firmware/site"
)

const testRealm = "ringbox.test"

var portMu sync.Mutex
var usedPorts = map[int]bool{}

// freePort finds a port free for both UDP and TCP on 127.0.0.1 in
// [lo, hi), never handing the same one out twice in this process.
func freePort(t testing.TB, lo, hi int) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	start := lo + rand.IntN(hi-lo)
	for i := 0; i < hi-lo; i++ {
		p := lo + (start-lo+i)%(hi-lo)
		if p%2 == 1 || usedPorts[p] {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			u.Close()
			continue
		}
		// Also the next ports: SIPp and baresip use port+1 for RTCP/TCP,
		// SIPp's video stream port+2 and +3.
		ok := true
		for k := 1; k <= 3 && ok; k++ {
			u2, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+k))
			if err != nil {
				ok = false
				break
			}
			u2.Close()
		}
		u.Close()
		l.Close()
		if !ok {
			continue
		}
		usedPorts[p] = true
		return p
	}
	t.Fatalf("no free port in [%d,%d)", lo, hi)
	return 0
}

// mediaPort is a SIPp media port (it binds 4 from there).
func mediaPort(t testing.TB) int {
	for {
		p := freePort(t, 26000, 27990)
		if p%4 == 0 {
			return p
		}
	}
}

func testAccounts() map[string]string {
	return map[string]string{"1001": "secret1001", "1002": "secret1002", "1003": "secret1003", "101": "secret101"}
}

type testEnv struct {
	s      *Server
	addr   string // 127.0.0.1:port
	port   int
	bus    *events.Bus
	siteMu sync.Mutex
	site   *site.Site
	audits chan string
	calls  chan testCall
}

type testCall struct {
	leg  call.Leg
	info CallInfo
}

type envOpt func(*Config)

func newEnv(t testing.TB, handler Handler, opts ...envOpt) *testEnv {
	t.Helper()
	return newEnvMedia(t, 30*time.Second, handler, opts...)
}

// newEnvMedia is newEnv with the RTP inactivity timeout given.
func newEnvMedia(t testing.TB, mediaTimeout time.Duration, handler Handler, opts ...envOpt) *testEnv {
	t.Helper()
	port := freePort(t, 15000, 19990)
	mediaLo := freePort(t, 21000, 25900)
	eng, err := media.NewEngine(media.Config{IP: netip.MustParseAddr("127.0.0.1"), PortMin: mediaLo, PortMax: mediaLo + 100, Timeout: mediaTimeout})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{port: port, addr: fmt.Sprintf("127.0.0.1:%d", port), bus: events.New(),
		site: &site.Site{}, audits: make(chan string, 16), calls: make(chan testCall, 16)}
	accts := testAccounts()
	cfg := Config{
		ListenAddr: env.addr,
		Realm:      testRealm,
		UserAgent:  "Ringbox/test",
		Lookup: func(ext string) (Account, bool) {
			pw, ok := accts[ext]
			if !ok {
				return Account{}, false
			}
			perm := site.PermNational
			if ext == "1003" {
				perm = site.PermInternational
			}
			return Account{Extension: ext, Permission: perm, Name: "User " + ext, Mailbox: true,
				HA1MD5:    digest.HA1(digest.MD5, ext, testRealm, pw),
				HA1SHA256: digest.HA1(digest.SHA256, ext, testRealm, pw)}, true
		},
		Site: func() *site.Site {
			env.siteMu.Lock()
			defer env.siteMu.Unlock()
			return env.site
		},
		Media:        eng,
		Handler:      handler,
		Bus:          env.bus,
		Logger:       slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		TrunkTimeout: 3 * time.Second,
		TrunkRetry:   time.Second,
	}
	for _, o := range opts {
		o(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.s = s
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { eng.Run(ctx); close(engDone) }()
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	waitListening(t, env.addr)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return")
		}
		<-engDone
	})
	return env
}

func (e *testEnv) setSite(st *site.Site) {
	e.siteMu.Lock()
	e.site = st
	e.siteMu.Unlock()
}

// testWriter sends logs to t.Log, but only while the test runs.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	if os.Getenv("SIP_TEST_LOG") != "" {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server not listening on %s", addr)
}

// scenario is the absolute path of a SIPp scenario in testdata (the
// harness scenarios of the project notes are copied there).
func scenario(t testing.TB, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("scenario %s: %v", name, err)
	}
	return p
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s is required for this test (make test installs it): %v", name, err)
	}
}

// sippProc is a SIPp process.
type sippProc struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan struct{}
	err  error
	port int
}

// startSipp runs SIPp in dir (a temp dir) bounded by timeout -k 5 60.
func startSipp(t *testing.T, args ...string) *sippProc {
	t.Helper()
	return startSippIn(t, t.TempDir(), args...)
}

// startSippIn runs SIPp with dir as its working directory.
func startSippIn(t *testing.T, dir string, args ...string) *sippProc {
	t.Helper()
	needTool(t, "sipp")
	full := append([]string{"-k", "5", "60", "sipp"}, args...)
	full = append(full, "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "err.log"))
	p := &sippProc{cmd: exec.Command("timeout", full...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	// Own process group: killing `timeout` alone would leave SIPp holding
	// the output pipe.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p.cmd.WaitDelay = 2 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start sipp: %v", err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.kill()
			<-p.done
		}
		if t.Failed() {
			errs, _ := os.ReadFile(filepath.Join(dir, "err.log"))
			t.Logf("sipp %v output:\n%s\nerrors:\n%s", args, lastLines(p.out.String(), 30), lastLines(string(errs), 30))
		}
	})
	return p
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (p *sippProc) kill() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }

// wait returns SIPp's exit code.
func (p *sippProc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		p.kill()
		<-p.done
		t.Fatalf("sipp still running after %v", d)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("sipp: %v", p.err)
	}
	return 0
}

func runSipp(t *testing.T, args ...string) int {
	t.Helper()
	return startSipp(t, args...).wait(t, 70*time.Second)
}

func itoa(i int) string { return strconv.Itoa(i) }

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", d, what)
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

type netipAddrPort = netip.AddrPort
type mediaStats = media.Stats
