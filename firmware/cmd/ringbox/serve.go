package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"ringbox/audio/fsk"
	"ringbox/audio/moh"
	"ringbox/board/analog"
	"ringbox/board/panel"
	"ringbox/firmware/acd"
	"ringbox/firmware/audit"
	"ringbox/firmware/backup"
	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/flow"
	"ringbox/firmware/library"
	"ringbox/firmware/logring"
	"ringbox/firmware/media"
	"ringbox/firmware/presence"
	"ringbox/firmware/ring"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/firmware/tlscert"
	"ringbox/firmware/voicemail"
	"ringbox/firmware/watchdog"
	"ringbox/firmware/webrtc"
	"ringbox/web"
)

type serveFlags struct {
	data, sipAddr, httpAddr, board, siteFile string
	httpsAddr                                string // empty: no HTTPS
	sipTLS                                   string // --sip-tls: "", an address, or "off" (siptls.go)
	logLevel, logFormat                      string
	publicIP, rtpPorts, realm, digestAlgs    string
	webrtcICE                                string
	algs                                     []string // --sip-digest in RFC 7616 names; nil: the site decides
	mediaTimeout, trunkTimeout               time.Duration
	pollEvery                                time.Duration
	debugAddr                                string
	watchdog                                 string
	appliance                                bool
	systemDir                                string
	logs                                     *logring.Ring // the System page's log viewer
}

// serveFlagSet declares the flags of ringbox serve into f; the data
// directory comes back separately (its default reads the environment).
func serveFlagSet(f *serveFlags) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	data := dataFlag(fs)
	fs.StringVar(&f.sipAddr, "sip", ":5060", "SIP listen address, UDP and TCP")
	fs.StringVar(&f.httpAddr, "http", ":8080", "web and API listen address; with --https it redirects to HTTPS (but /api/v1/health and /metrics)")
	fs.StringVar(&f.sipTLS, "sip-tls", "", sipTLSUsage) // siptls.go
	fs.StringVar(&f.httpsAddr, "https", "", "HTTPS listen address for the web page and API, e.g. :443, with the certificate in DATA/tls (self-signed on first start, or uploaded); off when empty")
	fs.StringVar(&f.board, "board", "sim", boardUsage)
	fs.StringVar(&f.siteFile, "site", "", "site file imported on first start only (empty database)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "text or json")
	fs.StringVar(&f.publicIP, "public-ip", "", "address phones reach the box at (SIP Contact, SDP); default: from --sip, else the primary interface")
	fs.StringVar(&f.rtpPorts, "rtp-ports", "10000-20000", "RTP port range, even start")
	fs.StringVar(&f.webrtcICE, "webrtc-ice", "", "STUN/TURN URLs for agents' browser phones, comma-separated (turn:user:pass@host:port); empty: LAN only")
	fs.StringVar(&f.realm, "realm", "ringbox", "SIP digest realm")
	fs.StringVar(&f.digestAlgs, "sip-digest", "", "digest challenges offered to phones, in order: md5, sha256 or both (sha256,md5); overrides the site's system.sip_digest, whose default is md5 alone")
	fs.DurationVar(&f.mediaTimeout, "media-timeout", 60*time.Second, "end a call after this long without RTP (held calls excluded); the site's system.media_timeout overrides it")
	fs.DurationVar(&f.trunkTimeout, "trunk-timeout", 32*time.Second, "how long a trunk may take to answer an outbound call before the next trunk is tried")
	fs.DurationVar(&f.pollEvery, "config-poll", time.Second, "how often to look for configuration changes made by other processes")
	fs.StringVar(&f.watchdog, "watchdog", "auto", "hardware watchdog device, fed while the SIP, ACD and store loops are alive (a hung loop resets the box); auto: "+watchdog.DefaultDevice+" with a hardware --board, none with the sim board (a laptop's own watchdog is left alone); empty: none")
	fs.BoolVar(&f.appliance, "appliance", false, "running as the appliance image (its init script sets it): the System page may reboot and power off the box")
	fs.StringVar(&f.systemDir, "system-dir", "", "where the System page saves network.conf, hostname and ntp.conf for the init scripts; default /data with --appliance, else DATA/system")
	fs.StringVar(&f.debugAddr, "debug-addr", "", "serve Go's profiler (/debug/pprof/) on this address, e.g. 127.0.0.1:6060; off when empty")
	return fs, data
}

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	fs, data := serveFlagSet(&f)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageError{fmt.Errorf("unexpected argument %q", pos[0])}
	}
	f.data = *data
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	// The System page shows the newest records; they still go to stderr.
	var level slog.Level
	level.UnmarshalText([]byte(f.logLevel)) // newLogger checked it
	f.logs = logring.New(2000, 1<<20, level)
	log = slog.New(f.logs.Handler(log.Handler()))
	slog.SetDefault(log)
	if err := checkBoard(f.board); err != nil {
		return usageError{err}
	}
	portMin, portMax, err := parsePortRange(f.rtpPorts)
	if err != nil {
		return usageError{err}
	}
	if f.digestAlgs != "" {
		algs, err := site.ParseDigest(strings.Split(f.digestAlgs, ","))
		if err != nil {
			return usageError{fmt.Errorf("--sip-digest %q: %v", f.digestAlgs, err)}
		}
		f.algs = algs
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = serve(ctx, f, portMin, portMax, log, stdout)
	if errors.Is(err, errRestart) {
		return restartSelf(log)
	}
	if pa, ok := errors.AsType[powerAction](err); ok {
		return doPower(ctx, pa, log) // power.go: until init's SIGTERM
	}
	return err
}

func parsePortRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 1024 || hi > 65534 || lo >= hi {
		return 0, 0, fmt.Errorf("--rtp-ports %q: want LOW-HIGH between 1024 and 65534", s)
	}
	return lo, hi, nil
}

// publicAddr picks the address phones reach the box at.
func publicAddr(flagIP, sipAddr string) (netip.Addr, error) {
	if flagIP != "" {
		a, err := netip.ParseAddr(flagIP)
		if err != nil {
			return netip.Addr{}, usageError{fmt.Errorf("--public-ip %q: %v", flagIP, err)}
		}
		return a, nil
	}
	host, _, err := net.SplitHostPort(sipAddr)
	if err != nil {
		return netip.Addr{}, usageError{fmt.Errorf("--sip %q: %v", sipAddr, err)}
	}
	if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
		return a, nil
	}
	// The address of the interface that routes outward; no packet is sent.
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil {
		defer c.Close()
		if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
			if a, ok := netip.AddrFromSlice(ua.IP); ok {
				return a.Unmap(), nil
			}
		}
	}
	return netip.MustParseAddr("127.0.0.1"), nil
}

// mediaTimeout is the RTP inactivity that ends a call: the site's
// system.media_timeout, else the --media-timeout flag.
func mediaTimeout(st *site.Site, flag time.Duration) time.Duration {
	if st != nil && st.System.MediaTimeout > 0 {
		return st.System.MediaTimeout.D()
	}
	return flag
}

// mediaBind is the address RTP sockets bind to. With --public-ip the
// announced address is a NAT router's, not the box's: they bind to --sip's
// address when it names one, else to every address (of the announced
// address's family).
func mediaBind(publicIP, sipAddr string, pub netip.Addr) netip.Addr {
	if publicIP == "" {
		return pub
	}
	if host, _, err := net.SplitHostPort(sipAddr); err == nil {
		if a, err := netip.ParseAddr(host); err == nil && !a.IsUnspecified() {
			return a.Unmap()
		}
	}
	if pub.Is6() && !pub.Is4In6() {
		return netip.IPv6Unspecified()
	}
	return netip.IPv4Unspecified()
}

