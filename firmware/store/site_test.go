package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"ringbox/firmware/site"
)

func dur(s string) site.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	return site.Duration(d)
}

// fullSite sets every field of every type in package site to a non-zero
// value in at least one element, with distinct values where columns could
// be swapped, so that the round trip test notices a field the store forgets.
// TestFullSiteSetsEveryField keeps it honest.
func fullSite() *site.Site {
	return &site.Site{
		Version: 1,
		System: site.System{
			Name: "Acme Dental", Timezone: "America/New_York", ToneZone: "us", OfficeNumber: "+15551230000",
			Language: "fr", LoopLimit: 7, LoopTo: "voicemail:general", SIPDigest: []string{"sha256", "md5"}, TransferRecall: site.Duration(45 * time.Second),
			ParkSlots: "801-805", ParkTimeout: site.Duration(90 * time.Second),
			DISAAttempts: 3, DISAWindow: dur("15m"), VoicemailPINRequired: true,
			InternationalHours: "business", AlertEmail: "admin@example.com",
			SIPUserAgent: "Acme PBX", MaxSetupPerSource: 4, MaxCallsPerSource: 9,
			SIPBanFailures: 4, SIPBanWindow: dur("20m"), SIPBanTime: dur("2h"), SIPTrusted: []string{"192.168.1.0/24", "10.8.0.7"},
			MediaTimeout: dur("45s"),
			SMTP:         &site.SMTP{Host: "mail.example.com:587", From: "pbx@example.com", Username: "pbx", Password: "smtp-secret"},
		},
		Extensions: []site.Extension{
			{Number: "101", Name: "Bob Smith", Secret: "change-me-101", Voicemail: true, Email: "bob@example.com",
				HuntBlocked: false, Permission: site.PermInternational, DND: true,
				Mobile: "+15550001001", DISAPIN: "2468", VoicemailPIN: "24680", MaxOutsideCalls: 2, OutsideCallsPerHour: 20,
				Allow: []string{"192.168.1.0/24", "10.8.0.7"}},
			{Number: "102", Name: "Sue", Secret: "change-me-102", Voicemail: false, Email: "sue@example.com",
				HuntBlocked: true, Permission: site.PermLocal, DND: false, PickupGroup: "front-desk"},
		},
		Agents: []site.Agent{
			{ID: "bob", Name: "Bob Smith", Extension: "101", Mobile: "+15550001001", RingPreference: site.RingExtensionThenMobile,
				MobileAfter: dur("15s"), Role: "agent", ReportsTo: "sue", AutoLogin: true, Button: 1, PIN: "4711",
				WrapupAfterAllCalls: true, Wrapup: dur("45s"), Skills: map[string]int{"fr": 5, "en": 3},
				Hours: []site.Range{{Days: "mon-fri", From: "09:00", To: "12:00"}, {Days: "mon-fri", From: "13:00", To: "17:00"}}},
			{ID: "sue", Name: "Sue", Extension: "102", Mobile: "+15550001002", RingPreference: site.RingBoth,
				MobileAfter: dur("1.5s"), Role: "manager", ReportsTo: "sue", AutoLogin: false, Button: 2, PIN: "1234",
				Hours: []site.Range{{Days: "sat", From: "22:00", To: "06:00"}}},
		},
		RingGroups: []site.RingGroup{{
			ID: "front", Name: "Front desk",
			Stages: []site.Stage{{Ring: []string{"bob", "ext:101"}, For: dur("20s")}, {Ring: []string{"sue", "fxs:1", "+15550001001"}, For: dur("25s")}},
			Repeat: 2, CIDPrefix: "Office: ", Confirm: "external", Music: "default", NoAnswer: "queue:service",
			RingUnavailableAgents: true,
		}},
		HuntGroups: []site.HuntGroup{{
			ID: "support", Name: "Support", Strategy: site.HuntRoundRobin, Members: []string{"sue", "bob", "ext:102"},
			Ring: dur("15s"), NoAnswer: "voicemail:general", RingUnavailableAgents: true,
		}},
		Queues: []site.Queue{{
			ID: "service", Name: "Service", Strategy: site.QueueRingProgressively,
			Agents:    []site.QueueAgent{{Agent: "sue", Level: 2}, {Agent: "bob", Level: 1}},
			AgentRing: dur("15s"), Wrapup: dur("20s"), Confirm: true, MaxNoAnswer: 3, RetryDelay: dur("5s"),
			MaxWait: dur("10m"), OnTimeout: "voicemail:general", OnEmpty: "hangup", HoldMusic: "default",
			Comfort:          &site.Comfort{Every: dur("45s"), Prompts: []string{"about-us", "main-menu"}},
			AnnouncePosition: dur("1m"), LevelWait: dur("30s"), ServiceLevel: dur("21s"), ExitKey: "0", ExitTo: "ivr:main",
			LED: 2, Number: "600",
			Skills: map[string]int{"en": 2}, SkillWidening: []site.SkillStep{{After: dur("30s"), DropLevels: 1}, {After: dur("1m"), AnyAgent: true}},
		}},
		IVRs: []site.IVR{{
			ID: "main", Name: "Main menu", Greeting: "main-menu",
			Options:    map[string]string{"1": "ringgroup:front", "2": "queue:service", "#": "hunt:support", "*": "hangup"},
			DirectDial: true, Timeout: dur("5s"), DigitTimeout: dur("2s"), Retries: 3, TimeoutRetries: 2,
			Invalid: "invalid-option", OnInvalid: "hangup", OnTimeout: "queue:service",
			OptionSkills: map[string]map[string]int{"2": {"fr": 4}}, Callers: []site.CallerRoute{{Caller: "list:vip", To: "queue:service"}},
		}},
		Announcements: []site.Announcement{{ID: "recorded", Prompt: "recording-notice", Record: true, Next: "ivr:main"}},
		Schedules: []site.Schedule{{
			ID: "business", Name: "Office hours",
			Open:     []site.Range{{Days: "mon-fri", From: "08:00", To: "18:00"}, {Days: "sat", From: "09:00", To: "12:00"}},
			Holidays: []string{"2026-12-25", "2027-01-01"},
		}},
		Inbound: []site.InboundRoute{
			{Match: "+15551230000", When: "business", To: "announce:recorded", Otherwise: "voicemail:general"},
			{Match: "fxo:1", When: "business", To: "ivr:main", Otherwise: "hangup"},
			{Caller: "list:vip", To: "queue:service", Skills: map[string]int{"fr": 3}},
		},
		CallerLists: []site.CallerList{{ID: "vip", Name: "Best customers", Numbers: []string{"+15550009999", "+1555000."}}},
		Voicemail: []site.Mailbox{{Box: "general", Name: "General", Email: "office@example.com", Greeting: "main-menu",
			MaxLength: dur("3m"), MinLength: dur("2s"), PIN: "9876"}},
		Trunks: []site.Trunk{
			{ID: "carrier", Host: "sip.carrier.example:5060", Transport: "tcp", Username: "acme", Password: "trunk-secret",
				Register: true, FXO: 2, CallerID: "office", OfficeNumber: "+15551230001", Prack: "required", SRTP: "off", MaxOutboundCalls: 10, OutboundPerHour: 100,
				Ports: []int{5060, 5080}, Allow: []string{"203.0.113.0/28", "198.51.100.7"},
				MatchHeader:     &site.HeaderMatch{Name: "X-Carrier-Id", Value: "acme-7"},
				InboundAuth:     &site.InboundAuth{Username: "carrier-in", Password: "inbound-secret"},
				MaxInboundSetup: 12, MaxInboundCalls: 40},
			{ID: "pstn", Host: "fxo", Transport: "udp", Username: "line", Password: "unused", Register: false, FXO: 1, CallerID: "caller", SilenceTimeout: dur("30s")},
		},
		Outbound: []site.OutboundRoute{
			{Pattern: "911", Strip: 1, Prepend: "0", Trunks: []string{"pstn", "carrier"}, Emergency: true, Permission: site.PermInternal},
			{Pattern: "9.", Strip: 2, Prepend: "+1", Trunks: []string{"carrier"}, Emergency: false, Permission: site.PermNational},
			{Pattern: "*67.", Trunks: []string{"carrier"}, Permission: site.PermInternational, AllowSymbols: true},
		},
		Lines:     []site.Line{{Port: "fxs:1", Extension: "201", CallWaiting: true}},
		Prompts:   []site.Prompt{{ID: "main-menu", File: "prompts/main-menu.mp3"}, {ID: "about-us", File: "prompts/about.wav"}},
		HoldMusic: []site.HoldMusic{{ID: "default", Files: []string{"moh/track1.mp3", "moh/track2.mp3"}, Device: "hw:1"}},
		Users: []site.User{
			{Login: "admin", Role: site.RoleAdmin, Agent: "sue", Password: "admin-password-1", PasswordHash: "ignored-on-import"},
			{Login: "sue", Role: site.RoleManager, Agent: "sue", Password: "sue-password-1"},
		},
		Conferences: []site.Conference{
			{ID: "sales", Number: "800", PIN: "4321", MaxMembers: 20, Announce: site.AnnounceNone, MuteKey: "#6"},
			{ID: "all-hands"},
		},
	}
}

