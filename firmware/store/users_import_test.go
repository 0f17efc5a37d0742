package store

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/site"
)

// storedUsers is the users table as an export gives it, hashes included.
func storedUsers(t *testing.T, s *Store) []site.User {
	t.Helper()
	st, err := s.ExportSite(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st.Users
}

func auditRows(t *testing.T, s *Store) []AuditEntry {
	t.Helper()
	a, err := s.ListAudit(t.Context(), time.Time{}, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// A site file without users: (most are: the installer's file describes
// phones and queues) keeps every stored login as it is.
func TestImportKeepsUsersAbsentFromTheSite(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if _, err := s.ImportSite(ctx, fullSite(), "test"); err != nil {
		t.Fatal(err)
	}
	before := storedUsers(t, s)

	noUsers := fullSite()
	noUsers.Users = nil
	noUsers.Extensions[0].Name = "Renamed"
	ch, err := s.ImportSite(ctx, noUsers, "cli:import")
	if err != nil {
		t.Fatalf("import without users: %v", err)
	}
	if got := storedUsers(t, s); !reflect.DeepEqual(got, before) {
		t.Errorf("users after an import without users:\n got %+v\nwant %+v", got, before)
	}
	if !reflect.DeepEqual(ch.KeptUsers, []string{"admin", "sue"}) {
		t.Errorf("KeptUsers = %v, want [admin sue]", ch.KeptUsers)
	}
	if k := ch.Kind("users"); len(k.Added)+len(k.Removed)+len(k.Changed) > 0 {
		t.Errorf("users change %+v, want none", k)
	}
	if p, err := s.CheckPassword(ctx, "admin", "admin-password-1"); err != nil || p.Role != auth.Admin {
		t.Errorf("admin's login after the import = %+v, %v", p, err)
	}
	if a := auditRows(t, s); a[0].Action != "config.import" || !strings.Contains(a[0].Detail, `"kept_users":["admin","sue"]`) {
		t.Errorf("audit row %+v, want the kept users named", a[0])
	}

	// A file naming some users changes those and keeps the others.
	some := fullSite()
	some.Users = []site.User{{Login: "sue", Role: site.RoleManager, Agent: "sue", Password: "sue-new-password"}}
	ch, err = s.ImportSite(ctx, some, "cli:import")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ch.KeptUsers, []string{"admin"}) || !reflect.DeepEqual(ch.Kind("users").Changed, []string{"sue"}) {
		t.Errorf("change %+v, want admin kept and sue changed", ch)
	}
	if _, err := s.CheckPassword(ctx, "sue", "sue-new-password"); err != nil {
		t.Errorf("sue's new password: %v", err)
	}
	if _, err := s.CheckPassword(ctx, "admin", "admin-password-1"); err != nil {
		t.Errorf("admin's kept password: %v", err)
	}

	// A kept user bound to an agent the file removes: refused, by name.
	noSue := fullSite()
	noSue.Users = nil
	noSue.Agents = noSue.Agents[:1]
	noSue.Agents[0].ReportsTo = ""
	noSue.Queues = nil
	stored := mustExport(t, s)
	_, err = s.ImportSite(ctx, noSue, "cli:import")
	var ke *KeptUserError
	if !errors.As(err, &ke) || ke.Agent != "sue" || !strings.Contains(err.Error(), `belongs to agent "sue", which the site removes`) {
		t.Errorf("import removing a kept user's agent = %v, want a KeptUserError naming agent sue", err)
	}
	sameStored(t, "configuration after a refused import", mustExport(t, s), stored)
}

// ReplaceUsers makes the users exactly the site's.
func TestImportReplaceUsers(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if _, err := s.ImportSite(ctx, fullSite(), "test"); err != nil {
		t.Fatal(err)
	}
	next := fullSite()
	next.Users = []site.User{{Login: "root", Role: site.RoleAdmin, Password: "root-password-1"}}
	ch, err := s.ImportSiteWith(ctx, next, "cli:import", ImportOptions{ReplaceUsers: true})
	if err != nil {
		t.Fatal(err)
	}
	if k := ch.Kind("users"); !reflect.DeepEqual(k.Removed, []string{"admin", "sue"}) || !reflect.DeepEqual(k.Added, []string{"root"}) || ch.KeptUsers != nil {
		t.Errorf("change %+v, want admin and sue removed, root added, none kept", ch)
	}
	if u := storedUsers(t, s); len(u) != 1 || u[0].Login != "root" {
		t.Errorf("users = %+v, want only root", u)
	}
	if _, err := s.CheckPassword(ctx, "admin", "admin-password-1"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("removed admin still logs in: %v", err)
	}
}

// No import leaves the box without an admin while it has one, whoever
// imports: a file, a console apply, a version restore.
func TestImportNeverRemovesTheLastAdmin(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	// Version 1 has no users, as a first import of a site file would.
	v1 := fullSite()
	v1.Users = nil
	if _, err := s.ImportSite(ctx, v1, "serve:--site"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFirstAdmin(ctx, "installer", "installer-pw-1"); err != nil {
		t.Fatal(err)
	}
	base, _ := s.ConfigVersion(ctx)
	stored := mustExport(t, s)
	nAudit := len(auditRows(t, s))

	manager := []site.User{{Login: "sue", Role: site.RoleManager, Agent: "sue", Password: "sue-password-1"}}
	demoted := []site.User{{Login: "installer", Role: site.RoleManager, Agent: "sue"}}
	old, err := s.VersionSite(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		users []site.User
		site  *site.Site
		o     ImportOptions
		want  string
	}{
		{"file without admins, replacing users", manager, nil, ImportOptions{ReplaceUsers: true}, "or import without replacing the users"},
		{"file without users, replacing users", nil, nil, ImportOptions{ReplaceUsers: true}, "or import without replacing the users"},
		{"file demoting the admin", demoted, nil, ImportOptions{}, "or keep the role of installer"},
		{"console apply without admins", manager, nil, ImportOptions{Base: base, ReplaceUsers: true, Action: "config.apply"}, "stored: installer"},
		{"restore of a version before the admin", nil, old, ImportOptions{Base: base, RestoredFrom: 1, ReplaceUsers: true, Action: "config.apply"}, "stored: installer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.site
			if next == nil {
				next = fullSite()
				next.Users = tt.users
			}
			_, err := s.ImportSiteWith(ctx, next, "test", tt.o)
			var le *LastAdminError
			if !errors.Is(err, ErrLastAdmin) || !errors.As(err, &le) ||
				!strings.Contains(err.Error(), "the import removes every admin (stored: installer); keep an admin in users:") ||
				!strings.Contains(err.Error(), tt.want) {
				t.Fatalf("import = %v, want refused naming the admin and %q", err, tt.want)
			}
			sameStored(t, "configuration after a refused import", mustExport(t, s), stored)
			if v, _ := s.ConfigVersion(ctx); v != base {
				t.Errorf("config version %d after a refused import, want %d", v, base)
			}
			if n := len(auditRows(t, s)); n != nAudit {
				t.Errorf("%d audit rows after a refused import, want %d", n, nAudit)
			}
			if _, err := s.CheckPassword(ctx, "installer", "installer-pw-1"); err != nil {
				t.Errorf("the admin cannot log in after a refused import: %v", err)
			}
		})
	}
}

// First-boot setup is done once an admin has existed, and stays done when
// the admin is gone (an import of an older firmware deleted it); only a
// new data directory (factory reset) has it again.
func TestSetupDoneOnceAnAdminExisted(t *testing.T) {
	ctx := t.Context()
	for _, how := range []string{"first admin", "import with an admin", "user created", "version recorded by an older firmware"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir, Options{})
			noUsers := fullSite()
			noUsers.Users = nil
			if _, err := s.ImportSite(ctx, noUsers, "test"); err != nil {
				t.Fatal(err)
			}
			if done, err := s.SetupDone(ctx); err != nil || done {
				t.Fatalf("SetupDone on a box without admins = %v, %v", done, err)
			}
			switch how {
			case "first admin":
				if err := s.CreateFirstAdmin(ctx, "boss", "boss-password-1"); err != nil {
					t.Fatal(err)
				}
			case "import with an admin":
				withAdmin := fullSite()
				if _, err := s.ImportSite(ctx, withAdmin, "test"); err != nil {
					t.Fatal(err)
				}
			case "user created":
				if err := s.CreateUser(ctx, "boss", auth.Admin, "", "boss-password-1"); err != nil {
					t.Fatal(err)
				}
			case "version recorded by an older firmware":
				if _, err := s.w.ExecContext(ctx, `INSERT INTO site_versions (version, site_yaml, user_hashes, actor, applied_ms, change)
					VALUES (100, '{"version":1,"users":[{"login":"old","role":"admin"}]}', '{}', 'old', 0, '{}')`); err != nil {
					t.Fatal(err)
				}
			}
			if done, err := s.SetupDone(ctx); err != nil || !done {
				t.Fatalf("SetupDone after %s = %v, %v", how, done, err)
			}
			// What an older firmware's import without users: did.
			if _, err := s.w.ExecContext(ctx, `DELETE FROM users`); err != nil {
				t.Fatal(err)
			}
			if has, _ := s.HasAdmin(ctx); has {
				t.Fatal("admin still there")
			}
			again := openStore(t, dir, Options{})
			if done, err := again.SetupDone(ctx); err != nil || !done {
				t.Errorf("SetupDone without the admin, reopened = %v, %v; want true", done, err)
			}
			if err := again.CreateFirstAdmin(ctx, "mallory", "mallory-password-1"); !errors.Is(err, auth.ErrAdminExists) {
				t.Errorf("CreateFirstAdmin after an admin existed = %v, want ErrAdminExists", err)
			}
			if _, err := again.CheckPassword(ctx, "mallory", "mallory-password-1"); err == nil {
				t.Error("mallory can log in")
			}
			// The console's recovery.
			created, err := again.ResetAdmin(ctx, "boss", "a-new-password-1", "cli:admin-reset")
			if err != nil || !created {
				t.Fatalf("ResetAdmin = %v, %v", created, err)
			}
			if p, err := again.CheckPassword(ctx, "boss", "a-new-password-1"); err != nil || p.Role != auth.Admin {
				t.Errorf("boss after ResetAdmin = %+v, %v", p, err)
			}
		})
	}
	// A new data directory, as a factory reset leaves, has setup again.
	s := openStore(t, t.TempDir(), Options{})
	if done, err := s.SetupDone(ctx); err != nil || done {
		t.Errorf("SetupDone on a new data directory = %v, %v", done, err)
	}
}

