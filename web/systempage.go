package web

// The System page (/system, admins): firmware and its slots with the
// update upload, time and NTP, network and host name, reboot and
// shutdown, ringbox's own recent log, disk and memory, and the way to the
// factory reset.
//
//	GET  /system                  admin: the page (?level=warn filters the log)
//	POST /system/network          admin: the network form; saved for the next boot
//	POST /system/ntp              admin: the NTP form; saved for the next boot
//	GET  /api/v1/system/status    admin: version, uptime, disk, memory, time, NTP, network, host name
//	GET  /api/v1/system/logs      admin: ?level=debug|info|warn|error&limit=1..1000 (200)
//	POST /api/v1/system/reboot    admin: drain calls briefly, then reboot; 409 off the appliance
//	POST /api/v1/system/shutdown  admin: drain calls briefly, then power off; 409 off the appliance
//
// The firmware upload (POST /api/v1/system/firmware) is served by
// firmware.go; this page only reads the firmware status to draw its card.

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"ringbox/firmware/auth"
	"ringbox/firmware/edge"
	"ringbox/firmware/logring"
	"ringbox/firmware/update"
)

// firmwareStatus reads the A/B slots and the last rollback
// (update.Installer, or whatever firmware.go takes).
type firmwareStatus interface {
	Status() (update.Status, error)
}

// Power reboots or powers off the appliance. Both return at once; the
// box drains its calls briefly, then goes down. Off the appliance they
// return ErrNotAppliance.
type Power interface {
	Reboot(by string) error
	Shutdown(by string) error
}

// ErrNotAppliance is what a [Power] answers on a development box: ringbox
// runs as a plain process there and does not reboot the machine.
var ErrNotAppliance = errors.New("not an appliance: restart the process yourself")

// LogRing is ringbox's recent log (logring.Ring).
type LogRing interface {
	Last(n int, min slog.Level) []logring.Record
}

// SystemPage is what the System page and its routes need.
type SystemPage struct {
	// FirmwareStatus reads the firmware slots; nil: the box runs from a
	// plain binary, and the page says updates come with the image.
	FirmwareStatus firmwareStatus
	Power          Power   // nil: reboot and shutdown answer 409
	Logs           LogRing // nil: the log card says there is none
	Bans           BanList // the SIP edge's bans (security.go); nil: no Security card
	// Dir is where network.conf, hostname and ntp.conf are saved for the
	// init scripts (/data on the appliance). Required.
	Dir string
	// DataDir is the data directory, whose file system's use is shown.
	DataDir   string
	Appliance bool
	// ProcDir is /proc (meminfo, uptime); tests point it elsewhere.
	ProcDir string
	// Synced says whether the kernel's clock is synchronised, and whether
	// that is known; nil: adjtimex(2).
	Synced func() (synced, known bool)
	Logger *slog.Logger // nil: slog.Default()

	s   *Server
	log *slog.Logger
}

// Log viewer limits.
const (
	defaultLogLimit = 200
	maxLogLimit     = 1000
)