// TestFullSiteSetsEveryField fails when a field is added to package site
// without being set in fullSite (and so without being round-trip tested).
// A field of a slice element counts as set when one element sets it, so
// that booleans can differ between elements and a swapped column shows.
func TestFullSiteSetsEveryField(t *testing.T) {
	set := map[string]bool{}
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		set[path] = set[path] || !v.IsZero()
		switch v.Kind() {
		case reflect.Pointer:
			if !v.IsNil() {
				walk(path, v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(path+"."+v.Type().Field(i).Name, v.Field(i))
			}
		case reflect.Slice:
			for i := range v.Len() {
				walk(path+"[]", v.Index(i))
			}
		}
	}
	walk("Site", reflect.ValueOf(fullSite()))
	for path, ok := range set {
		if !ok {
			t.Errorf("%s is never set in fullSite", path)
		}
	}
}

// exported is what ExportSite should give back for an imported site: the
// same, with passwords replaced by their hashes.
func checkExport(t *testing.T, got, imported *site.Site) {
	t.Helper()
	want := *imported
	want.Users = append([]site.User(nil), imported.Users...)
	for i := range want.Users {
		u := &want.Users[i]
		if i < len(got.Users) {
			h := got.Users[i].PasswordHash
			if u.Password != "" && bcrypt.CompareHashAndPassword([]byte(h), []byte(u.Password)) != nil {
				t.Errorf("users[%d] %s: exported hash %q does not match the imported password", i, u.Login, h)
			}
			u.PasswordHash = h
		}
		u.Password = ""
	}
	if g, w := normalize(*got), normalize(want); !reflect.DeepEqual(g, w) {
		t.Errorf("ExportSite differs from the import:\n got %+v\nwant %+v", g, w)
	}
}

func TestImportExportRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	ctx := t.Context()
	in := fullSite()
	orig := fullSite()
	if _, err := s.ImportSite(ctx, in, "test"); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("ImportSite modified its argument")
	}
	got, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkExport(t, got, orig)

	// Another process sees the same.
	other := openStore(t, dir, Options{})
	got2, err := other.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, got2) {
		t.Error("a second Store exports a different site")
	}

	// An empty site would leave the box without an admin: refused. One
	// with only an admin, replacing the users, clears everything else.
	if _, err := s.ImportSiteWith(ctx, &site.Site{}, "test", ImportOptions{ReplaceUsers: true}); !errors.Is(err, ErrLastAdmin) {
		t.Fatalf("importing an empty site = %v, want ErrLastAdmin", err)
	}
	only := site.Site{Users: []site.User{{Login: "admin", Role: site.RoleAdmin}}}
	if _, err := s.ImportSiteWith(ctx, &only, "test", ImportOptions{ReplaceUsers: true}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got.Users {
		got.Users[i].PasswordHash = ""
	}
	if g := normalize(*got); !reflect.DeepEqual(g, only) {
		t.Errorf("after importing a site of one admin, export = %+v", g)
	}
}

func TestImportChange(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	ch, err := s.ImportSite(ctx, fullSite(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if ch.Version != 1 || len(ch.Kind("extensions").Added) != 2 || len(ch.Kind("users").Added) != 2 {
		t.Errorf("first import change = %+v", ch)
	}

	ch, err = s.ImportSite(ctx, fullSite(), "test")
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Empty() || ch.Version != 2 {
		t.Errorf("importing the same site again: change %+v, want empty at version 2", ch)
	}

	next := fullSite()
	next.Extensions = append(next.Extensions, site.Extension{Number: "103", Secret: "x"})
	next.Queues = nil
	next.Agents[0].Mobile = "+15550009999"
	next.Outbound[0], next.Outbound[1] = next.Outbound[1], next.Outbound[0]
	next.Users[1].Password = "a new password"
	next.System.Language = "en"
	ch, err = s.ImportSite(ctx, next, "test")
	if err != nil {
		t.Fatal(err)
	}
	want := Change{Version: 3, Kinds: []KindChange{
		{Kind: "system", Changed: []string{"system"}},
		{Kind: "extensions", Added: []string{"103"}},
		{Kind: "agents", Changed: []string{"bob"}},
		{Kind: "queues", Removed: []string{"service"}},
		{Kind: "outbound", Changed: []string{"9.", "911"}},
		{Kind: "users", Changed: []string{"sue"}},
	}}
	if !reflect.DeepEqual(ch, want) {
		t.Errorf("change = %+v\nwant %+v", ch, want)
	}
	audit, err := s.ListAudit(ctx, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 3 || audit[0].Action != "config.import" || audit[0].Actor != "test" || !strings.Contains(audit[0].Detail, `"103"`) {
		t.Errorf("audit after 3 imports = %+v", audit)
	}
}

func TestImportAllOrNothing(t *testing.T) {
	tests := []struct {
		name    string
		break_  func(st *site.Site)
		wantErr string
	}{
		{"queue agent missing", func(st *site.Site) {
			st.Queues[0].Agents = append(st.Queues[0].Agents, site.QueueAgent{Agent: "ghost"})
		}, `queues[0] service: agents[2] "ghost"`},
		{"outbound trunk missing", func(st *site.Site) { st.Outbound[1].Trunks = []string{"nope"} }, `outbound[1] 9.: trunks[0] "nope"`},
		{"inbound schedule missing", func(st *site.Site) { st.Inbound[1].When = "weekends" }, `inbound[1] fxo:1`},
		{"reports_to missing", func(st *site.Site) { st.Agents[1].ReportsTo = "boss" }, `agents[1] sue: reports_to "boss"`},
		{"user agent missing", func(st *site.Site) { st.Users[1].Agent = "nobody" }, `users[1] sue`},
		{"duplicate extension", func(st *site.Site) { st.Extensions[1].Number = "101" }, `extensions[1] 101`},
		{"duplicate queue agent", func(st *site.Site) { st.Queues[0].Agents[1].Agent = "sue" }, `queues[0] service: agents[1]`},
		{"bad user role", func(st *site.Site) { st.Users[0].Role = "root" }, `users[0] admin`},
		{"new user without password", func(st *site.Site) {
			st.Users = append(st.Users, site.User{Login: "zed", Role: "agent"})
		}, "users[2]: new user zed needs a password"},
		{"queue removed, agent removed", func(st *site.Site) {
			// The agent goes but a queue still names it.
			st.Agents = st.Agents[:1]
			st.Agents[0].ReportsTo = ""
			st.Users = st.Users[:1]
			st.Users[0].Agent = ""
		}, `queues[0] service: agents[0] "sue"`},
	}
	// One store for all cases: every failed import must leave the same
	// first configuration in place.
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if _, err := s.ImportSite(ctx, fullSite(), "test"); err != nil {
		t.Fatal(err)
	}
	before, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := fullSite()
			tt.break_(bad)
			_, err = s.ImportSite(ctx, bad, "test")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), s.Path()) {
				t.Fatalf("ImportSite = %v, want an error with %q and the file name", err, tt.wantErr)
			}
			after, err := s.ExportSite(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(*after), normalize(*before)) {
				t.Errorf("a failed import changed the configuration:\n got %+v\nwant %+v", after, before)
			}
			if v, _ := s.ConfigVersion(ctx); v != 1 {
				t.Errorf("config version %d after a failed import, want 1", v)
			}
			if a, _ := s.ListAudit(ctx, time.Time{}, time.Time{}, 0); len(a) != 1 {
				t.Errorf("%d audit rows after a failed import, want 1", len(a))
			}
		})
	}
}

