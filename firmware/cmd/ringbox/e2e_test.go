package main

// End-to-end tests: they build the real ringbox binary and run it the way
// an installer does, on loopback, with real SQLite files.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ringbox-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "ringbox")
	build := exec.Command("go", "build", "-o", binPath, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ringbox:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ringbox runs a non-serve subcommand and returns its output and exit code.
func ringbox(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("run ringbox %v: %v", args, err)
	}
	return o.String(), e.String(), 0
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP, for a
// box's or a peer's SIP, HTTP or control port. Ports come in turn from
// 12000-23999, below Linux's ephemeral range (32768-60999): a port the
// kernel handed out for :0 and the test then closed could be taken by any
// outgoing socket of a test running beside it before its owner binds it,
// while nothing binds these unless asked. (Media ports: mediaPorts.)
func freePort(t *testing.T) int {
	t.Helper()
	return freePorts(t, 1)
}

// freePorts returns the first of n consecutive ports free on 127.0.0.1
// for UDP and TCP (a box's SIP and SIP over TLS, a baresip's SIP and
// TLS); the whole block is the caller's, never handed out again.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	freePortMu.Lock()
	defer freePortMu.Unlock()
	free := func(port int) bool {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		defer l.Close()
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return false
		}
		u.Close()
		return true
	}
	for range freePortHi - freePortLo {
		first := freePortNext
		if first+n-1 > freePortHi {
			first = freePortLo
		}
		freePortNext = first + n
		ok := true
		for i := range n {
			if !free(first + i) {
				ok = false
				freePortNext = first + i + 1
				break
			}
		}
		if ok {
			return first
		}
	}
	t.Fatalf("no %d consecutive free ports", n)
	return 0
}

const freePortLo, freePortHi = 12000, 23999

var (
	freePortMu   sync.Mutex
	freePortNext = freePortLo
)

// appliance is a running `ringbox serve`.
type appliance struct {
	t        *testing.T
	cmd      *exec.Cmd
	data     string
	sipPort  int
	httpPort int
	base     string

	mu     sync.Mutex
	output bytes.Buffer
	exited chan struct{}
	err    error
}

type serveOpt struct {
	site     string
	data     string
	rtpPorts string
	extra    []string
	sipPort  int      // 0: a free port (a test that restarts the box may keep its port)
	env      []string // more environment, e.g. SSL_CERT_FILE: the system roots of a box that trusts a test carrier
}

// serve starts ringbox serve and waits until /api/v1/health answers.
func startServe(t *testing.T, o serveOpt) *appliance {
	t.Helper()
	if o.data == "" {
		o.data = t.TempDir()
	}
	a := &appliance{t: t, data: o.data, sipPort: o.sipPort, httpPort: freePort(t), exited: make(chan struct{})}
	if a.sipPort == 0 {
		a.sipPort = freePorts(t, 2) // SIP, and SIP over TLS on the next port
	}
	a.base = fmt.Sprintf("http://127.0.0.1:%d", a.httpPort)
	if o.rtpPorts == "" {
		o.rtpPorts = "24000-24998"
	}
	args := []string{"serve", "--data", o.data, "--board", "sim",
		"--sip", fmt.Sprintf("127.0.0.1:%d", a.sipPort), "--http", fmt.Sprintf("127.0.0.1:%d", a.httpPort),
		"--rtp-ports", o.rtpPorts, "--log-level", "debug", "--config-poll", "200ms"}
	if o.site != "" {
		args = append(args, "--site", o.site)
	}
	args = append(args, o.extra...)
	a.cmd = exec.Command(binPath, args...)
	if o.env != nil {
		a.cmd.Env = append(os.Environ(), o.env...)
	}
	pr, pw := io.Pipe()
	a.cmd.Stdout, a.cmd.Stderr = pw, pw
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			a.mu.Lock()
			a.output.WriteString(sc.Text() + "\n")
			a.mu.Unlock()
		}
	}()
	go func() {
		a.err = a.cmd.Wait()
		pw.Close()
		close(a.exited)
	}()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("ringbox serve output:\n%s", a.log())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-a.exited:
			t.Fatalf("ringbox serve exited early: %v\n%s", a.err, a.log())
		default:
		}
		if r, err := http.Get(a.base + "/api/v1/health"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return a
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ringbox serve did not come up\n%s", a.log())
	return nil
}