// SystemPage registers the System page and its routes.
func (s *Server) SystemPage(p *SystemPage) {
	if p.Dir == "" {
		panic("web: SystemPage.Dir is required")
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.ProcDir == "" {
		p.ProcDir = "/proc"
	}
	if p.Synced == nil {
		p.Synced = kernelSynced
	}
	p.s = s
	p.log = p.Logger.With("pkg", "web", "part", "system")
	for _, r := range []Route{
		{Method: "GET", Path: "/api/v1/system/status", Role: auth.Admin, Section: "system",
			Summary: "The box: version, uptime, disk, memory, time, NTP servers, network and host name", Handler: http.HandlerFunc(p.statusAPI)},
		{Method: "GET", Path: "/api/v1/system/logs", Role: auth.Admin, Section: "system",
			Summary: "Ringbox's recent log, oldest first (?level=debug|info|warn|error, limit=1..1000, default 200)", Handler: http.HandlerFunc(p.logsAPI)},
		{Method: "POST", Path: "/api/v1/system/reboot", Role: auth.Admin,
			Summary: "Reboot the box after a short drain of the calls (409 when not running as the appliance)", Handler: http.HandlerFunc(p.power("reboot"))},
		{Method: "POST", Path: "/api/v1/system/shutdown", Role: auth.Admin,
			Summary: "Power the box off after a short drain of the calls (409 when not running as the appliance)", Handler: http.HandlerFunc(p.power("shutdown"))},
	} {
		s.HandleRoute(r)
	}
	s.HandlePage("GET /system", auth.Admin, p.page)
	s.HandlePage("POST /system/network", auth.Admin, p.networkForm)
	s.HandlePage("POST /system/ntp", auth.Admin, p.ntpForm)
	s.HandlePage("POST /system/bans/lift", auth.Admin, p.liftForm) // security.go
}

// ---- what the box is doing ----

type diskUse struct {
	Path  string `json:"path"`
	Total uint64 `json:"total_bytes"`
	Used  uint64 `json:"used_bytes"`
	Free  uint64 `json:"free_bytes"` // available to ringbox (not root's reserve)
}

type memUse struct {
	Total     uint64 `json:"total_bytes"`     // MemTotal
	Available uint64 `json:"available_bytes"` // MemAvailable
	GoHeap    uint64 `json:"go_heap_bytes"`   // live heap objects
	GoSys     uint64 `json:"go_sys_bytes"`    // all the Go runtime got from the system
}

type timeInfo struct {
	Now      time.Time `json:"now"`
	TimeZone string    `json:"timezone"`
	// Synchronised: the kernel's clock is disciplined by NTP; null when
	// that cannot be told (a clock stepped by sntp looks unsynchronised
	// to the kernel).
	Synchronised *bool `json:"synchronised"`
}

type ntpInfo struct {
	Servers []string `json:"servers"`
	Default bool     `json:"default"` // none saved: DHCP's, else pool.ntp.org
}

type networkInfo struct {
	NetworkConfig
	Addresses []string `json:"addresses"` // in use now, loopback aside
}

type systemStatus struct {
	Version             string      `json:"version"`
	Appliance           bool        `json:"appliance"`
	UptimeSeconds       int64       `json:"uptime_seconds"`        // ringbox's
	SystemUptimeSeconds int64       `json:"system_uptime_seconds"` // the kernel's; 0 when unknown
	Disk                *diskUse    `json:"disk"`
	Memory              memUse      `json:"memory"`
	Time                timeInfo    `json:"time"`
	NTP                 ntpInfo     `json:"ntp"`
	Network             networkInfo `json:"network"`
	Hostname            string      `json:"hostname"`       // the running one
	SavedHostname       string      `json:"saved_hostname"` // set for the next boot; "": the image's
	Errors              []string    `json:"errors,omitempty"`
}

func (p *SystemPage) status() systemStatus {
	s := p.s
	now := s.cfg.Now()
	st := systemStatus{
		Version:       s.cfg.Version,
		Appliance:     p.Appliance,
		UptimeSeconds: int64(now.Sub(s.cfg.Started).Seconds()),
		Time:          timeInfo{Now: now, TimeZone: s.timeZone()},
	}
	fail := func(what string, err error) {
		p.log.Warn("system status", "what", what, "err", err)
		st.Errors = append(st.Errors, what+": "+err.Error())
	}
	if synced, known := p.Synced(); known {
		st.Time.Synchronised = &synced
	}
	if up, err := os.ReadFile(filepath.Join(p.ProcDir, "uptime")); err == nil {
		if f := strings.Fields(string(up)); len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				st.SystemUptimeSeconds = int64(v)
			}
		}
	}
	if p.DataDir != "" {
		var fs unix.Statfs_t
		if err := unix.Statfs(p.DataDir, &fs); err != nil {
			fail("disk", fmt.Errorf("statfs %s: %w", p.DataDir, err))
		} else {
			bs := uint64(fs.Bsize)
			st.Disk = &diskUse{Path: p.DataDir, Total: fs.Blocks * bs, Used: (fs.Blocks - fs.Bfree) * bs, Free: fs.Bavail * bs}
		}
	}
	if t, a, err := readMeminfo(filepath.Join(p.ProcDir, "meminfo")); err != nil {
		fail("memory", err)
	} else {
		st.Memory.Total, st.Memory.Available = t, a
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.Memory.GoHeap, st.Memory.GoSys = ms.HeapAlloc, ms.Sys

	if text, err := readSmallFile(p.Dir, ntpFile); err != nil {
		fail("ntp", err)
	} else {
		st.NTP.Servers = parseNTPFile(text)
	}
	if st.NTP.Servers == nil {
		st.NTP.Servers, st.NTP.Default = []string{}, true
	}
	if text, err := readSmallFile(p.Dir, networkFile); err != nil {
		fail("network", err)
		st.Network.NetworkConfig = NetworkConfig{Mode: "dhcp"}
	} else {
		st.Network.NetworkConfig = parseNetworkFile(text)
	}
	st.Network.Addresses = currentAddresses()
	st.Hostname, _ = os.Hostname()
	if text, err := readSmallFile(p.Dir, hostnameFile); err != nil {
		fail("hostname", err)
	} else {
		st.SavedHostname = strings.TrimSpace(text)
	}
	return st
}