func serve(ctx context.Context, f serveFlags, portMin, portMax int, log *slog.Logger, stdout io.Writer) error {
	started := time.Now()
	// The start-up's stages at debug level (docs/firmware.md, "Boot time"):
	// where the time to SIP answering goes on a slow box.
	stage := func(name string) {
		log.Debug("start-up", "stage", name, "elapsed", time.Since(started).Round(time.Millisecond))
	}
	// A restore shuts the box down by this cancel, the same path as SIGTERM.
	ctx, restart := context.WithCancelCause(ctx)
	defer restart(nil)
	limit := memLimit(log) // memory.go: limit, call admission, release
	pub, err := publicAddr(f.publicIP, f.sipAddr)
	if err != nil {
		return err
	}
	// Take the web port first: a port in use fails before anything else
	// is touched.
	httpLn, err := net.Listen("tcp", f.httpAddr)
	if err != nil {
		return fmt.Errorf("web: cannot listen on %s: %w", f.httpAddr, unwrapSyscall(err))
	}
	defer httpLn.Close()
	var httpsLn net.Listener
	if f.httpsAddr != "" {
		if httpsLn, err = net.Listen("tcp", f.httpsAddr); err != nil {
			return fmt.Errorf("web: cannot listen on %s: %w", f.httpsAddr, unwrapSyscall(err))
		}
		defer httpsLn.Close()
	}
	sipTLSLn, err := listenSIPTLS(f.sipTLS, f.sipAddr, log) // siptls.go; nil when off
	if err != nil {
		return err
	}
	if sipTLSLn != nil {
		defer sipTLSLn.Close()
		f.sipTLS = sipTLSLn.Addr().String() // for the banner
	} else {
		f.sipTLS = "off"
	}

	// A restore is applied while nothing has the database open. If it
	// fails the previous data is back, and the box starts on it.
	// A confirmed factory reset erases everything first (board.go).
	forgetSystemSettings(f.data, systemDir(f.systemDir, f.appliance, f.data), log) // power.go
	if _, err := backup.ErasePending(f.data, log); err != nil {
		log.Error("factory reset not finished; it is tried again at the next start", "err", err)
	}
	if _, err := backup.ApplyPending(f.data, log); err != nil {
		log.Error("restore not applied; starting on the previous data", "err", err)
	}
	stage("restore checked")
	// The web certificate lives in the data directory, so it is made or
	// loaded after a factory reset or restore has been applied. Making it
	// takes a quarter second on a slow box and SIP does not need it: it is
	// made while the database opens, and waited for where the web needs it.
	var certs *tlscert.Store
	var certErr error
	var certWG sync.WaitGroup
	defer certWG.Wait() // an early return still joins it
	// certReady is closed once certs and certErr are set.
	certReady := make(chan struct{})
	if httpsLn == nil && sipTLSLn == nil {
		close(certReady)
	} else {
		certWG.Go(func() {
			defer close(certReady)
			certs, certErr = tlscert.Open(tlscert.Options{Dir: filepath.Join(f.data, "tls"), PublicIP: publicIPFlag(f.publicIP), Logger: log})
		})
	}
	// The hardware watchdog is fed while these loops beat (docs/operator.md,
	// "Watchdog and restarts"); it runs once everything is wired, below.
	wd := watchdog.New(watchdog.Config{Device: watchdogDevice(f.watchdog, f.board), Logger: log})
	storeBeat := wd.Register("store", beatEvery)
	st, err := store.Open(ctx, f.data, store.Options{Realm: f.realm, Alive: storeBeat.Alive, AliveEvery: beatEvery,
		// After a firmware rollback the database may be newer than this
		// ringbox: the copy kept before its migration is used.
		UsePreMigrationCopy: true})
	if err != nil {
		return err
	}
	defer st.Close()
	stage("store open")
	// Calls that were up when the previous process died get their CDRs
	// (cause restart) before any new call can be taken.
	if ended, err := st.EndInterruptedCalls(ctx); err != nil {
		log.Error("calls interrupted by the restart not recorded", "err", err)
	} else if len(ended) > 0 {
		log.Warn("calls interrupted by a restart recorded", "calls", len(ended))
	}

	ver, err := st.ConfigVersion(ctx)
	if err != nil {
		return err
	}
	lib := library.New(library.Config{DataDir: f.data, Store: st, Logger: log})
	if ver == 0 && f.siteFile != "" {
		sf, err := readSiteFile(f.siteFile)
		if err == nil {
			_, err = importSiteFile(ctx, lib, sf, "serve:--site", store.ImportOptions{})
		}
		if err != nil {
			return fmt.Errorf("import %s: %w", f.siteFile, err)
		}
		log.Info("imported site file on first start", "file", f.siteFile)
		if ver, err = st.ConfigVersion(ctx); err != nil {
			return err
		}
	}
	cur, err := st.ExportSite(ctx)
	if err != nil {
		return err
	}
	cfg, err := config.New(cur, ver)
	if err != nil {
		return fmt.Errorf("configuration in %s: %w", f.data, err)
	}

	stage("configuration loaded")
	bus := events.New()
	box, err := openBoard(f.board, f.data, cur, log) // board.go
	if err != nil {
		return err
	}
	defer box.Close()
	pres := presence.New(bus)
	audio := library.NewCache(f.data, cfg.Site, log)
	hub := moh.New()
	defer hub.Close()
	audio.LoadHoldMusic(hub, cur)

	stage("board and hold music")
	med, err := media.NewEngine(media.Config{IP: pub, Bind: mediaBind(f.publicIP, f.sipAddr, pub), PortMin: portMin, PortMax: portMax,
		Timeout: mediaTimeout(cfg.Site(), f.mediaTimeout), Logger: log})
	if err != nil {
		return err
	}
	// Agents' browser pages as phones; the agent page's WebSocket attaches
	// them (web.BrowserPhones). A --public-ip is announced as well as the
	// LAN address, for browsers outside.
	nat := ""
	if f.publicIP != "" {
		nat = pub.String()
	}
	phones, err := webrtc.NewHub(webrtc.Config{Media: med, ICEServers: webrtc.ICEServers(f.webrtcICE), PublicIP: nat, Logger: log, Bus: bus})
	if err != nil {
		return err
	}
	defer phones.Close()
	// Voicemail e-mails go through the outbox (retried until sent); the
	// sender stops after the calls that queue into it.
	mailer := &voicemail.Mailer{Outbox: st, DataDir: f.data, Site: cfg.Site, Logger: log}
	mailer.Start()
	defer mailer.Close()
	vm := &voicemail.Service{Store: st, DataDir: f.data, Prompts: audio.Source, Logger: log, Outbox: mailer, PINs: st}
	defer vm.Close()
	auditLim := &audit.Limiter{} // one budget for refused calls and refused web requests (audit.go)
	fl := &flow.Engine{
		Config: cfg, CDR: st, Bus: bus, Logger: log,
		Presence: pres, HuntState: st,
		Prompts: audio.Source,
		Music: func(class string) call.Source {
			l, err := hub.Listen(class, 8000)
			if err != nil {
				return nil
			}
			return l
		},
		DataDir:       f.data,
		RecordingsDir: filepath.Join(f.data, "recordings"),
		Voicemail:     vm,
		PromptStore:   lib,                          // *70: prompts recorded from a phone
		Audit:         flowAudit(st, auditLim, log), // audit.go: refused attempts rate-limited
		OverrideStore: overrides{st},
		// Offers publishes agent.offered/agent.offer_ended and takes
		// declines from the agent's page.
		Ringer: &ring.Ringer{Prompt: audio.Source, Logger: log, Offers: ring.NewOffers(func(p events.Payload) { bus.Publish(p) }),
			Presence: pres}, // ringing extensions: busy lamps blink

	}
	// Busy lamps: their ACD and SIP ends are set once both exist.
	lamps := &presence.Lamps{}
	guard := newEdgeFilter(ctx, st, bus, cfg, log) // edge.go: bans, rate limits, allow lists
	sipSrv, err := sip.New(sip.Config{
		ListenAddr:   f.sipAddr,
		PublicHost:   pub.String(),
		Realm:        f.realm,
		Lookup:       accountLookup(cfg, f.realm),
		Site:         cfg.Site,
		Media:        med,
		Handler:      sipHandler{fl},
		Bus:          bus,
		Logger:       log,
		UserAgent:    cfg.Site().System.UserAgent(), // not the version: it tells scanners what to try
		ReadFilter:   guard.Allow,
		Edge:         edgeHooks(guard),
		Algorithms:   f.algs, // empty: the site's system.sip_digest, live
		TrunkTimeout: f.trunkTimeout,
		MaxCalls:     maxCallsFor(limit),
		Alive:        wd.Register("sip", beatEvery).Alive,
		AliveEvery:   beatEvery,
		Admit:        newMemAdmit(limit).admit,
		Lamps:        lamps, // BLF keys (dialog event package)
		Voicemail: func(ext string) (int, int) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, o, err := st.CountVoicemail(ctx, ext)
			if err != nil {
				log.Warn("mwi count", "ext", ext, "err", err)
			}
			return n, o
		},
		// SIP over TLS serves the web's certificate store: an upload or a
		// renewal serves both from the next handshake (siptls.go).
		TLSListener:    sipTLSLn,
		TLSCertificate: sipCertificate(certReady, &certs, &certErr),
	})
	if err != nil {
		return err
	}
	stage("sip set up")
	restoreOverrides(ctx, st, fl, log)
	vm.MWI = sipSrv
	// The analog ports are extensions (FXS) and trunks (FXO): their engine
	// rings them and starts their calls through the flow.
	lines := analog.New(analog.Config{
		Ports: box.Lines(), Site: cfg.Site, Media: med, Bus: bus, Logger: log,
		Handle: func(ctx context.Context, in call.Leg, info analog.CallInfo) {
			fl.Handle(ctx, in, flow.Inbound{CallID: info.CallID, From: info.From, To: info.To,
				Extension: info.Extension, Trunk: info.Trunk, DID: info.DID})
		},
		Music: func() call.Source { return fl.Music("default") },
	})
	fl.Dialer = webrtc.Dialer{Hub: phones, Next: lines.Dialer(sipSrv.Dialer())}
	fl.Bridger = sipSrv.Dialer() // bridges any legs on media streams, browsers' too
	fl.Conferences = med         // meet-me rooms and three-way calls mix on the media engine
	queues := acd.New(acd.Config{
		Config: cfg, Dialer: fl.Dialer, Ringer: fl.Ringer,
		Presence: pres, Bus: bus, Store: st, MOH: hub, Logger: log,
		Prompt: audio.Prompt,
		Alive:  wd.Register("acd", beatEvery).Alive, AliveEvery: beatEvery,
	})
	fl.Queues = queues
	fl.Agents = queues
	fl.Features = queues.Features()
	wireLamps(lamps, bus, pres, queues, cfg, sipSrv, log) // wiring.go
	fl.FeaturePrefixes = queues.FeaturePrefixes()

	stage("engines wired")
	set := metrics.NewSet()
	registerMetrics(set, bus, med, sipSrv)
	registerTollMetrics(set, fl.TollGuard())
	registerEdgeMetrics(set, guard) // edge.go
	ws := web.New(web.Config{
		Auth:     st,
		Bus:      bus,
		Version:  version,
		Started:  started,
		TimeZone: func() string { return cfg.Site().System.Timezone },
		Site:     cfg.Site,
		Logger:   log,
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			metrics.WritePrometheus(w, true)
			set.WritePrometheus(w)
		}),
	})
	for _, r := range web.SystemRoutes(web.System{Store: st, SIP: sipSrv, Config: cfg, Bus: bus}) {
		ws.HandleRoute(r)
	}
	// The board page and API; the simulated exchange's caller ID and what
	// a simulated phone displayed go through audio/fsk like the engine's.
	ws.BoardPanel(&web.BoardPanel{Board: box, Bus: bus, Lines: lines, Logger: log,
		CallerIDAudio: func(zone, number, name string) []int16 {
			return fsk.OnHook(fsk.StandardFor(zone), fsk.Message{Time: time.Now(), Number: number, Name: name}, analog.Level)
		},
		DecodeCallerID: func(zone string, pcm []int16) (string, string, bool) {
			d := fsk.NewDemod(fsk.StandardFor(zone))
			for f := range slices.Chunk(pcm, fsk.Rate/50) {
				if m, ok := d.Feed(f); ok {
					return m.Number, m.Name, true
				}
			}
			return "", "", false
		},
	})
	for _, r := range web.AgentRoutes(queues) {
		ws.HandleRoute(r)
	}
	// The agent's page; its WebSocket attaches the page to the browser
	// phone hub.
	ws.AgentDesk(&web.AgentDesk{ACD: queues, Offers: fl.Ringer.Offers, Store: st, Logger: log, Phones: phones, Callback: fl})
	for _, r := range web.LibraryRoutes(lib, log) {
		ws.HandleRoute(r)
	}
	for _, r := range web.RoutingRoutes(fl) {
		ws.HandleRoute(r)
	}
	for _, r := range web.VoicemailOutboxRoutes(mailer) {
		ws.HandleRoute(r)
	}
	// Managers see the calls of their team only (web/scope.go).
	ws.Dashboard(&web.Dashboard{Calls: fl, ACD: queues, Config: cfg, CallScope: web.LiveCallScope(cfg.Site), Logger: log})
	// A configuration change is published by the poll below or, after an
	// apply in the console, at once; one at a time.
	var reloadMu sync.Mutex
	onConfig := func(s *site.Site, d config.Changes) {
		sipSrv.Reload(s)
		med.SetTimeout(mediaTimeout(s, f.mediaTimeout))
		guard.SetPolicy(ctx, edgePolicy(s.System))
		// Cheap when nothing changed: classes whose audio is the same
		// keep playing undisturbed.
		audio.Prune(s)
		audio.LoadHoldMusic(hub, s)
		bus.Publish(events.ConfigChanged{Version: cfg.Current().Version, Changes: d})
	}
	reload := func(ctx context.Context) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		return cfg.Reload(ctx, st, log, onConfig)
	}
	_, sipPortStr, _ := net.SplitHostPort(f.sipAddr)
	sipPort, _ := strconv.Atoi(sipPortStr)
	ws.Console(&web.Console{
		Store: st, Config: cfg, Flow: fl, Library: lib, SIP: sipSrv, Reload: reload,
		SIPHost: hostFor(pub), SIPPort: sipPort, Realm: f.realm, Logger: log,
	})
	// Firmware updates (update.go): the System page's firmware section.
	upd, err := newUpdater(log)
	if err != nil {
		log.Error("firmware updates unavailable", "err", err)
		upd = noSlots{}
	}
	for _, r := range web.FirmwareRoutes(web.Firmware{Updater: upd, TempDir: filepath.Join(updateDir, "upload"), Logger: log}) {
		ws.HandleRoute(r)
	}
	reset := factoryReset(ws, bus, f.data, func() { restart(errRestart) }, log) // board.go
	ws.SystemPage(&web.SystemPage{Dir: systemDir(f.systemDir, f.appliance, f.data), DataDir: f.data, Appliance: f.appliance, FirmwareStatus: upd,
		Logs: f.logs, Power: &power{appliance: f.appliance, stop: restart, log: log}, Logger: log, Bans: guard}) // power.go
	for _, r := range web.SecurityRoutes(&web.Security{Bans: guard, Logger: log}) { // the SIP bans (edge.go)
		ws.HandleRoute(r)
	}
	ws.Reports(&web.Reports{Store: st, Config: cfg, RecordingsDir: filepath.Join(f.data, "recordings"),
		DataDir: f.data, Voicemail: vm, Logger: log})
	certWG.Wait()
	if certErr != nil {
		return certErr
	}
	stage("certificate")
	for _, r := range web.CertificateRoutes(certs, log) { // certs nil: they say HTTPS is off
		ws.HandleRoute(r)
	}
	for _, r := range web.BackupRoutes(web.Backup{
		DataDir: f.data, Firmware: version, Site: func() string { return cfg.Site().System.Name }, Logger: log,
		Staging: &backup.Staging{Options: backup.InspectOptions{DataDir: f.data, Firmware: version, Store: st, Logger: log}},
		Restart: func() { restart(errRestart) },
	}) {
		ws.HandleRoute(r)
	}

	// The audit API and the audit of refused web requests (audit.go).
	ws.Audit(&web.Audit{Store: st, Limiter: auditLim, Logger: log})
	registerAuditMetrics(set, auditLim)

	stage("web wired")
	if f.debugAddr != "" {
		stopDebug, err := serveDebug(f.debugAddr, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	// The subsystems run until the calls are drained, not until the signal:
	// a call that ends during the drain still needs the media clock, the
	// ACD and the store.
	runCtx, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	// The watchdog outlives the subsystems: it is stopped (magic close)
	// only once they are joined, so a shutdown that hangs still resets.
	wdCtx, stopWatchdog := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWatchdog()
	wdDone := make(chan error, 1)
	go func() { wdDone <- wd.Run(wdCtx) }()
	var wg sync.WaitGroup
	wg.Go(func() { releaseWhenQuiet(runCtx, releaseEvery) })
	errc := make(chan error, 10)
	wg.Go(func() { errc <- med.Run(runCtx) })
	wg.Go(func() { errc <- hub.Run(runCtx) })
	wg.Go(func() { errc <- queues.Run(runCtx) })
	wg.Go(func() {
		(&panel.Panel{Board: box, Agents: queues, Config: cfg, Bus: bus, Reset: reset, Logger: log}).Run(runCtx)
	})
	wg.Go(func() { errc <- lines.Run(runCtx) })
	wg.Go(func() { errc <- sipSrv.Run(runCtx) })
	wg.Go(func() { guard.Run(runCtx) })
	wg.Go(func() { errc <- lamps.Run(runCtx) })
	hs := &http.Server{Handler: ws.Handler(), ReadHeaderTimeout: 10 * time.Second}
	hs.RegisterOnShutdown(ws.Close) // live event streams end with the server
	var tlsSrv *http.Server
	if httpsLn != nil {
		// The page and the API move to HTTPS; the HTTP port redirects,
		// except the machine endpoints (web.PlainHTTP).
		_, httpsPort, _ := net.SplitHostPort(httpsLn.Addr().String())
		hs.Handler = web.PlainHTTP(httpsPort, ws.Handler())
		tlsSrv = &http.Server{Handler: ws.Handler(), TLSConfig: certs.TLSConfig(), ReadHeaderTimeout: 10 * time.Second,
			// Browsers refusing the self-signed certificate end their
			// handshakes, one log line each: debug, not the default log.
			ErrorLog: slog.NewLogLogger(log.With("pkg", "web").Handler(), slog.LevelDebug)}
		tlsSrv.RegisterOnShutdown(ws.Close)
		wg.Go(func() {
			if err := tlsSrv.ServeTLS(httpsLn, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("web (https): %w", err)
			}
		})
		wg.Go(func() { errc <- certs.Run(runCtx) })
	}
	wg.Go(func() {
		if err := hs.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("web: %w", err)
		}
	})
	wg.Go(func() {
		t := time.NewTicker(f.pollEvery)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			if err := reload(runCtx); err != nil && runCtx.Err() == nil {
				log.Error("reload configuration", "err", err)
			}
		}
	})

	banner(stdout, f, pub, cur, st, certs)
	log.Info("ringbox started", "version", version, "sip", f.sipAddr, "http", httpLn.Addr().String(), "https", f.httpsAddr, "data", f.data)
	// The page templates are parsed off the path to SIP answering (web/ui.go).
	wg.Go(func() {
		if err := web.ParseTemplates(); err != nil {
			log.Error("web pages cannot be drawn", "err", err)
		}
	})

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-errc:
		if runErr != nil {
			log.Error("subsystem failed", "err", runErr)
		}
	}
	// The loops stop beating as they end; the drain below takes 30 s at
	// most, so one that lasts a minute is hung and the watchdog resets.
	wd.Drain(time.Minute)
	// Drain in order: no new calls, calls ended and their CDRs written, web
	// closed, the subsystems stopped and joined, then the database
	// (deferred) so nothing is half-written.
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	sipSrv.Shutdown(sctx)
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := fl.Wait(wctx); err != nil {
		log.Error("calls still running at shutdown; their CDRs may be missing", "err", err)
	}
	hs.Shutdown(sctx)
	if tlsSrv != nil {
		tlsSrv.Shutdown(sctx)
	}
	stopRun()
	wg.Wait()
	stopWatchdog()
	if err := <-wdDone; err != nil {
		log.Error("watchdog", "err", err)
	}
	if runErr != nil && errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	if runErr == nil && errors.Is(context.Cause(ctx), errRestart) {
		return errRestart
	}
	if pa, ok := errors.AsType[powerAction](context.Cause(ctx)); ok && runErr == nil {
		return pa
	}
	return runErr
}