func (a *appliance) log() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.output.String()
}

// stop sends SIGTERM and waits; it returns the exit error.
func (a *appliance) stop() error {
	select {
	case <-a.exited:
		return a.err
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(15 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
		a.t.Errorf("ringbox serve did not stop within 15s of SIGTERM")
	}
	return a.err
}

// waitLog waits until the serve output contains s.
func (a *appliance) waitLog(s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if strings.Contains(a.log(), s) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false
}

// token creates an API token with role on the running appliance's data dir.
func (a *appliance) token(role string) string {
	a.t.Helper()
	out, errOut, code := ringbox(a.t, "token", "create", fmt.Sprintf("t-%s-%d", role, time.Now().UnixNano()), "--role", role, "--data", a.data)
	if code != 0 {
		a.t.Fatalf("token create: %d %s", code, errOut)
	}
	return strings.TrimSpace(out)
}

// get does an authenticated GET and decodes JSON into v (if non-nil).
func (a *appliance) get(path, token string, v any) int {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(body, v); err != nil {
			a.t.Fatalf("GET %s: decode %q: %v", path, body, err)
		}
	}
	return resp.StatusCode
}

// demoSite is docs/examples/demo.yaml without the agents' working hours:
// with them, which agents take queue calls depends on the hour the tests
// run at (after 18:00 in New York none of the service queue's agents is on
// hours, and a test that needs one fails every evening).
func demoSite(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/examples/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	lines := strings.Split(string(b), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "    hours:" {
			for i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      - {days:") {
				i++
			}
			continue
		}
		out = append(out, lines[i])
	}
	if len(out) == len(lines) {
		t.Fatal("demo.yaml has no agents' hours to take out: update demoSite")
	}
	p := filepath.Join(t.TempDir(), "demo.yaml")
	if err := os.WriteFile(p, []byte(strings.Join(out, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeHealthAndCleanShutdown(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: demoSite(t)})
	var h struct {
		Status  string  `json:"status"`
		Version string  `json:"version"`
		Uptime  float64 `json:"uptime_seconds"`
	}
	if code := a.get("/api/v1/health", "", &h); code != 200 || h.Status != "ok" || h.Version == "" {
		t.Fatalf("health = %d %+v", code, h)
	}
	if code := a.get("/api/v1/registrations", "", nil); code != 401 {
		t.Errorf("registrations without auth = %d, want 401", code)
	}
	// The banner is written as the servers come up; health may answer
	// a moment before its last line.
	for _, want := range []string{"Register a softphone", "/api/v1/health", "admin password"} {
		if !a.waitLog(want, 5*time.Second) {
			t.Errorf("startup banner lacks %q", want)
		}
	}
	if err := a.stop(); err != nil {
		t.Errorf("SIGTERM: exit %v, want a clean exit", err)
	}
	// The database is whole after the stop: export reads the demo site.
	out, errOut, code := ringbox(t, "export", "--data", a.data)
	if code != 0 || !strings.Contains(out, "Ringbox Demo") {
		t.Errorf("export after shutdown: %d %s %s", code, errOut, out)
	}
	if strings.Contains(out, "demo-101-secret") || strings.Contains(out, "secret:") {
		t.Errorf("export without --with-secrets shows secrets:\n%s", out)
	}
}

func TestCheckReportsEveryMistakeWithItsLine(t *testing.T) {
	t.Parallel()
	_, errOut, code := ringbox(t, "check", "testdata/five-mistakes.yaml")
	if code != 1 {
		t.Fatalf("check exit %d, want 1\n%s", code, errOut)
	}
	want := []string{
		"testdata/five-mistakes.yaml:17:", // unknown destination
		"testdata/five-mistakes.yaml:22:", // unknown member
		"testdata/five-mistakes.yaml:9:",  // duplicate number
		"testdata/five-mistakes.yaml:26:", // queue without agents
		"testdata/five-mistakes.yaml:28:", // bad duration
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("check output lacks a problem at %s\n%s", w, errOut)
		}
	}
	if n := len(regexp.MustCompile(`(?m)^testdata/five-mistakes.yaml:\d+:`).FindAllString(errOut, -1)); n != 5 {
		t.Errorf("check printed %d problems, want 5:\n%s", n, errOut)
	}
	if _, _, code := ringbox(t, "check", demoSite(t)); code != 0 {
		t.Errorf("check demo.yaml exit %d", code)
	}
}

func TestImportExportRoundTripsEveryExample(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../../docs/examples/*.yaml")
	if len(files) < 3 {
		t.Fatalf("want at least 3 examples, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// The example checks, the audio it names included.
			if out, e, code := ringbox(t, "check", f); code != 0 || !strings.Contains(out, ": ok (") {
				t.Fatalf("check: %d %s %s", code, out, e)
			}
			dir := t.TempDir()
			// Flags after the positional argument, and before it.
			if _, e, code := ringbox(t, "import", f, "--data", dir); code != 0 {
				t.Fatalf("import: %d %s", code, e)
			}
			out := filepath.Join(t.TempDir(), "out.yaml")
			if _, e, code := ringbox(t, "export", "--with-secrets", "--data", dir, "-o", out); code != 0 {
				t.Fatalf("export: %d %s", code, e)
			}
			if _, e, code := ringbox(t, "check", out); code != 0 {
				t.Fatalf("exported file does not check: %s", e)
			}
			// Importing the export again changes nothing (web passwords are
			// never exported, so the stored hashes stay).
			a, _, _ := ringbox(t, "export", "--with-secrets", "--data", dir)
			stdout, e, code := ringbox(t, "import", "--data", dir, out)
			if code != 0 || !strings.Contains(stdout, "no changes") {
				t.Fatalf("re-import: %d %s %s", code, stdout, e)
			}
			b, _, _ := ringbox(t, "export", "--with-secrets", "--data", dir)
			if a != b {
				t.Errorf("export differs after a round trip:\n--- first\n%s\n--- second\n%s", a, b)
			}
		})
	}
}

func TestImportWhileServingAppliesLive(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: demoSite(t)})
	tok := a.token("admin")
	var before struct{ Version int64 }
	if code := a.get("/api/v1/config", tok, &before); code != 200 {
		t.Fatalf("GET config = %d", code)
	}
	src, err := os.ReadFile(demoSite(t))
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "extensions:\n", "extensions:\n  - number: \"150\"\n    name: Live Added\n    secret: \"live-150-secret-x\"\n", 1)
	f := filepath.Join(t.TempDir(), "changed.yaml")
	os.WriteFile(f, []byte(changed), 0o600)
	if _, e, code := ringbox(t, "import", f, "--data", a.data); code != 0 {
		t.Fatalf("import while serving: %d %s", code, e)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var exts []struct{ Number string }
		a.get("/api/v1/extensions", tok, &exts)
		found := false
		for _, x := range exts {
			found = found || x.Number == "150"
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("extension 150 never appeared after import; log:\n%s", a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !a.waitLog("configuration changed", 5*time.Second) || !strings.Contains(a.log(), "added extensions 150") {
		t.Errorf("no configuration-changed log naming extension 150")
	}
}

func TestRolesOnAPI(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: demoSite(t)})
	agent, manager := a.token("agent"), a.token("manager")
	if code := a.get("/api/v1/queuelog", agent, nil); code != 403 {
		t.Errorf("agent GET queuelog = %d, want 403", code)
	}
	if code := a.get("/api/v1/queuelog", manager, nil); code != 200 {
		t.Errorf("manager GET queuelog = %d, want 200", code)
	}
	// Call records are for everyone, each seeing their scope: a token
	// bound to no agent sees none (web/scope.go).
	var recs []json.RawMessage
	if code := a.get("/api/v1/cdr", agent, &recs); code != 200 || len(recs) != 0 {
		t.Errorf("agent token GET cdr = %d with %d records, want 200 and none", code, len(recs))
	}
	if code := a.get("/api/v1/cdr", "rbx_not-a-token", nil); code != 401 {
		t.Errorf("bad token = %d, want 401", code)
	}
	if _, e, code := ringbox(t, "token", "create", "x", "--role", "root", "--data", a.data); code == 0 {
		t.Errorf("token with role root accepted: %s", e)
	}
}

func TestBadStartsSayWhatIsWrong(t *testing.T) {
	t.Parallel()
	t.Run("port in use", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		_, e, code := ringbox(t, "serve", "--data", t.TempDir(), "--http", fmt.Sprintf("127.0.0.1:%d", port), "--sip", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
		if code == 0 || !strings.Contains(e, fmt.Sprint(port)) {
			t.Errorf("serve on a busy port: exit %d, %q; want an error naming port %d", code, e, port)
		}
	})
	t.Run("corrupt database", func(t *testing.T) {
		dir := t.TempDir()
		db := filepath.Join(dir, "ringbox.db")
		garbage := bytes.Repeat([]byte("not a database "), 400)
		os.WriteFile(db, garbage, 0o600)
		_, e, code := ringbox(t, "serve", "--data", dir, "--http", fmt.Sprintf("127.0.0.1:%d", freePort(t)), "--sip", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
		if code == 0 || !strings.Contains(e, "ringbox.db") {
			t.Errorf("serve on a corrupt db: exit %d, %q; want an error naming ringbox.db", code, e)
		}
		if after, _ := os.ReadFile(db); !bytes.Equal(after, garbage) {
			t.Error("the corrupt database file was modified")
		}
	})
	t.Run("broken site file keeps the database", func(t *testing.T) {
		dir := t.TempDir()
		if _, e, code := ringbox(t, "import", demoSite(t), "--data", dir); code != 0 {
			t.Fatal(e)
		}
		before, _, _ := ringbox(t, "export", "--with-secrets", "--data", dir)
		_, e, code := ringbox(t, "import", "testdata/five-mistakes.yaml", "--data", dir)
		if code == 0 || !strings.Contains(e, "nothing changed") {
			t.Errorf("import of a broken file: exit %d %q", code, e)
		}
		after, _, _ := ringbox(t, "export", "--with-secrets", "--data", dir)
		if before != after {
			t.Error("a failed import changed the configuration")
		}
	})
	t.Run("unreadable data dir", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		os.WriteFile(f, nil, 0o600)
		_, e, code := ringbox(t, "export", "--data", f)
		if code == 0 || !strings.Contains(e, f) {
			t.Errorf("export from a file as data dir: exit %d %q", code, e)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		_, e, code := ringbox(t, "serve", "--nope")
		if code != 2 || !strings.Contains(e, "nope") {
			t.Errorf("unknown flag: exit %d %q", code, e)
		}
	})
}

// TestWebPageInChromium drives the real appliance's web page with Chromium
// (web/e2e/ui.mjs): first-boot admin password, dashboard with live events,
// the extensions of the demo site, logout.
func TestWebPageInChromium(t *testing.T) {
	t.Parallel()
	node, dir := browserScripts(t)
	a := startServe(t, serveOpt{site: demoSite(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "ui.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+a.base, "EXPECT_EXTENSION=Bob Smith",
		"SCREENSHOT="+filepath.Join(t.TempDir(), "dashboard.png"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser test against ringbox serve failed: %v\n%s", err, out)
	}
	// The admin the browser created is in the appliance's database.
	if ok, _, _ := ringbox(t, "export", "--data", a.data); !strings.Contains(ok, "login: installer") {
		t.Errorf("the first-boot admin is not in the exported site:\n%s", ok)
	}
}

// browserTurn lets one test at a time drive Chromium (browserScripts takes
// it until the test ends): Chromium is the one peer that needs the CPU, and
// the pages' scripts wait a bounded time for what they check (a call
// listed while its 30 s of tone last, say), so the browser tests run one
// after another, each beside the tests that mostly wait.
var (
	browserTurn   = make(chan struct{}, 1)
	browserHolder sync.Map // top-level test name → holding browserTurn
)

// browserScripts returns node and web/e2e, where the browser tests' scripts
// live, with playwright-core installed. Node and Chromium are required: the
// test fails without them (make test installs them).
func browserScripts(t *testing.T) (node, dir string) {
	t.Helper()
	top, _, _ := strings.Cut(t.Name(), "/")
	if _, held := browserHolder.LoadOrStore(top, true); !held {
		browserTurn <- struct{}{}
		t.Cleanup(func() {
			browserHolder.Delete(top)
			<-browserTurn
		})
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is required (make test installs nodejs): %v", err)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("chromium is required (make test installs it): %v", err)
	}
	dir, _ = filepath.Abs("../../../web/e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		if out, err := exec.Command("npm", "--prefix", dir, "install", "--no-audit", "--no-fund").CombinedOutput(); err != nil {
			t.Fatalf("npm install in web/e2e: %v\n%s", err, out)
		}
	}
	return node, dir
}