func readMeminfo(path string) (total, avail uint64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read meminfo: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		switch k {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail = n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("read meminfo: %w", err)
	}
	if total == 0 {
		return 0, 0, errors.New("read meminfo: no MemTotal")
	}
	return total, avail, nil
}

func currentAddresses() []string {
	out := []string{}
	ifs, err := net.Interfaces()
	if err != nil {
		return out
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 || ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLinkLocalUnicast() {
				out = append(out, ifc.Name+" "+n.String())
			}
		}
	}
	return out
}

// kernelSynced asks adjtimex(2): TIME_ERROR means the clock is not
// disciplined (no ntpd, or stepped since).
func kernelSynced() (bool, bool) {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	if err != nil {
		return false, false
	}
	return state != unix.TIME_ERROR, true
}

func (p *SystemPage) statusAPI(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, p.status())
}

// ---- log viewer ----

var logLevels = []string{"debug", "info", "warn", "error"}

// logQuery reads level and limit; "" means the default.
func logQuery(level, limit string) (slog.Level, int, error) {
	lv := slog.LevelInfo
	if level != "" {
		if err := lv.UnmarshalText([]byte(level)); err != nil {
			return 0, 0, fmt.Errorf("level %q: want debug, info, warn or error", clipText(level))
		}
	}
	n := defaultLogLimit
	if limit != "" {
		v, err := strconv.Atoi(limit)
		if err != nil || v < 1 || v > maxLogLimit {
			return 0, 0, fmt.Errorf("limit %q: want a number from 1 to %d", clipText(limit), maxLogLimit)
		}
		n = v
	}
	return lv, n, nil
}

func (p *SystemPage) logs(lv slog.Level, n int) []logring.Record {
	if p.Logs == nil {
		return []logring.Record{}
	}
	return p.Logs.Last(n, lv)
}

func (p *SystemPage) logsAPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lv, n, err := logQuery(q.Get("level"), q.Get("limit"))
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeList(w, p.logs(lv, n))
}

// ---- reboot and shutdown ----

func (p *SystemPage) power(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p.Power == nil {
			WriteError(w, http.StatusConflict, ErrNotAppliance.Error())
			return
		}
		pr, _ := PrincipalFrom(r.Context())
		var err error
		if action == "reboot" {
			err = p.Power.Reboot(pr.Login)
		} else {
			err = p.Power.Shutdown(pr.Login)
		}
		switch {
		case errors.Is(err, ErrNotAppliance):
			WriteError(w, http.StatusConflict, ErrNotAppliance.Error())
		case err != nil:
			WriteInternalError(w, r, p.log, fmt.Errorf("%s: %w", action, err))
		default:
			p.log.Warn("power action requested", "action", action, "login", pr.Login)
			state := map[string]string{"reboot": "rebooting", "shutdown": "shutting down"}[action]
			WriteJSON(w, http.StatusAccepted, map[string]string{"state": state})
		}
	}
}

// ---- the page ----