// beatEvery is how often the SIP, ACD and store loops tell the watchdog
// they are alive; one is taken for hung after watchdog.Missed beats (15 s),
// longer than the store's busy timeout (5 s) or a slow commit on flash.
const beatEvery = 5 * time.Second

// errRestart ends serve when a restore asks the box to start again.
var errRestart = errors.New("restart to apply a restore")

// restartSelf replaces the process with a new ringbox serve, same binary,
// arguments and environment, which applies the pending restore before it
// opens the store. serve has returned: the database is closed and the
// ports released. Should the exec fail, the error ends the process and
// the service manager's restart applies the restore instead.
func restartSelf(log *slog.Logger) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart after restore: %w", err)
	}
	log.Info("restarting to apply the restore", "exe", exe)
	err = syscall.Exec(exe, os.Args, os.Environ())
	return fmt.Errorf("restart after restore: exec %s: %w", exe, err)
}

// serveDebug serves net/http/pprof on its own listener, apart from the web
// server: profiles are for whoever benchmarks the box, never for the web
// API's users, and the flag is off by default. The returned func stops it.
func serveDebug(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: cannot listen on %s: %w", addr, unwrapSyscall(err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server", "err", err)
		}
	}()
	log.Warn("profiler listening", "addr", ln.Addr().String())
	return func() {
		hs.Close()
		<-done
	}, nil
}

