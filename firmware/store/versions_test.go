package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/site"
)

func mustImport(t testing.TB, s *Store, st *site.Site, actor string, o ImportOptions) Change {
	t.Helper()
	ch, err := s.ImportSiteWith(t.Context(), st, actor, o)
	if err != nil {
		t.Fatalf("import by %s: %v", actor, err)
	}
	return ch
}

func mustExport(t testing.TB, s *Store) *site.Site {
	t.Helper()
	st, err := s.ExportSite(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// sameStored fails unless a and b are the same site with the same secrets
// and the same users' password hashes.
func sameStored(t *testing.T, what string, got, want *site.Site) {
	t.Helper()
	if !site.Equal(got, want) {
		a, _ := site.Marshal(got, true)
		b, _ := site.Marshal(want, true)
		t.Errorf("%s: site differs\ngot:\n%s\nwant:\n%s", what, a, b)
	}
	if g, w := userHashes(got), userHashes(want); !reflect.DeepEqual(g, w) {
		t.Errorf("%s: user hashes = %v, want %v", what, g, w)
	}
}

func TestImportRecordsVersion(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	ch := mustImport(t, s, fullSite(), "alice", ImportOptions{})

	vs, err := s.ListVersions(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []SiteVersion{{Version: 1, Actor: "alice", Applied: clk.Now(), Change: ch}}
	if !reflect.DeepEqual(vs, want) {
		t.Errorf("versions = %+v\nwant %+v", vs, want)
	}
	if len(ch.Kind("extensions").Added) != 2 {
		t.Errorf("recorded change does not list the added extensions: %+v", ch)
	}
	st, err := s.VersionSite(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "version 1", st, mustExport(t, s))
	if st.Extensions[0].Secret != "change-me-101" || st.Trunks[0].Password != "trunk-secret" {
		t.Errorf("version 1 lost its secrets: %+v %+v", st.Extensions[0], st.Trunks[0])
	}
}

func TestListVersionsOrderAndLimit(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	vs, err := s.ListVersions(ctx, 10)
	if err != nil || vs == nil || len(vs) != 0 {
		t.Fatalf("versions of an empty store = %#v, %v; want an empty non-nil slice", vs, err)
	}
	for _, who := range []string{"a", "b", "c"} {
		mustImport(t, s, fullSite(), who, ImportOptions{})
	}
	vs, err = s.ListVersions(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Version != 3 || vs[0].Actor != "c" || vs[1].Version != 2 || vs[1].Actor != "b" {
		t.Errorf("ListVersions(2) = %+v, want versions 3 (c) and 2 (b)", vs)
	}
	if vs, _ := s.ListVersions(ctx, 0); len(vs) != 3 {
		t.Errorf("ListVersions(0) gave %d versions, want all 3", len(vs))
	}
}

func TestRestoreVersionGivesOldPasswordsBack(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	mustImport(t, s, fullSite(), "alice", ImportOptions{})
	v1 := mustExport(t, s)

	next := fullSite()
	next.Users[0].Password = "admin-password-2"
	next.Extensions[0].Name = "Robert Smith"
	next.Extensions[0].Secret = "new-secret"
	next.Queues = nil
	mustImport(t, s, next, "bob", ImportOptions{})
	if _, err := s.CheckPassword(ctx, "admin", "admin-password-1"); err == nil {
		t.Fatal("the old password still works after the change: the restore below would prove nothing")
	}

	old, err := s.VersionSite(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	sameStored(t, "version 1 as stored", old, v1)
	ch := mustImport(t, s, old, "carol", ImportOptions{Base: 2, RestoredFrom: 1, Action: "config.restore"})
	if ch.Version != 3 || len(ch.Kind("queues").Added) != 1 {
		t.Errorf("restore change = %+v, want version 3 adding the queue back", ch)
	}
	if _, err := s.CheckPassword(ctx, "admin", "admin-password-1"); err != nil {
		t.Errorf("after restoring version 1 the admin cannot log in with the password of version 1: %v", err)
	}
	if _, err := s.CheckPassword(ctx, "admin", "admin-password-2"); err == nil {
		t.Error("after restoring version 1 the password of version 2 still works")
	}
	sameStored(t, "configuration after the restore", mustExport(t, s), v1)

	vs, err := s.ListVersions(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || vs[0].Version != 3 || vs[0].RestoredFrom != 1 || vs[0].Actor != "carol" {
		t.Errorf("newest version = %+v, want 3 by carol restored from 1", vs)
	}
	audit, err := s.ListAudit(ctx, time.Time{}, time.Time{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Action != "config.restore" || audit[0].Actor != "carol" {
		t.Errorf("audit of the restore = %+v", audit)
	}

	if _, err := s.VersionSite(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Errorf("VersionSite(99) error = %v, want ErrNotFound", err)
	}
}

func TestImportRejectsBadPasswordHash(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	st := fullSite()
	st.Users[1].Password = ""
	st.Users[1].PasswordHash = "not-bcrypt"
	if _, err := s.ImportSiteWith(t.Context(), st, "x", ImportOptions{}); err == nil {
		t.Error("a new user with a hash that is not bcrypt was stored: that login could never sign in")
	}
}

// A caller that exported before someone changed a password and imports
// without a base must not put the old password back.
func TestPlainImportKeepsNewerPassword(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	mustImport(t, s, fullSite(), "alice", ImportOptions{})
	exported := mustExport(t, s)
	if err := s.SetPassword(ctx, "admin", "changed-meanwhile"); err != nil {
		t.Fatal(err)
	}
	exported.Extensions[0].Name = "Robert"
	mustImport(t, s, exported, "script", ImportOptions{})
	if _, err := s.CheckPassword(ctx, "admin", "changed-meanwhile"); err != nil {
		t.Errorf("an import without base undid a password change: %v", err)
	}
}

func TestStaleBaseRefused(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	mustImport(t, s, fullSite(), "alice", ImportOptions{})
	clk.Advance(time.Hour)
	bobs := fullSite()
	bobs.Extensions[1].Name = "Susan"
	mustImport(t, s, bobs, "bob", ImportOptions{Base: 1})
	applied := clk.Now()
	before := mustExport(t, s)
	audits, _ := s.ListAudit(ctx, time.Time{}, time.Time{}, 0)

	clk.Advance(time.Minute)
	mine := fullSite()
	mine.Extensions[0].Name = "Robert"
	_, err := s.ImportSiteWith(ctx, mine, "carol", ImportOptions{Base: 1})
	var stale *StaleError
	if !errors.As(err, &stale) || !errors.Is(err, ErrStale) {
		t.Fatalf("apply over version 1 when 2 is current: error %v, want a StaleError", err)
	}
	want := StaleError{Base: 1, Current: 2, Actor: "bob", Applied: applied}
	if *stale != want {
		t.Errorf("StaleError = %+v, want %+v", *stale, want)
	}
	if msg := "configuration changed since you started editing: version 2 applied by bob at 2026-03-02T10:00:00Z"; stale.Error() != msg {
		t.Errorf("message = %q, want %q", stale.Error(), msg)
	}
	if v, _ := s.ConfigVersion(ctx); v != 2 {
		t.Errorf("config version after a stale apply = %d, want 2", v)
	}
	sameStored(t, "configuration after a stale apply", mustExport(t, s), before)
	if a, _ := s.ListAudit(ctx, time.Time{}, time.Time{}, 0); len(a) != len(audits) {
		t.Errorf("a stale apply wrote an audit row: %d rows, had %d", len(a), len(audits))
	}
	if vs, _ := s.ListVersions(ctx, 0); len(vs) != 2 {
		t.Errorf("a stale apply recorded a version: %+v", vs)
	}

	ch, err := s.ImportSiteWith(ctx, mine, "carol", ImportOptions{Base: 2})
	if err != nil {
		t.Fatalf("apply over the current version: %v", err)
	}
	if ch.Version != 3 || !reflect.DeepEqual(ch.Kind("extensions").Changed, []string{"101", "102"}) {
		t.Errorf("change = %+v", ch)
	}
}

// A version bumped by something other than an import (a password change)
// is recorded too, and gives a StaleError with the time of the change.
func TestStaleAfterPasswordChange(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	mustImport(t, s, fullSite(), "alice", ImportOptions{})
	clk.Advance(time.Minute)
	if err := s.SetPassword(ctx, "sue", "another-one"); err != nil {
		t.Fatal(err)
	}
	_, err := s.ImportSiteWith(ctx, fullSite(), "carol", ImportOptions{Base: 1})
	var stale *StaleError
	if !errors.As(err, &stale) || stale.Current != 2 || stale.Actor != "system" || !stale.Applied.Equal(clk.Now()) {
		t.Fatalf("error = %v (%+v), want a StaleError for version 2 at %v", err, stale, clk.Now())
	}
	if !strings.Contains(err.Error(), "version 2 applied by system at ") {
		t.Errorf("message %q", err)
	}
	// A console draft that started from version 2 can be rebased: the
	// version is in the history.
	if _, err := s.VersionSite(ctx, 2); err != nil {
		t.Fatalf("version 2 (the password change) is not recorded: %v", err)
	}
}

func TestDraftsPerLogin(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	mustImport(t, s, fullSite(), "alice", ImportOptions{})
	cur := mustExport(t, s)

	if _, _, _, ok, err := s.Draft(ctx, "alice"); ok || err != nil {
		t.Fatalf("draft before any save: ok %v, err %v", ok, err)
	}
	alices := mustExport(t, s)
	alices.Extensions[0].Name = `Rob "the \\ builder" Zoë: 100%`
	withPassword := *alices
	withPassword.Users = append([]site.User{{Login: "new", Role: site.RoleAgent, Password: "plain-draft-password"}}, alices.Users...)
	if err := s.SaveDraft(ctx, "alice", 1, &withPassword); err != nil {
		t.Fatal(err)
	}
	var raw string
	if err := s.r.QueryRowContext(ctx, `SELECT site_yaml || user_hashes FROM drafts WHERE login = 'alice'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, `"new"`) || strings.Contains(raw, "plain-draft-password") {
		t.Errorf("stored draft (want the new user, not its plain password): %s", raw)
	}
	if err := s.SaveDraft(ctx, "alice", 1, alices); err != nil {
		t.Fatal(err)
	}
	savedAlice := clk.Now()
	clk.Advance(time.Minute)
	// Bob's draft names an agent that is not there: it does not validate,
	// as after someone else's apply deleted the agent; it must load anyway.
	bobs := mustExport(t, s)
	bobs.Queues[0].Agents = append(bobs.Queues[0].Agents, site.QueueAgent{Agent: "gone"})
	if probs := bobs.Validate(); len(probs) == 0 {
		t.Fatal("bob's draft validates: the test would not show that an invalid draft loads")
	}
	if err := s.SaveDraft(ctx, "bob", 7, bobs); err != nil {
		t.Fatal(err)
	}

	base, st, updated, ok, err := s.Draft(ctx, "alice")
	if err != nil || !ok {
		t.Fatalf("alice's draft: ok %v, err %v", ok, err)
	}
	if base != 1 || !updated.Equal(savedAlice) {
		t.Errorf("alice's draft: base %d updated %v, want 1 at %v", base, updated, savedAlice)
	}
	sameStored(t, "alice's draft", st, alices)
	base, st, _, ok, err = s.Draft(ctx, "bob")
	if err != nil || !ok || base != 7 {
		t.Fatalf("bob's draft: base %d ok %v err %v", base, ok, err)
	}
	sameStored(t, "bob's draft", st, bobs)

	// Saving again replaces.
	alices.Extensions[0].Name = "Rob"
	if err := s.SaveDraft(ctx, "alice", 1, alices); err != nil {
		t.Fatal(err)
	}
	if _, st, _, _, _ := s.Draft(ctx, "alice"); st == nil || st.Extensions[0].Name != "Rob" {
		t.Errorf("alice's draft after a second save = %+v", st)
	}

	if err := s.DeleteDraft(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok, err := s.Draft(ctx, "alice"); ok || err != nil {
		t.Errorf("alice's draft after delete: ok %v err %v", ok, err)
	}
	if _, _, _, ok, _ := s.Draft(ctx, "bob"); !ok {
		t.Error("deleting alice's draft deleted bob's")
	}
	if err := s.DeleteDraft(ctx, "alice"); err != nil {
		t.Errorf("deleting a missing draft: %v", err)
	}

	if v, _ := s.ConfigVersion(ctx); v != 1 {
		t.Errorf("drafts changed the config version to %d", v)
	}
	if a, _ := s.ListAudit(ctx, time.Time{}, time.Time{}, 0); len(a) != 1 {
		t.Errorf("drafts wrote audit rows: %+v", a)
	}
	sameStored(t, "configuration after drafts", mustExport(t, s), cur)
}

func TestOpenSeedsVersionOfUpgradedBox(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	s, err := Open(ctx, dir, Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	// A ringbox without versions had no conference rooms either (they
	// are kept in the newest version: conferences.go).
	old := fullSite()
	old.Conferences = nil
	mustImport(t, s, old, "alice", ImportOptions{})
	mustImport(t, s, old, "alice", ImportOptions{})
	want := mustExport(t, s)
	// What a box that ran a ringbox without versions looks like.
	if _, err := s.w.ExecContext(ctx, `DELETE FROM site_versions`); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	for range 2 { // the second open must not add a row
		s = openStore(t, dir, Options{})
		vs, err := s.ListVersions(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || vs[0].Version != 2 || vs[0].Actor != "system" {
			t.Fatalf("versions after reopening = %+v, want one row for version 2 by system", vs)
		}
		st, err := s.VersionSite(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		sameStored(t, "seeded version", st, want)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}

	empty := openStore(t, t.TempDir(), Options{})
	if vs, _ := empty.ListVersions(ctx, 0); len(vs) != 0 {
		t.Errorf("a new database got versions: %+v", vs)
	}
}

func TestVersionsKeepNewest(t *testing.T) {
	if testing.Short() {
		t.Skip("imports KeepVersions+5 times")
	}
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	st := fullSite()
	for i := range KeepVersions + 5 {
		st.System.Name = fmt.Sprintf("Site %d", i+1)
		mustImport(t, s, st, "a", ImportOptions{})
	}
	vs, err := s.ListVersions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != KeepVersions || vs[0].Version != KeepVersions+5 || vs[len(vs)-1].Version != 6 {
		t.Fatalf("kept %d versions, %d..%d; want %d, %d..6", len(vs), vs[0].Version, vs[len(vs)-1].Version,
			KeepVersions, KeepVersions+5)
	}
	if _, err := s.VersionSite(ctx, 5); !errors.Is(err, ErrNotFound) {
		t.Errorf("version 5 is still there: %v", err)
	}
	old, err := s.VersionSite(ctx, 6)
	if err != nil || old.System.Name != "Site 6" {
		t.Errorf("oldest kept version: %v, %v", old, err)
	}
}

// bigSite is a large installation: 500 extensions, 200 agents, 50 queues
// of 10 agents each and 20 ring groups.
func bigSite() *site.Site {
	st := &site.Site{Version: 1, System: site.System{Name: "Big", Timezone: "UTC"}}
	for i := range 500 {
		st.Extensions = append(st.Extensions, site.Extension{Number: fmt.Sprint(1000 + i), Name: fmt.Sprintf("Person %d", i),
			Secret: fmt.Sprintf("secret-%d", i), Voicemail: true, Email: fmt.Sprintf("p%d@example.com", i)})
	}
	for i := range 200 {
		st.Agents = append(st.Agents, site.Agent{ID: fmt.Sprintf("a%d", i), Name: fmt.Sprintf("Agent %d", i),
			Extension: fmt.Sprint(1000 + i), PIN: "1234", Wrapup: dur("10s"),
			Hours: []site.Range{{Days: "mon-fri", From: "09:00", To: "17:00"}}})
	}
	for i := range 50 {
		q := site.Queue{ID: fmt.Sprintf("q%d", i), Name: fmt.Sprintf("Queue %d", i), AgentRing: dur("15s"), MaxWait: dur("5m")}
		for j := range 10 {
			q.Agents = append(q.Agents, site.QueueAgent{Agent: fmt.Sprintf("a%d", (i*10+j)%200), Level: 1 + j%2})
		}
		st.Queues = append(st.Queues, q)
	}
	for i := range 20 {
		st.RingGroups = append(st.RingGroups, site.RingGroup{ID: fmt.Sprintf("rg%d", i), Name: fmt.Sprintf("Group %d", i),
			Stages: []site.Stage{{Ring: []string{fmt.Sprintf("ext:%d", 1000+i), fmt.Sprintf("a%d", i)}, For: dur("20s")},
				{Ring: []string{fmt.Sprintf("q%d", i)}, For: dur("20s")}}})
	}
	st.Users = []site.User{{Login: "admin", Role: site.RoleAdmin, Password: "admin-password-1"}}
	return st
}

// BenchmarkImportOneFieldChange measures the console's apply of one edited
// field on a large site, over a known base (the console's target is an
// apply under 200 ms on the 2-core ARM box).
func BenchmarkImportOneFieldChange(b *testing.B) {
	s := openStore(b, b.TempDir(), Options{})
	ctx := b.Context()
	if _, err := s.ImportSite(ctx, bigSite(), "bench"); err != nil {
		b.Fatal(err)
	}
	st := mustExport(b, s)
	base, err := s.ConfigVersion(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		st.Extensions[250].Name = fmt.Sprintf("Renamed %d", i)
		ch, err := s.ImportSiteWith(ctx, st, "bench", ImportOptions{Base: base})
		if err != nil {
			b.Fatal(err)
		}
		if got := ch.Kind("extensions").Changed; len(ch.Kinds) != 1 || len(got) != 1 || got[0] != "1250" {
			b.Fatalf("change = %+v, want extension 1250 alone", ch)
		}
		base = ch.Version
	}
}

// An import rewrites only the kinds of objects that changed; whatever
// changed, in whichever kind, the stored configuration must be the site
// imported, order included.
func TestImportStoresEveryKindOfChange(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	st := fullSite()
	mustImport(t, s, st, "a", ImportOptions{})
	steps := []struct {
		name   string
		change func(st *site.Site)
	}{
		{"extensions reordered", func(st *site.Site) { st.Extensions[0], st.Extensions[1] = st.Extensions[1], st.Extensions[0] }},
		{"agent renamed (queues name agents)", func(st *site.Site) { st.Agents[1].Name = "Susan" }},
		{"agent hours", func(st *site.Site) { st.Agents[0].Hours = st.Agents[0].Hours[:1] }},
		{"schedule renamed (inbound routes name it)", func(st *site.Site) { st.Schedules[0].Name = "Hours" }},
		{"trunk password (outbound routes name trunks)", func(st *site.Site) { st.Trunks[0].Password = "other" }},
		{"queue agent level", func(st *site.Site) { st.Queues[0].Agents[1].Level = 3 }},
		{"ivr option", func(st *site.Site) { st.IVRs[0].Options["3"] = "hangup" }},
		{"queue removed", func(st *site.Site) { st.Queues = nil; st.IVRs[0].Options["2"] = "hangup" }},
		{"nothing", func(st *site.Site) {}},
	}
	for _, step := range steps {
		step.change(st)
		mustImport(t, s, st, "a", ImportOptions{})
		if got := mustExport(t, s); !site.Equal(got, st) {
			a, _ := site.Marshal(got, true)
			t.Errorf("after %s the stored site is\n%s", step.name, a)
		}
	}
}

// An import brings HA1 values stored for another realm to the store's own,
// even when the extensions did not change.
func TestImportRefreshesDigestRealm(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir, Options{Realm: "old.example"})
	mustImport(t, a, fullSite(), "a", ImportOptions{})
	b := openStore(t, dir, Options{Realm: "new.example"})
	mustImport(t, b, fullSite(), "a", ImportOptions{})
	var realm string
	if err := b.r.QueryRowContext(t.Context(), `SELECT ha1_realm FROM extensions WHERE number = '101'`).Scan(&realm); err != nil {
		t.Fatal(err)
	}
	if realm != "new.example" {
		t.Errorf("extension 101's digest is for realm %q after an import with realm new.example", realm)
	}
}