type networkFormData struct {
	Mode, Address, Gateway, DNS, Hostname string
	Errors                                fieldErrors
}

type systemPageData struct {
	pageData
	Status      systemStatus
	Firmware    *update.Status
	FirmwareErr string
	Net         networkFormData
	NTPText     string
	NTPError    string
	Saved       string // "network", "ntp": the flash after a save
	Logs        []logring.Record
	LogLevel    string
	LogLevels   []string
	HasLogs     bool
	Loc         *time.Location
	Bans        []edge.Ban // the Security card (security.go)
	HasBans     bool       // a ban list is wired
	BanError    string
}

// fill completes d from the box's state; the forms keep what d has.
func (p *SystemPage) fill(r *http.Request, d *systemPageData) {
	pr, _ := PrincipalFrom(r.Context())
	d.pageData = p.s.filled(pageData{Title: "System", Page: "system", Active: "system", User: toJSON(pr)})
	d.Status = p.status()
	if p.Bans != nil {
		d.HasBans, d.Bans = true, p.Bans.Bans()
	}
	d.Loc, _ = time.LoadLocation(d.Status.Time.TimeZone)
	if p.FirmwareStatus != nil {
		fw, err := p.FirmwareStatus.Status()
		switch {
		case errors.Is(err, update.ErrNoSlots):
			// A development box: the card says updates come with the image.
		case err != nil:
			p.log.Error("firmware status", "err", err)
			d.FirmwareErr = err.Error()
		default:
			d.Firmware = &fw
		}
	}
	if d.Net.Mode == "" {
		n := d.Status.Network
		d.Net = networkFormData{Mode: n.Mode, Address: n.Address, Gateway: n.Gateway,
			DNS: strings.Join(n.DNS, " "), Hostname: d.Status.SavedHostname}
	}
	if d.NTPText == "" && d.NTPError == "" {
		d.NTPText = strings.Join(d.Status.NTP.Servers, "\n")
	}
	lv, n, err := logQuery(r.URL.Query().Get("level"), "")
	if err != nil {
		lv = slog.LevelInfo
	}
	d.LogLevel = strings.ToLower(lv.String())
	d.LogLevels = logLevels
	d.HasLogs = p.Logs != nil
	d.Logs = p.logs(lv, n)
}

func (p *SystemPage) render(w http.ResponseWriter, r *http.Request, status int, d systemPageData) {
	p.fill(r, &d)
	p.s.execute(w, status, "system", d)
}

func (p *SystemPage) page(w http.ResponseWriter, r *http.Request) {
	d := systemPageData{Saved: r.URL.Query().Get("saved")}
	if d.Saved != "network" && d.Saved != "ntp" && d.Saved != "lifted" {
		d.Saved = ""
	}
	p.render(w, r, http.StatusOK, d)
}

const maxSystemForm = 8 << 10

func (p *SystemPage) networkForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSystemForm)
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusBadRequest, systemPageData{Net: networkFormData{Mode: "dhcp", Errors: fieldErrors{"mode": "the form could not be read: " + err.Error()}}})
		return
	}
	get := r.PostForm.Get
	c, host, errs := parseNetworkForm(get)
	if errs != nil {
		p.render(w, r, http.StatusBadRequest, systemPageData{Net: networkFormData{
			Mode: orDefault(get("mode"), "dhcp"), Address: get("address"), Gateway: get("gateway"),
			DNS: get("dns"), Hostname: get("hostname"), Errors: errs}})
		return
	}
	// Keep an interface name set by hand in the old file.
	if old, err := readSmallFile(p.Dir, networkFile); err == nil {
		c.Iface = parseNetworkFile(old).Iface
	}
	hostText := ""
	if host != "" {
		hostText = host + "\n"
	}
	if err := writeFileAtomic(p.Dir, networkFile, c.file()); err != nil {
		p.saveFailed(w, r, err)
		return
	}
	if err := writeFileAtomic(p.Dir, hostnameFile, hostText); err != nil {
		p.saveFailed(w, r, err)
		return
	}
	pr, _ := PrincipalFrom(r.Context())
	p.log.Info("network settings saved for the next boot", "login", pr.Login, "mode", c.Mode, "address", c.Address, "hostname", host)
	http.Redirect(w, r, "/system?saved=network#network", http.StatusSeeOther)
}