// ResetAdmin on an existing login makes it an admin with the new password
// and keeps its agent.
func TestResetAdminExistingUser(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if _, err := s.ImportSite(ctx, fullSite(), "test"); err != nil {
		t.Fatal(err)
	}
	created, err := s.ResetAdmin(ctx, "sue", "sue-admin-password", "cli:admin-reset")
	if err != nil || created {
		t.Fatalf("ResetAdmin(sue) = %v, %v", created, err)
	}
	p, err := s.CheckPassword(ctx, "sue", "sue-admin-password")
	if err != nil || p.Role != auth.Admin || p.Agent != "sue" {
		t.Errorf("sue after ResetAdmin = %+v, %v", p, err)
	}
	if a := auditRows(t, s); a[0].Action != "user.reset_admin" || a[0].Actor != "cli:admin-reset" {
		t.Errorf("audit %+v, want user.reset_admin by cli:admin-reset", a[0])
	}
}

// BenchmarkSetupDoneWithoutAdmin is the dearest case of SetupDone: a box
// with no admin, where every check runs, with a recorded version of a
// large site and an audit log of 1,000 rows (a box never set up has few:
// only imports write them) or 100,000. The web server asks it on the setup
// page and its API until it says yes, then remembers.
func BenchmarkSetupDoneWithoutAdmin(b *testing.B) {
	for _, rows := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("audit=%d", rows), func(b *testing.B) {
			s := openStore(b, b.TempDir(), Options{})
			ctx := b.Context()
			big := bigSite()
			big.Users = nil
			if _, err := s.ImportSite(ctx, big, "bench"); err != nil {
				b.Fatal(err)
			}
			if _, err := s.w.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?)
				INSERT INTO audit (time_ms, actor, action, object, detail)
				SELECT x, 'bench', 'config.import', 'site', '{"version":1,"kinds":[{"kind":"extensions","changed":["101"]}]}' FROM c`, rows); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if done, err := s.SetupDone(ctx); err != nil || done {
					b.Fatalf("SetupDone = %v, %v", done, err)
				}
			}
		})
	}
}
