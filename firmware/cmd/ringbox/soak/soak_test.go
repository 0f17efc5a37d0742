package soak

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSoak runs `ringbox serve` on its defaults for RINGBOX_SOAK (a Go
// duration; default 2m, `make soak` 1h) under a light mixed load, and
// samples the process's resident memory (/proc/PID/status VmRSS), its
// goroutines (go_goroutines on /metrics) and its open file descriptors
// (/proc/PID/fd) every few seconds. The load, all at once:
//
//   - carrier calls (SIPp from the trunk's address) to three numbers: an
//     IVR whose timeout leads to a queue, the queue, and a ring group; the
//     agents are logged in on mobiles behind a second trunk, where a SIPp
//     far end answers; every call must succeed;
//   - REGISTER with digest authentication of 20 extensions in turn (SIPp);
//   - the API: a web login and logout, the CDR list, the live calls and a
//     second of the event stream, every 2 s.
//
// It fails when a call or registration fails, an API request fails, or
// a series grows: a least-squares line is fitted to the samples after the
// warm-up (the first quarter, at least 30 s), and the growth it predicts
// over that window, less three standard errors (so a noisy series does
// not fail by chance), must stay under the tolerance: 16 goroutines, 8
// file descriptors, 8 MiB of RSS. Calls in progress at a sample add noise
// to each series but no trend; a leak of one goroutine, descriptor or
// 100 KB per call, over the calls of even the 2-minute run, is far above
// them. The figures go to the test log (-v) and, with RINGBOX_SOAK_REPORT
// set, to that file.
//
// The load is light (about a call every 2 s, a registration a second) so
// that it does not disturb the end-to-end package's timing-sensitive
// tests, which `go test ./...` runs beside it.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: not with -short")
	}
	dur := 2 * time.Minute
	if s := os.Getenv("RINGBOX_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 30*time.Second {
			t.Fatalf("RINGBOX_SOAK=%q: want a duration of at least 30s", s)
		}
		dur = d
	}
	for _, tool := range []string{"sipp", "timeout"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (make test installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "ringbox")
	build := exec.Command("go", "build", "-o", bin, "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ringbox: %v\n%s", err, out)
	}
	carrier, mobile, sipPort, httpPort := freePort(t), freePort(t), freePort(t), freePort(t)
	sitePath := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(sitePath, []byte(soakSite(carrier, mobile)), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	// RINGBOX_SOAK_PROFILES=DIR keeps two heap profiles of the box there,
	// at the end of the warm-up and at the end (go tool pprof -base).
	profiles := os.Getenv("RINGBOX_SOAK_PROFILES")
	var extra []string
	debugAddr := ""
	if profiles != "" {
		debugAddr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
		extra = append(extra, "--debug-addr", debugAddr)
	}
	box := startBox(t, bin, data, sitePath, sipPort, httpPort, extra...)
	heapProfile := func(name string) {
		if profiles == "" {
			return
		}
		resp, err := box.client.Get("http://" + debugAddr + "/debug/pprof/heap?gc=1")
		if err != nil {
			t.Errorf("heap profile %s: %v", name, err)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != 200 {
			err = fmt.Errorf("%s", resp.Status)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(profiles, name), body, 0o644)
		}
		if err != nil {
			t.Errorf("heap profile %s: %v", name, err)
		}
	}
	admin := token(t, bin, data)
	for _, ag := range []string{"a1", "a2", "a3", "a4", "a5", "a6"} {
		if code, body := box.do("POST", "/api/v1/agents/"+ag+"/login", admin, "", "{}"); code != 200 {
			t.Fatalf("log agent %s in: %d %s", ag, code, body)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The mobiles' far end: answers every call at once; the callers hang up.
	far := startSipp(ctx, t, dir, "far", 0, "-sf", scenario(t, "uas_answer.xml"), "-i", "127.0.0.3", "-p", itoa(mobile),
		"-mi", "127.0.0.3", "-mp", itoa(freePort(t)), "-d", "0")
	boxAddr := fmt.Sprintf("127.0.0.1:%d", sipPort)
	// Each stream places a call every period for the whole run (-m
	// calls at -r per -rp ms), at most three at once.
	type stream struct {
		name, did string
		hold      time.Duration
		period    time.Duration
	}
	streams := []stream{
		{"ivr", "+15551230001", 10 * time.Second, 6 * time.Second},      // greeting, timeout, queue, agent
		{"queue", "+15551230002", 4 * time.Second, 6 * time.Second},     // straight to the queue
		{"ringgroup", "+15551230003", 4 * time.Second, 6 * time.Second}, // the ring group's agents
	}
	var procs []*sippProc
	calls := 0
	for i, s := range streams {
		n := int(dur / s.period)
		calls += n
		procs = append(procs, startSipp(ctx, t, dir, s.name, dur+2*time.Minute, boxAddr, "-sf", scenario(t, "uac_carrier.xml"),
			"-s", s.did, "-set", "caller", fmt.Sprintf("+1212555%04d", 100+i), "-m", itoa(n), "-l", "3",
			"-r", "1", "-rp", itoa(int(s.period/time.Millisecond)), "-d", itoa(int(s.hold/time.Millisecond)),
			"-i", "127.0.0.2", "-p", itoa(freePort(t)), "-mi", "127.0.0.2", "-mp", itoa(freePort(t))))
	}
	users := filepath.Join(dir, "users.csv")
	var csv strings.Builder
	csv.WriteString("SEQUENTIAL\n")
	for i := range 20 {
		ext := 300 + i
		fmt.Fprintf(&csv, "%d;soak-secret-%d;[authentication username=%d password=soak-secret-%d]\n", ext, ext, ext, ext)
	}
	if err := os.WriteFile(users, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	regs := int(dur / time.Second)
	procs = append(procs, startSipp(ctx, t, dir, "register", dur+2*time.Minute, boxAddr, "-sf", scenario(t, "uac_register_auth_csv.xml"),
		"-inf", users, "-m", itoa(regs), "-r", "1", "-l", "2", "-i", "127.0.0.1", "-p", itoa(freePort(t))))

	// The API user and the sampler run until the calls are done.
	var wg sync.WaitGroup
	apiErr := make(chan error, 1)
	apiCalls := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			if err := apiRound(box, admin); err != nil {
				apiErr <- err
				return
			}
			apiCalls++
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	start := time.Now()
	var samples []sample
	var sampleErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(sampleEvery(dur))
		defer tick.Stop()
		warmed := false
		for {
			if at := time.Since(start); !warmed && at >= max(dur/4, 30*time.Second) {
				heapProfile("heap-warm.pb.gz")
				warmed = true
			}
			s, err := box.sample(time.Since(start))
			if err != nil {
				sampleErr = err
				return
			}
			samples = append(samples, s)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	failed := false
	for _, p := range procs {
		if rc, out := p.wait(); rc != 0 {
			t.Errorf("sipp %s: exit %d (a call or registration failed)\n%s", p.name, rc, out)
			failed = true
		}
	}
	// The last calls end; then one quiet sample closes the series.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var live []json.RawMessage
		if code, body := box.do("GET", "/api/v1/calls/live", admin, "", ""); code == 200 && json.Unmarshal([]byte(body), &live) == nil && len(live) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("calls still up 30 s after the last caller hung up")
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	far.stop()
	select {
	case err := <-apiErr:
		t.Errorf("API: %v", err)
	default:
	}
	if sampleErr != nil {
		t.Fatalf("sampling: %v", sampleErr)
	}
	last, err := box.sample(time.Since(start))
	if err != nil {
		t.Fatalf("sampling: %v", err)
	}
	heapProfile("heap-end.pb.gz")
	samples = append(samples, last)

	// Every call has its CDR, and the calls that reached an agent say so.
	type cdrRow struct {
		Agent string `json:"agent"`
	}
	var cdrs []cdrRow
	for off := 0; ; off += 200 {
		var page []cdrRow
		code, body := box.do("GET", fmt.Sprintf("/api/v1/cdr?limit=200&offset=%d", off), admin, "", "")
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Errorf("CDR list: %d %.200s", code, body)
			break
		}
		cdrs = append(cdrs, page...)
		if len(page) < 200 {
			break
		}
	}
	byAgent := 0
	for _, c := range cdrs {
		if c.Agent != "" {
			byAgent++
		}
	}
	if len(cdrs) != calls {
		t.Errorf("%d CDRs for %d calls", len(cdrs), calls)
	}
	report := &strings.Builder{}
	fmt.Fprintf(report, "soak %s (%s in all): %d calls placed, %d CDRs (%d answered by an agent), %d registrations, %d API rounds, %d samples; sipp failures: %v\n",
		dur, time.Since(start).Round(time.Second), calls, len(cdrs), byAgent, regs, apiCalls, len(samples), failed)
	first := samples[0]
	fmt.Fprintf(report, "%-10s %10s %10s %10s %14s %10s\n", "series", "start", "end", "max", "fitted growth", "tolerance")
	warm := max(len(samples)/4, int(30*time.Second/sampleEvery(dur))+1)
	for _, m := range []struct {
		name string
		get  func(sample) float64
		tol  float64
		unit float64
	}{
		{"rss_mib", func(s sample) float64 { return float64(s.rss) / (1 << 20) }, 8, 1},
		{"heap_mib", func(s sample) float64 { return float64(s.heap) / (1 << 20) }, 8, 1},
		{"goroutines", func(s sample) float64 { return float64(s.goroutines) }, 16, 1},
		{"fds", func(s sample) float64 { return float64(s.fds) }, 8, 1},
	} {
		var xs, ys []float64
		top := 0.0
		for i, s := range samples {
			top = max(top, m.get(s))
			if i >= warm {
				xs = append(xs, s.at.Seconds())
				ys = append(ys, m.get(s))
			}
		}
		growth, se := fit(xs, ys)
		fmt.Fprintf(report, "%-10s %10.1f %10.1f %10.1f %8.1f ± %4.1f %10.0f\n", m.name, m.get(first), m.get(last), top, growth, se, m.tol)
		if growth-3*se > m.tol {
			t.Errorf("%s grows: %.1f over the %s after the warm-up (± %.1f), tolerance %.0f", m.name, growth, dur-samples[warm].at, se, m.tol)
		}
	}
	t.Log("\n" + report.String())
	if p := os.Getenv("RINGBOX_SOAK_REPORT"); p != "" {
		var series strings.Builder
		series.WriteString("t_s,rss_kib,heap_kib,goroutines,fds\n")
		for _, s := range samples {
			fmt.Fprintf(&series, "%.0f,%d,%d,%d,%d\n", s.at.Seconds(), s.rss>>10, s.heap>>10, s.goroutines, s.fds)
		}
		os.WriteFile(p, []byte(report.String()+"\n"+series.String()), 0o644)
	}
	if code, _ := box.do("GET", "/api/v1/health", "", "", ""); code != 200 {
		t.Errorf("health after the soak: %d", code)
	}
}

// sampleEvery is the sampling period: 5 s, or more for long runs so a
// run has at most about 720 samples.
func sampleEvery(d time.Duration) time.Duration { return max(5*time.Second, d/720) }

// fit returns the growth a least-squares line through (xs, ys) predicts
// from the first x to the last, and its standard error.
func fit(xs, ys []float64) (growth, se float64) {
	n := float64(len(xs))
	if n < 3 {
		return 0, 0
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx /= n
	my /= n
	var sxx, sxy float64
	for i := range xs {
		sxx += (xs[i] - mx) * (xs[i] - mx)
		sxy += (xs[i] - mx) * (ys[i] - my)
	}
	if sxx == 0 {
		return 0, 0
	}
	slope := sxy / sxx
	var rss float64
	for i := range xs {
		r := ys[i] - (my + slope*(xs[i]-mx))
		rss += r * r
	}
	span := xs[len(xs)-1] - xs[0]
	return slope * span, math.Sqrt(rss/(n-2)/sxx) * span
}

// soakSite: six agents on mobiles behind trunk "mobile" (the far end
// answers), 20 extensions that register, an IVR that times out to the
// queue, a queue and a ring group, each on a DID of trunk "carrier", and
// a web admin for the logins. The ring group rings its three mobiles at
// once: the far end answers them all together, so every ring group call
// hangs two losers up at the moment they answer, the race that leaked a
// leg per call before (docs/benchmarks.md, "Soak").
func soakSite(carrier, mobile int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 1
system: {name: Soak, timezone: UTC, office_number: "+15551230000"}
users:
  - {login: soak, role: admin, password: "soak-admin-password"}
extensions:
`)
	for i := range 20 {
		fmt.Fprintf(&b, "  - {number: \"%d\", name: Phone %d, secret: \"soak-secret-%d\"}\n", 300+i, i, 300+i)
	}
	b.WriteString("agents:\n")
	for i := 1; i <= 6; i++ {
		fmt.Fprintf(&b, "  - {id: a%d, name: Agent %d, mobile: \"+1312555%04d\", wrapup: 0s}\n", i, i, 100+i)
	}
	fmt.Fprintf(&b, `queues:
  - {id: service, number: "600", agents: [a1, a2, a3], agent_ring: 15s, on_empty: hangup}
ring_groups:
  - id: front
    stages: [{ring: [a4, a5, a6], for: 20s}]
    no_answer: hangup
ivrs:
  - id: main
    greeting: main-menu
    options: {"2": "queue:service"}
    timeout: 2s
    on_timeout: queue:service
trunks:
  - {id: carrier, host: "127.0.0.2:%d", transport: udp}
  - {id: mobile, host: "127.0.0.3:%d", transport: udp}
outbound:
  - {pattern: "+1NXXNXXXXXX", trunks: [mobile], permission: national}
inbound:
  - {match: "+15551230001", to: "ivr:main"}
  - {match: "+15551230002", to: "queue:service"}
  - {match: "+15551230003", to: "ringgroup:front"}
`, carrier, mobile)
	return b.String()
}

// apiRound is what a manager's page does now and then: log in, list the
// CDRs, look at the live calls, listen to the event stream a moment, log
// out.
func apiRound(b *box, admin string) error {
	code, body, cookie := b.login("soak", "soak-admin-password")
	if code != 200 {
		return fmt.Errorf("login: %d %s", code, body)
	}
	for _, p := range []string{"/api/v1/cdr?limit=50", "/api/v1/calls/live", "/api/v1/agents", "/api/v1/registrations"} {
		if code, body := b.do("GET", p, "", cookie, ""); code != 200 {
			return fmt.Errorf("GET %s: %d %s", p, code, body)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	resp, err := b.client.Do(req)
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return fmt.Errorf("events: %d", resp.StatusCode)
	}
	io.Copy(io.Discard, resp.Body) // until the second is up
	resp.Body.Close()
	if code, body := b.do("DELETE", "/api/v1/session", "", cookie, ""); code >= 300 {
		return fmt.Errorf("logout: %d %s", code, body)
	}
	return nil
}

// box is a running ringbox serve.
type box struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	client *http.Client
	done   chan struct{}
	mu     sync.Mutex
	out    bytes.Buffer
}

func startBox(t *testing.T, bin, data, site string, sipPort, httpPort int, extra ...string) *box {
	b := &box{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", httpPort), done: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second}}
	// The box's defaults: only where it listens, its data and site, and the
	// simulated board differ from a real start.
	b.cmd = exec.Command(bin, "serve", "--data", data, "--board", "sim", "--site", site,
		"--sip", fmt.Sprintf("127.0.0.1:%d", sipPort), "--http", fmt.Sprintf("127.0.0.1:%d", httpPort))
	b.cmd.Args = append(b.cmd.Args, extra...)
	pr, pw := io.Pipe()
	b.cmd.Stdout, b.cmd.Stderr = pw, pw
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			b.mu.Lock()
			// Only the last 1 MB is kept: an hour's log is not needed.
			if b.out.Len() > 1<<20 {
				rest := append([]byte(nil), b.out.Bytes()[b.out.Len()/2:]...)
				b.out.Reset()
				b.out.Write(rest)
			}
			b.out.WriteString(sc.Text() + "\n")
			b.mu.Unlock()
		}
	}()
	go func() { b.cmd.Wait(); pw.Close(); close(b.done) }()
	t.Cleanup(func() {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(20 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
			t.Errorf("ringbox serve did not stop within 20 s of SIGTERM")
		}
		if t.Failed() {
			b.mu.Lock()
			t.Logf("ringbox serve output (tail):\n%s", lastLines(b.out.String(), 80))
			b.mu.Unlock()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		select {
		case <-b.done:
			t.Fatalf("ringbox serve exited early:\n%s", b.out.String())
		default:
		}
		if code, _ := b.do("GET", "/api/v1/health", "", "", ""); code == 200 {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("ringbox serve did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// do is one request; it answers 0 when the request could not be made.
func (b *box) do(method, path, token, cookie, body string) (int, string) {
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
		req.Header.Set("X-Requested-With", "ringbox")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *box) login(login, password string) (int, string, string) {
	req, _ := http.NewRequest("POST", b.base+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"login":%q,"password":%q}`, login, password)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err.Error(), ""
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	cookie := ""
	for _, c := range resp.Cookies() {
		cookie = c.Name + "=" + c.Value
	}
	return resp.StatusCode, string(out), cookie
}

type sample struct {
	at         time.Duration
	rss        int64 // bytes
	heap       int64 // the Go heap in use, bytes: RSS less it is SQLite's page caches and the runtime
	goroutines int
	fds        int
}

// sample reads the process's VmRSS and descriptors from /proc and its
// goroutines from /metrics.
func (b *box) sample(at time.Duration) (sample, error) {
	s := sample{at: at}
	pid := b.cmd.Process.Pid
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("the box is gone: %w", err)
	}
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			s.rss = kb << 10
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = len(fds)
	code, body := b.do("GET", "/metrics", "", "", "")
	if code != 200 {
		return s, fmt.Errorf("/metrics: %d %s", code, body)
	}
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "go_goroutines "); ok {
			s.goroutines, _ = strconv.Atoi(strings.TrimSpace(v))
		}
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_inuse_bytes "); ok {
			s.heap, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if s.rss == 0 || s.goroutines == 0 {
		return s, fmt.Errorf("no VmRSS or go_goroutines in the sample")
	}
	return s, nil
}

// token creates an admin API token in the box's data directory.
func token(t *testing.T, bin, data string) string {
	out, err := exec.Command(bin, "token", "create", "soak", "--role", "admin", "--data", data).Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// sippProc is a SIPp run in its own process group, killed at the end.
type sippProc struct {
	name string
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// startSipp starts SIPp; limit > 0 bounds its run (timeout -k).
func startSipp(ctx context.Context, t *testing.T, dir, name string, limit time.Duration, args ...string) *sippProc {
	wd := filepath.Join(dir, "sipp-"+name)
	os.MkdirAll(wd, 0o755)
	// SIPp ends a run after 120 trips of its own overload watchdog (a
	// timer firing 500 ms late); on a machine busy with other tests that
	// is SIPp starved, not the box slow, and an hour's run trips it.
	args = append(args, "-nostdin", "-trace_err", "-error_file", filepath.Join(wd, "err.log"),
		"-watchdog_minor_maxtriggers", "100000", "-watchdog_major_maxtriggers", "1000")
	var cmd *exec.Cmd
	if limit > 0 {
		cmd = exec.Command("timeout", append([]string{"-k", "5", itoa(int(limit.Seconds())), "sipp"}, args...)...)
	} else {
		cmd = exec.Command("sipp", args...)
	}
	cmd.Dir = wd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	p := &sippProc{name: name, cmd: cmd, out: &bytes.Buffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("sipp %s: %v", name, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}

// wait waits for SIPp to finish and returns its exit code and the tail of
// its output and error log.
func (p *sippProc) wait() (int, string) {
	<-p.done
	errLog, _ := os.ReadFile(filepath.Join(p.cmd.Dir, "err.log"))
	return p.cmd.ProcessState.ExitCode(), lastLines(p.out.String()+string(errLog), 40)
}

func (p *sippProc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// scenario is a SIPp scenario of this package (testdata) or of the
// end-to-end tests' (../testdata).
func scenario(t *testing.T, name string) string {
	for _, d := range []string{"testdata", "../testdata"} {
		p, err := filepath.Abs(filepath.Join(d, name))
		if err == nil {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatalf("no SIPp scenario %s", name)
	return ""
}

// freePort returns a port free on 127.0.0.1 for both UDP and TCP.
func freePort(t *testing.T) int {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

func itoa(i int) string { return strconv.Itoa(i) }

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