// stripSecrets is what `ringbox export` without --with-secrets writes.
func stripSecrets(st *site.Site) {
	st.System.SMTP.Password = ""
	for i := range st.Extensions {
		st.Extensions[i].Secret = ""
	}
	for i := range st.Agents {
		st.Agents[i].PIN = ""
	}
	for i := range st.Voicemail {
		st.Voicemail[i].PIN = ""
	}
	for i := range st.Trunks {
		st.Trunks[i].Password = ""
		if a := st.Trunks[i].InboundAuth; a != nil {
			st.Trunks[i].InboundAuth = &site.InboundAuth{Username: a.Username}
		}
	}
	for i := range st.Users {
		st.Users[i].Password = ""
		st.Users[i].PasswordHash = ""
	}
}

func TestImportKeepsOmittedSecrets(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{Realm: "acme.example"})
	ctx := t.Context()
	if _, err := s.ImportSite(ctx, fullSite(), "test"); err != nil {
		t.Fatal(err)
	}
	first, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	noSecrets := fullSite()
	stripSecrets(noSecrets)
	ch, err := s.ImportSite(ctx, noSecrets, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !ch.Empty() {
		t.Errorf("re-import without secrets reports changes %+v", ch)
	}
	again, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalize(*again), normalize(*first)) {
		t.Errorf("import without secrets lost some:\n got %+v\nwant %+v", again, first)
	}
	if _, err := s.CheckPassword(ctx, "sue", "sue-password-1"); err != nil {
		t.Errorf("sue's password after re-import: %v", err)
	}

	// A changed secret replaces the old one, HA1 values included.
	changed := fullSite()
	stripSecrets(changed)
	changed.Extensions[0].Secret = "new-secret"
	if _, err := s.ImportSite(ctx, changed, "test"); err != nil {
		t.Fatal(err)
	}
	var secret, realm, m, h string
	if err := s.r.QueryRowContext(ctx, "SELECT secret, ha1_realm, ha1_md5, ha1_sha256 FROM extensions WHERE number = '101'").
		Scan(&secret, &realm, &m, &h); err != nil {
		t.Fatal(err)
	}
	wantM := md5.Sum([]byte("101:acme.example:new-secret"))
	wantH := sha256.Sum256([]byte("101:acme.example:new-secret"))
	if secret != "new-secret" || realm != "acme.example" || m != hex.EncodeToString(wantM[:]) || h != hex.EncodeToString(wantH[:]) {
		t.Errorf("extension 101 stored secret %q realm %q md5 %s sha256 %s", secret, realm, m, h)
	}
	cred, err := s.SIPCredentials(ctx, "101")
	if want := (SIPCredential{Number: "101", Realm: "acme.example", HA1MD5: m, HA1SHA256: h}); err != nil || cred != want {
		t.Errorf("SIPCredentials(101) = %+v, %v; want %+v", cred, err, want)
	}
	if _, err := s.SIPCredentials(ctx, "999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SIPCredentials(999) = %v, want ErrNotFound", err)
	}
	// Another process with another realm derives its own HA1 values.
	other := openStore(t, filepath.Dir(s.Path()), Options{Realm: "pbx.lan"})
	cred, err = other.SIPCredentials(ctx, "101")
	wantM = md5.Sum([]byte("101:pbx.lan:new-secret"))
	if err != nil || cred.Realm != "pbx.lan" || cred.HA1MD5 != hex.EncodeToString(wantM[:]) {
		t.Errorf("SIPCredentials(101) with realm pbx.lan = %+v, %v", cred, err)
	}
}

