package web_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/logring"
	"ringbox/firmware/update"
	"ringbox/firmware/update/updatetest"
	"ringbox/web"
	"ringbox/web/webtest"
)

const (
	sysAdmin   = "sys-admin-token"
	sysManager = "sys-manager-token"
	sysAgent   = "sys-agent-token"
)

type fakePower struct {
	mu        sync.Mutex
	appliance bool
	did       []string
}

func (p *fakePower) act(what, by string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.appliance {
		return web.ErrNotAppliance
	}
	p.did = append(p.did, what+" by "+by)
	return nil
}
func (p *fakePower) Reboot(by string) error   { return p.act("reboot", by) }
func (p *fakePower) Shutdown(by string) error { return p.act("shutdown", by) }

type sysEnv struct {
	t     *testing.T
	srv   *web.Server
	h     http.Handler
	auth  *webtest.Auth
	dir   string
	ring  *logring.Ring
	log   *slog.Logger
	power *fakePower
}

// newSysEnv is a server with the System page; opt may change its config.
func newSysEnv(t *testing.T, opt func(*web.SystemPage)) *sysEnv {
	a := webtest.NewAuth()
	a.AddUser("root", "pw", auth.Admin, "")
	a.AddToken(sysAdmin, auth.Principal{Login: "token:admin", Role: auth.Admin})
	a.AddToken(sysManager, auth.Principal{Login: "token:mgr", Role: auth.Manager})
	a.AddToken(sysAgent, auth.Principal{Login: "token:agent", Role: auth.Agent, Agent: "a1"})
	ring := logring.New(500, 1<<20, slog.LevelDebug)
	log := slog.New(ring.Handler(slog.DiscardHandler))
	dir := t.TempDir()
	proc := t.TempDir()
	os.WriteFile(filepath.Join(proc, "meminfo"), []byte("MemTotal:        2000000 kB\nMemFree:          100000 kB\nMemAvailable:     500000 kB\n"), 0o644)
	os.WriteFile(filepath.Join(proc, "uptime"), []byte("93784.25 1000.00\n"), 0o644)
	srv := web.New(web.Config{Auth: a, Logger: slog.New(slog.DiscardHandler), Version: "1.4.2",
		TimeZone: func() string { return "Europe/Paris" }})
	power := &fakePower{}
	p := &web.SystemPage{Dir: dir, DataDir: dir, ProcDir: proc, Logs: ring, Power: power, Logger: log,
		Synced: func() (bool, bool) { return true, true }}
	if opt != nil {
		opt(p)
	}
	srv.SystemPage(p)
	return &sysEnv{t: t, srv: srv, h: srv.Handler(), auth: a, dir: dir, ring: ring, log: log, power: power}
}