func (p *SystemPage) ntpForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSystemForm)
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusBadRequest, systemPageData{NTPError: "the form could not be read: " + err.Error()})
		return
	}
	text := r.PostForm.Get("servers")
	servers, err := parseNTPForm(text)
	if err != nil {
		p.render(w, r, http.StatusBadRequest, systemPageData{NTPText: text, NTPError: err.Error()})
		return
	}
	content := ""
	if len(servers) > 0 {
		content = ntpFileText(servers)
	}
	if err := writeFileAtomic(p.Dir, ntpFile, content); err != nil {
		p.saveFailed(w, r, err)
		return
	}
	pr, _ := PrincipalFrom(r.Context())
	p.log.Info("NTP servers saved for the next boot", "login", pr.Login, "servers", strings.Join(servers, " "))
	http.Redirect(w, r, "/system?saved=ntp#time", http.StatusSeeOther)
}

func (p *SystemPage) saveFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.log.Error("save system settings", "err", err)
	http.Error(w, "the settings could not be saved: "+err.Error(), http.StatusInternalServerError)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ---- how the page words the figures ----

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func percent(part, whole uint64) int {
	if whole == 0 {
		return 0
	}
	return int((part*100 + whole/2) / whole)
}

// UsedPercent is the share of the file system in use.
func (d *diskUse) UsedPercent() int { return percent(d.Used, d.Total) }

// Text is the disk use in words.
func (d *diskUse) Text() string {
	return fmt.Sprintf("%s of %s used (%d%%), %s free", humanBytes(d.Used), humanBytes(d.Total), d.UsedPercent(), humanBytes(d.Free))
}

// UsedPercent is the share of memory not available.
func (m memUse) UsedPercent() int {
	if m.Available > m.Total {
		return 0
	}
	return percent(m.Total-m.Available, m.Total)
}

// Text is the memory use in words.
func (m memUse) Text() string {
	if m.Total == 0 {
		return "unknown"
	}
	return fmt.Sprintf("%s of %s in use (%d%%), %s available", humanBytes(m.Total-min(m.Available, m.Total)), humanBytes(m.Total), m.UsedPercent(), humanBytes(m.Available))
}

// GoText is the Go runtime's share.
func (m memUse) GoText() string {
	return fmt.Sprintf("heap %s, %s from the system", humanBytes(m.GoHeap), humanBytes(m.GoSys))
}

func humanDuration(sec int64) string {
	d := time.Duration(sec) * time.Second
	days := int64(d / (24 * time.Hour))
	d -= time.Duration(days) * 24 * time.Hour
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h %d min", days, h, m)
	case h > 0:
		return fmt.Sprintf("%d h %d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d s", sec)
}

// UptimeText is how long ringbox has run.
func (s systemStatus) UptimeText() string { return humanDuration(s.UptimeSeconds) }

// SystemUptimeText is how long the box has run.
func (s systemStatus) SystemUptimeText() string {
	if s.SystemUptimeSeconds == 0 {
		return ""
	}
	return humanDuration(s.SystemUptimeSeconds)
}

type sysFieldData struct{ Name, Label, Value, Error, Help string }

// Field is a field of the network form, with its value and error, for
// the template.
func (d systemPageData) Field(name string) sysFieldData {
	f := sysFieldData{Name: name, Error: d.Net.Errors[name]}
	switch name {
	case "address":
		f.Label, f.Value, f.Help = "Address / prefix", d.Net.Address, "e.g. 192.168.1.10/24"
	case "gateway":
		f.Label, f.Value, f.Help = "Gateway", d.Net.Gateway, "The router, on the same network; may be empty."
	case "dns":
		f.Label, f.Value, f.Help = "DNS servers", d.Net.DNS, "Up to 3 addresses, separated by spaces."
	case "hostname":
		f.Label, f.Value, f.Help = "Host name", d.Net.Hostname, "Letters, digits and hyphens; empty: the image's own."
	}
	return f
}