func TestPasswordsNeverStoredPlain(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, Options{Logger: quiet}) // the real bcrypt cost
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	const pw = "correct-horse-battery-staple"
	st := &site.Site{Users: []site.User{{Login: "admin", Role: "admin", Password: pw}}}
	if _, err := s.ImportSite(ctx, st, "test"); err != nil {
		t.Fatal(err)
	}
	got, err := s.ExportSite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := got.Users[0]
	if u.Password != "" {
		t.Errorf("export gives the password back: %q", u.Password)
	}
	if cost, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil || cost != 10 {
		t.Errorf("bcrypt cost = %d, %v; want 10", cost, err)
	}
	var raw []byte
	for _, f := range []string{FileName, FileName + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		raw = append(raw, b...)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw = append(raw, readFile(t, filepath.Join(dir, FileName))...)
	if !bytes.Contains(raw, []byte("admin")) {
		t.Fatal("database bytes do not contain the login: the check below would prove nothing")
	}
	if bytes.Contains(raw, []byte(pw)) {
		t.Error("the database file contains the plain password")
	}
}

// BenchmarkExportSite measures reading the whole configuration, as the
// server does after every config change.
func BenchmarkExportSite(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ctx := context.Background()
	if _, err := s.ImportSite(ctx, fullSite(), "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ExportSite(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