func (e *sysEnv) do(tok, method, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// page requests a page with a session of role.
func (e *sysEnv) page(role, method, path string, form url.Values) *httptest.ResponseRecorder {
	e.t.Helper()
	s, err := e.auth.CreateSession(e.t.Context(), auth.Principal{Login: "u-" + role, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.Header.Set("Cookie", web.CookieName+"="+s)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *sysEnv) file(name string) string {
	b, err := os.ReadFile(filepath.Join(e.dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return "<none>"
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func TestSystemAdminsOnly(t *testing.T) {
	e := newSysEnv(t, nil)
	for _, tok := range []string{sysManager, sysAgent} {
		for _, rt := range []string{"GET /api/v1/system/status", "GET /api/v1/system/logs", "POST /api/v1/system/reboot", "POST /api/v1/system/shutdown"} {
			m, p, _ := strings.Cut(rt, " ")
			if w := e.do(tok, m, p); w.Code != http.StatusForbidden {
				t.Errorf("%s as %s = %d, want 403", rt, tok, w.Code)
			}
		}
	}
	for _, role := range []string{auth.Manager, auth.Agent} {
		w := e.page(role, "GET", "/system", nil)
		if w.Code != http.StatusForbidden {
			t.Errorf("GET /system as %s = %d, want 403", role, w.Code)
		}
		if strings.Contains(w.Body.String(), `href="/system"`) {
			t.Errorf("the %s's top bar links to /system", role)
		}
		if home := e.page(role, "GET", "/", nil); home.Code != http.StatusOK || strings.Contains(home.Body.String(), `href="/system"`) {
			t.Errorf("the %s's home page = %d, links to /system: %v", role, home.Code, strings.Contains(home.Body.String(), `href="/system"`))
		}
		w = e.page(role, "POST", "/system/network", url.Values{"mode": {"static"}, "address": {"10.0.0.5/24"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("POST /system/network as %s = %d, want 403", role, w.Code)
		}
		w = e.page(role, "POST", "/system/ntp", url.Values{"servers": {"pool.ntp.org"}})
		if w.Code != http.StatusForbidden {
			t.Errorf("POST /system/ntp as %s = %d, want 403", role, w.Code)
		}
	}
	if got := e.file("network.conf") + e.file("ntp.conf"); got != "<none><none>" {
		t.Errorf("refused forms wrote files: %q", got)
	}
	if len(e.power.did) != 0 {
		t.Errorf("refused callers powered the box: %v", e.power.did)
	}
	if home := e.page(auth.Admin, "GET", "/", nil).Body.String(); !strings.Contains(home, `<a href="/system">System</a>`) {
		t.Error("the admin's top bar has no System entry")
	}
	w := e.page(auth.Admin, "GET", "/system", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `href="/system" aria-current="page"`) {
		t.Errorf("GET /system as admin = %d, current System link in the top bar: %v", w.Code, strings.Contains(w.Body.String(), `href="/system" aria-current="page"`))
	}
}

func TestSystemStatusAPI(t *testing.T) {
	e := newSysEnv(t, nil)
	os.WriteFile(filepath.Join(e.dir, "ntp.conf"), []byte("# mine\nserver ntp1.example.com\n10.0.0.1\n"), 0o644)
	os.WriteFile(filepath.Join(e.dir, "network.conf"), []byte("MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=\"10.0.2.3 1.1.1.1\"\n"), 0o644)
	os.WriteFile(filepath.Join(e.dir, "hostname"), []byte("pbx-office\n"), 0o644)
	w := e.do(sysAdmin, "GET", "/api/v1/system/status")
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d %s", w.Code, w.Body)
	}
	var st struct {
		Version      string `json:"version"`
		Uptime       *int64 `json:"uptime_seconds"`
		SystemUptime int64  `json:"system_uptime_seconds"`
		Disk         struct {
			Total, Used, Free uint64
		} `json:"disk"`
		Memory struct {
			Total     uint64 `json:"total_bytes"`
			Available uint64 `json:"available_bytes"`
			GoHeap    uint64 `json:"go_heap_bytes"`
		} `json:"memory"`
		Time struct {
			Now          time.Time `json:"now"`
			TimeZone     string    `json:"timezone"`
			Synchronised *bool     `json:"synchronised"`
		} `json:"time"`
		NTP struct {
			Servers []string `json:"servers"`
			Default bool     `json:"default"`
		} `json:"ntp"`
		Network struct {
			Mode, Address, Gateway string
			DNS                    []string
		} `json:"network"`
		Hostname      *string `json:"hostname"`
		SavedHostname string  `json:"saved_hostname"`
	}
	var raw map[string]json.RawMessage
	json.Unmarshal(w.Body.Bytes(), &raw)
	json.Unmarshal(raw["disk"], &st.Disk)
	if err := json.Unmarshal(w.Body.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "1.4.2" || st.Uptime == nil || st.SystemUptime != 93784 || st.Hostname == nil {
		t.Errorf("version %q uptime %v system uptime %d hostname %v", st.Version, st.Uptime, st.SystemUptime, st.Hostname)
	}
	if st.Memory.Total != 2000000*1024 || st.Memory.Available != 500000*1024 || st.Memory.GoHeap == 0 {
		t.Errorf("memory %+v, want MemTotal and MemAvailable in bytes and the Go heap", st.Memory)
	}
	var disk struct {
		Total uint64 `json:"total_bytes"`
		Free  uint64 `json:"free_bytes"`
	}
	json.Unmarshal(raw["disk"], &disk)
	if disk.Total == 0 || disk.Free > disk.Total {
		t.Errorf("disk %s", raw["disk"])
	}
	if st.Time.TimeZone != "Europe/Paris" || st.Time.Synchronised == nil || !*st.Time.Synchronised || time.Since(st.Time.Now) > time.Minute {
		t.Errorf("time %+v", st.Time)
	}
	if strings.Join(st.NTP.Servers, " ") != "ntp1.example.com 10.0.0.1" || st.NTP.Default {
		t.Errorf("ntp %+v", st.NTP)
	}
	if st.Network.Mode != "static" || st.Network.Address != "10.0.2.15/24" || st.Network.Gateway != "10.0.2.2" || strings.Join(st.Network.DNS, " ") != "10.0.2.3 1.1.1.1" {
		t.Errorf("network %+v", st.Network)
	}
	if st.SavedHostname != "pbx-office" {
		t.Errorf("saved hostname %q", st.SavedHostname)
	}
}

func TestSystemNetworkForm(t *testing.T) {
	e := newSysEnv(t, nil)
	w := e.page(auth.Admin, "POST", "/system/network", url.Values{
		"mode": {"static"}, "address": {"10.0.2.15/24"}, "gateway": {"10.0.2.2"}, "dns": {"10.0.2.3, 1.1.1.1"}, "hostname": {"pbx-office"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/system?saved=network#network" {
		t.Fatalf("static network = %d %s %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	want := "# Network settings saved by ringbox's System page; /etc/init.d/S40network\n" +
		"# reads them at boot (sourced by sh).\n" +
		"MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=\"10.0.2.3 1.1.1.1\"\n"
	if got := e.file("network.conf"); got != want {
		t.Errorf("network.conf:\n%s\nwant:\n%s", got, want)
	}
	if got := e.file("hostname"); got != "pbx-office\n" {
		t.Errorf("hostname file %q", got)
	}
	// S40network sources the file with sh: the variables come out whole.
	got := initScriptReads(t, `IFACE=eth0 MODE=dhcp ADDRESS= GATEWAY= DNS=
. "$1"; for d in $DNS; do printf '[%s]' "$d"; done; echo " $MODE $ADDRESS $GATEWAY $IFACE"`, filepath.Join(e.dir, "network.conf"))
	if got != "[10.0.2.3][1.1.1.1] static 10.0.2.15/24 10.0.2.2 eth0" {
		t.Errorf("S40network would read %q", got)
	}
	page := e.page(auth.Admin, "GET", "/system?saved=network", nil).Body.String()
	for _, s := range []string{"Network settings saved. They apply at the next reboot.", `value="10.0.2.15/24"`, `value="static" checked`, `value="pbx-office"`} {
		if !strings.Contains(page, s) {
			t.Errorf("the page after saving lacks %s", s)
		}
	}

	// Back to DHCP, without a host name: the file says so and the
	// hostname file goes.
	w = e.page(auth.Admin, "POST", "/system/network", url.Values{"mode": {"dhcp"}, "address": {"garbage"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("dhcp = %d %s", w.Code, w.Body)
	}
	if got := e.file("network.conf"); !strings.HasSuffix(got, "\nMODE=dhcp\n") || strings.Contains(got, "ADDRESS") {
		t.Errorf("network.conf after DHCP:\n%s", got)
	}
	if got := e.file("hostname"); got != "<none>" {
		t.Errorf("hostname file after clearing: %q", got)
	}
}

func TestSystemNetworkFormErrors(t *testing.T) {
	e := newSysEnv(t, nil)
	os.WriteFile(filepath.Join(e.dir, "network.conf"), []byte("MODE=dhcp\n"), 0o644)
	for _, tt := range []struct {
		form  url.Values
		field string
		want  string
	}{
		{url.Values{"mode": {"static"}, "address": {"10.0.2.300/24"}}, "address", "is not an address with a prefix length"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.15"}}, "address", "add the prefix length after the address, e.g. 10.0.2.15/24"},
		{url.Values{"mode": {"static"}, "address": {""}}, "address", "a static address is required"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.0/24"}}, "address", "is the network&#39;s own address"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.255/24"}}, "address", "is the broadcast address"},
		{url.Values{"mode": {"static"}, "address": {"127.0.0.1/8"}}, "address", "cannot be the box&#39;s address"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.15/24"}, "gateway": {"10.0.3.1"}}, "gateway", "is outside the box&#39;s network 10.0.2.0/24"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.15/24"}, "gateway": {"router"}}, "gateway", "is not an IP address"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.15/24"}, "dns": {"1.1.1.1 $(reboot)"}}, "dns", "is not an IP address"},
		{url.Values{"mode": {"static"}, "address": {"10.0.2.15/24"}, "dns": {"1.1.1.1 8.8.8.8 9.9.9.9 1.0.0.1"}}, "dns", "at most 3 name servers"},
		{url.Values{"mode": {"dhcp"}, "hostname": {"pbx office"}}, "hostname", "use letters, digits and hyphens only"},
		{url.Values{"mode": {"dhcp"}, "hostname": {"-pbx"}}, "hostname", "cannot start or end with a hyphen"},
		{url.Values{"mode": {"ppp"}}, "mode", "want dhcp or static"},
		{url.Values{}, "mode", "choose DHCP or a static address"},
	} {
		w := e.page(auth.Admin, "POST", "/system/network", tt.form)
		body := w.Body.String()
		if w.Code != http.StatusBadRequest {
			t.Errorf("%v = %d, want 400", tt.form, w.Code)
			continue
		}
		// The error is at its field: in the element the field points to.
		errEl := `id="` + tt.field + `-err" role="alert">`
		i := strings.Index(body, errEl)
		if i < 0 || !strings.Contains(body[i:min(len(body), i+300)], tt.want) {
			t.Errorf("%v: no %q at field %s; page has errors: %q", tt.form, tt.want, tt.field, fieldErrorsIn(body))
		}
		if tt.field != "mode" && !strings.Contains(body, `aria-describedby="`+tt.field+`-help `+tt.field+`-err" aria-invalid="true"`) {
			t.Errorf("%v: field %s is not marked invalid", tt.form, tt.field)
		}
		// What was typed is kept.
		if a := tt.form.Get("address"); a != "" && !strings.Contains(body, `value="`+a+`"`) {
			t.Errorf("%v: the address typed is lost", tt.form)
		}
	}
	if got := e.file("network.conf"); got != "MODE=dhcp\n" {
		t.Errorf("a refused form changed network.conf: %q", got)
	}
	if got := e.file("hostname"); got != "<none>" {
		t.Errorf("a refused form wrote hostname: %q", got)
	}
}

func fieldErrorsIn(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `class="field-error"`)[1:] {
		end := strings.Index(part, "</p>")
		out = append(out, part[:max(end, 0)])
	}
	return out
}

func TestSystemNTPForm(t *testing.T) {
	e := newSysEnv(t, nil)
	w := e.page(auth.Admin, "POST", "/system/ntp", url.Values{"servers": {"0.pool.ntp.org\r\n10.0.0.1, ntp.example.com\n0.pool.ntp.org"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("ntp = %d %s", w.Code, w.Body)
	}
	want := "# NTP servers saved by ringbox's System page; /etc/init.d/S49ntp reads them at boot.\n" +
		"server 0.pool.ntp.org\nserver 10.0.0.1\nserver ntp.example.com\n"
	if got := e.file("ntp.conf"); got != want {
		t.Errorf("ntp.conf:\n%s\nwant:\n%s", got, want)
	}
	// S49ntp's own reading of it.
	got := initScriptReads(t, `sed -e 's/#.*//' -e 's/^[[:space:]]*server[[:space:]]*//' "$1" | awk '{print $1}' | tr '\n' ' '`, filepath.Join(e.dir, "ntp.conf"))
	if got != "0.pool.ntp.org 10.0.0.1 ntp.example.com" {
		t.Errorf("S49ntp would read servers %q", got)
	}
	for _, bad := range []struct{ servers, want string }{
		{"pool.ntp.org bad_name", `&#34;bad_name&#34; is neither an IP address nor a host name`},
		{"a b c d e f", "at most 5 NTP servers"},
	} {
		w := e.page(auth.Admin, "POST", "/system/ntp", url.Values{"servers": {bad.servers}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `id="ntp-err" role="alert">`+bad.want) {
			t.Errorf("ntp %q = %d, errors %q; want 400 and %q", bad.servers, w.Code, fieldErrorsIn(w.Body.String()), bad.want)
		}
	}
	if got := e.file("ntp.conf"); got != want {
		t.Errorf("a refused form changed ntp.conf:\n%s", got)
	}
	// Empty: the defaults again (S49ntp falls back to DHCP's, then the pool).
	e.page(auth.Admin, "POST", "/system/ntp", url.Values{"servers": {"  "}})
	if got := e.file("ntp.conf"); got != "<none>" {
		t.Errorf("ntp.conf after clearing: %q", got)
	}
}

func TestSystemLogsAPI(t *testing.T) {
	e := newSysEnv(t, nil)
	e.log.Debug("d1")
	e.log.Info("i1", "ext", "101")
	e.log.Warn("w1")
	e.log.Error("e1", "err", "disk full")
	e.log.Info("i2")
	get := func(q string) (int, []map[string]any) {
		w := e.do(sysAdmin, "GET", "/api/v1/system/logs"+q)
		var out []map[string]any
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	msgs := func(recs []map[string]any) string {
		var s []string
		for _, r := range recs {
			s = append(s, r["message"].(string))
		}
		return strings.Join(s, ",")
	}
	// The page's own log lines (the System page logs too) are in the
	// ring: look at the test's own.
	for q, want := range map[string]string{
		"?level=warn":          "w1,e1",
		"?level=error":         "e1",
		"?level=warn&limit=1":  "e1",
		"?level=debug&limit=5": "d1,i1,w1,e1,i2",
	} {
		code, recs := get(q)
		if code != 200 || msgs(recs) != want {
			t.Errorf("logs%s = %d %s, want %s", q, code, msgs(recs), want)
		}
	}
	_, recs := get("?level=error")
	if recs[0]["level"] != "ERROR" || recs[0]["attrs"] != "err=\"disk full\"" || recs[0]["time"] == nil {
		t.Errorf("record %v", recs[0])
	}
	for _, q := range []string{"?level=loud", "?limit=0", "?limit=5000", "?limit=x"} {
		w := e.do(sysAdmin, "GET", "/api/v1/system/logs"+q)
		if w.Code != 400 || !strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("logs%s = %d %s, want 400 with an error", q, w.Code, w.Body)
		}
	}
	// The page shows the filtered log too.
	page := e.page(auth.Admin, "GET", "/system?level=error", nil).Body.String()
	if !strings.Contains(page, `<option value="error" selected>`) || !strings.Contains(page, ">e1</span>") || strings.Contains(page, ">w1</span>") {
		t.Error("GET /system?level=error does not show the errors alone")
	}
}

func TestSystemPower(t *testing.T) {
	e := newSysEnv(t, nil)
	w := e.do(sysAdmin, "POST", "/api/v1/system/reboot")
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "not an appliance: restart the process yourself") {
		t.Errorf("reboot off the appliance = %d %s, want 409", w.Code, w.Body)
	}
	e.power.appliance = true
	if w := e.do(sysAdmin, "POST", "/api/v1/system/reboot"); w.Code != http.StatusAccepted {
		t.Errorf("reboot = %d %s", w.Code, w.Body)
	}
	if w := e.do(sysAdmin, "POST", "/api/v1/system/shutdown"); w.Code != http.StatusAccepted {
		t.Errorf("shutdown = %d %s", w.Code, w.Body)
	}
	if got := strings.Join(e.power.did, "; "); got != "reboot by token:admin; shutdown by token:admin" {
		t.Errorf("power did %q", got)
	}
	// A cookie session from another site cannot reboot the box.
	s, _ := e.auth.CreateSession(t.Context(), auth.Principal{Login: "root", Role: auth.Admin})
	r := httptest.NewRequest("POST", "/api/v1/system/reboot", nil)
	r.Header.Set("Cookie", web.CookieName+"="+s)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	rw := httptest.NewRecorder()
	e.h.ServeHTTP(rw, r)
	if rw.Code != http.StatusForbidden || len(e.power.did) != 2 {
		t.Errorf("cross-site reboot = %d, power did %v", rw.Code, e.power.did)
	}
}

// TestSystemPageFirmwareCard: the card as firmware/update's Updater
// reports the box (slot files from updatetest): a development box without
// A/B slots, a box after a rolled-back update, and one whose boot state
// cannot be read.
func TestSystemPageFirmwareCard(t *testing.T) {
	plain := newSysEnv(t, nil).page(auth.Admin, "GET", "/system", nil).Body.String()
	if !strings.Contains(plain, "Updates are installed on the appliance image (this box runs from a plain binary)") || strings.Contains(plain, `id="fw-form"`) {
		t.Error("without firmware slots the card does not say updates come with the image")
	}
	dev := updatetest.NewPKI(t, "dev")
	// Not booted from a slot: the root filesystem is on none of the slot
	// files, so the updater finds no A/B slots.
	dev0 := updatetest.NewBox(t, dev, "1.4.2").Open(t, "", "1.4.2")
	if _, err := dev0.Status(); !errors.Is(err, update.ErrNoSlots) {
		t.Fatalf("status of a box not booted from a slot: %v, want ErrNoSlots", err)
	}
	noSlots := newSysEnv(t, func(p *web.SystemPage) { p.FirmwareStatus = dev0 }).page(auth.Admin, "GET", "/system", nil).Body.String()
	if !strings.Contains(noSlots, "this box runs from a plain binary") || strings.Contains(noSlots, `id="fw-form"`) {
		t.Error("with an updater that finds no A/B slots the card does not say updates come with the image")
	}

	// 1.5.0 installed into B failed its health check on every attempt;
	// the box came back on A at 21:00 UTC and recorded why.
	box := updatetest.NewBox(t, dev, "1.4.2")
	if err := box.Updater.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if _, err := box.Updater.Install(t.Context(), dev.Bundle(t, updatetest.Compatible, "1.5.0", randomImage(50000)), false, nil); err != nil {
		t.Fatal(err)
	}
	box.FailBoots(t, "B", "health check failed: SIP did not answer within 60 s")
	at := time.Date(2026, 12, 4, 21, 0, 0, 0, time.UTC)
	if err := os.Chtimes(box.Updater.FailureFile("B"), at, at); err != nil {
		t.Fatal(err)
	}
	fw := box.Open(t, "A", "1.4.2")
	if err := fw.MarkGood(); err != nil {
		t.Fatal(err)
	}
	page := newSysEnv(t, func(p *web.SystemPage) { p.FirmwareStatus = fw }).page(auth.Admin, "GET", "/system", nil).Body.String()
	for _, s := range []string{`id="fw-version">1.4.2<`, "slot A", `<th scope="row">A <span class="badge">booted</span></th><td>1.4.2</td>`,
		`<th scope="row">B</th><td>1.5.0</td><td><span class="slot-state" data-state="bad">bad<`,
		"The last update was rolled back", "2026-12-04 22:00:00", // Paris
		"slot B with version 1.5.0 did not come up",
		"Reason: health check failed: SIP did not answer within 60 s", `id="fw-file"`, `id="fw-force"`, `<progress id="fw-progress"`} {
		if !strings.Contains(page, s) {
			t.Errorf("the firmware card lacks %s", s)
		}
	}

	// A boot-state file the updater cannot make sense of.
	damaged := updatetest.NewBox(t, dev, "1.4.2")
	if err := os.WriteFile(damaged.BootStatePath(), []byte("BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := newSysEnv(t, func(p *web.SystemPage) { p.FirmwareStatus = damaged.Updater })
	if page := broken.page(auth.Admin, "GET", "/system", nil); page.Code != 200 ||
		!strings.Contains(page.Body.String(), "The firmware slots could not be read: boot state "+damaged.BootStatePath()+": BOOT_B_LEFT=&#34;x&#34; is not a number") {
		t.Errorf("a firmware status error: %d, said: %v", page.Code, strings.Contains(page.Body.String(), "could not be read"))
	}
}

func TestSystemPageContent(t *testing.T) {
	e := newSysEnv(t, nil)
	page := e.page(auth.Admin, "GET", "/system", nil).Body.String()
	for _, s := range []string{`<h1>System</h1>`, `src="/static/system.js`, `href="/static/system.css`,
		`id="time-zone">Europe/Paris`, `id="time-sync">yes, by NTP`, "1.9 GiB", "(75%)", "1 d 2 h 3 min",
		`href="/system/factory-reset"`, `data-power="reboot"`, `data-power="shutdown"`, `<label for="address">`, `<label for="ntp-servers">`,
		`<label for="log-level">`, "Applied at the next reboot."} {
		if !strings.Contains(page, s) {
			t.Errorf("the page lacks %s", s)
		}
	}
	for _, f := range []string{"system.js", "system.css"} {
		if w := e.do(sysAdmin, "GET", "/static/"+f); w.Code != 200 {
			t.Errorf("/static/%s = %d", f, w.Code)
		}
	}
}

// initScriptReads runs script (the init script's own lines) with sh on
// file and returns what it prints.
func initScriptReads(t *testing.T, script, file string) string {
	t.Helper()
	out, err := exec.Command("sh", "-c", script, "sh", file).CombinedOutput()
	if err != nil {
		t.Fatalf("sh: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}