func unwrapSyscall(err error) error {
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

func banner(w io.Writer, f serveFlags, pub netip.Addr, s *site.Site, st *store.Store, certs *tlscert.Store) {
	_, sipPort, _ := net.SplitHostPort(f.sipAddr)
	_, httpPort, _ := net.SplitHostPort(f.httpAddr)
	page := "http://" + hostFor(pub) + ":" + httpPort
	if f.httpsAddr != "" {
		_, httpsPort, _ := net.SplitHostPort(f.httpsAddr)
		page = "https://" + hostFor(pub) + ":" + httpsPort
	}
	fmt.Fprintf(w, "\nRingbox %s is up.\n\n", version)
	fmt.Fprintf(w, "  Web page:  %s/\n", page)
	if certs != nil && f.httpsAddr != "" {
		// What the browser's warning on the first visit shows, to compare.
		fmt.Fprintf(w, "             certificate SHA-256 fingerprint:\n             %s\n", certs.Info().Fingerprint)
	}
	hasAdmin, _ := st.HasAdmin(context.Background())
	if setupDone, _ := st.SetupDone(context.Background()); !hasAdmin && setupDone {
		// First-boot setup never comes back once an admin existed.
		slog.Error("no admin exists: nobody can manage this box on the web page; run `ringbox admin reset --login NAME` on its console")
		fmt.Fprintf(w, "             NO ADMIN: run `ringbox admin reset --data %s --login NAME` here to set one\n", f.data)
	} else if !hasAdmin {
		fmt.Fprintf(w, "             first visit asks you to choose the admin password (there is no default)\n")
	}
	fmt.Fprintf(w, "  SIP:       %s:%s (UDP and TCP), realm %q\n", hostFor(pub), sipPort, f.realm)
	if tlsPort := sipTLSPortOf(f); tlsPort != "" { // siptls.go
		fmt.Fprintf(w, "             %s:%s (TLS, SRTP)\n", hostFor(pub), tlsPort)
	}
	if len(s.Extensions) > 0 {
		x := s.Extensions[0]
		fmt.Fprintf(w, "\n  Register a softphone (e.g. Linphone, Zoiper, baresip):\n")
		fmt.Fprintf(w, "    username/auth id: %s\n    domain/registrar: %s:%s\n    password:         the extension's secret in your site file\n", x.Number, hostFor(pub), sipPort)
		fmt.Fprintf(w, "    (ringbox export --with-secrets --data %s shows them)\n", f.data)
		fmt.Fprintf(w, "  Extensions: ")
		for i, x := range s.Extensions {
			if i > 0 {
				fmt.Fprint(w, ", ")
			}
			fmt.Fprint(w, x.Number)
		}
		fmt.Fprintln(w)
	}
	if f.board == "sim" {
		fmt.Fprintf(w, "\n  Simulated board: %s/board (admins) presses the queue buttons, lifts\n", page)
		fmt.Fprintf(w, "  and dials the analog phones on fxs:1 and fxs:2, and rings the box from the\n")
		fmt.Fprintf(w, "  exchange on fxo:1 (docs/sim-board.md).\n")
	}
	fmt.Fprintf(w, "\n  Health: curl http://%s:%s/api/v1/health\n\n", hostFor(pub), httpPort)
}

func hostFor(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// watchdogDevice resolves --watchdog: "auto" arms the hardware watchdog on
// the appliance (a hardware board) and not on a laptop running the sim
// board, where a killed ringbox must not reset the machine.
func watchdogDevice(flag, board string) string {
	if flag != "auto" {
		return flag
	}
	if board == "sim" {
		return ""
	}
	return watchdog.DefaultDevice
}

// publicIPFlag is --public-ip for the certificate's names; publicAddr has
// already refused a bad one.
func publicIPFlag(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}
