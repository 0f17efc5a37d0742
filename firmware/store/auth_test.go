package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/site"
)

func TestFirstAdminAndPasswords(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	if has, err := s.HasAdmin(ctx); err != nil || has {
		t.Fatalf("HasAdmin on a new box = %v, %v", has, err)
	}
	if err := s.CreateFirstAdmin(ctx, "admin", "s3cret-pass"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateFirstAdmin(ctx, "other", "x-password"); !errors.Is(err, auth.ErrAdminExists) {
		t.Errorf("second CreateFirstAdmin = %v, want ErrAdminExists", err)
	}
	if has, _ := s.HasAdmin(ctx); !has {
		t.Error("HasAdmin false after CreateFirstAdmin")
	}
	tests := []struct {
		login, password string
		wantErr         error
	}{
		{"admin", "s3cret-pass", nil},
		{"admin", "wrong", auth.ErrInvalid},
		{"admin", "", auth.ErrInvalid},
		{"nobody", "s3cret-pass", auth.ErrInvalid},
	}
	for _, tt := range tests {
		p, err := s.CheckPassword(ctx, tt.login, tt.password)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.login, tt.password, err, tt.wantErr)
		}
		if err == nil && (p != auth.Principal{Login: "admin", Role: auth.Admin}) {
			t.Errorf("CheckPassword(admin) = %+v", p)
		}
	}

	if _, err := s.ImportSite(ctx, &site.Site{
		Agents: []site.Agent{{ID: "sue"}},
		Users:  []site.User{{Login: "admin", Role: "admin"}},
	}, "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "sue", auth.Manager, "sue", "sue-pass"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "sue", auth.Agent, "", "x"); !errors.Is(err, ErrExists) {
		t.Errorf("CreateUser of a taken login = %v, want ErrExists", err)
	}
	if err := s.CreateUser(ctx, "zed", "root", "", "x"); err == nil {
		t.Error("CreateUser with role root succeeded")
	}
	if err := s.CreateUser(ctx, "zed", auth.Agent, "ghost", "x"); err == nil {
		t.Error("CreateUser for a missing agent succeeded")
	}
	if p, err := s.CheckPassword(ctx, "sue", "sue-pass"); err != nil || (p != auth.Principal{Login: "sue", Role: auth.Manager, Agent: "sue"}) {
		t.Errorf("CheckPassword(sue) = %+v, %v", p, err)
	}
	if err := s.SetPassword(ctx, "sue", "new-pass"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckPassword(ctx, "sue", "sue-pass"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("old password after SetPassword: %v", err)
	}
	if _, err := s.CheckPassword(ctx, "sue", "new-pass"); err != nil {
		t.Errorf("new password after SetPassword: %v", err)
	}
	if err := s.SetPassword(ctx, "ghost", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetPassword(ghost) = %v, want ErrNotFound", err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []site.User{{Login: "admin", Role: "admin"}, {Login: "sue", Role: "manager", Agent: "sue"}}; !slices.Equal(users, want) {
		t.Errorf("ListUsers = %+v, want %+v", users, want)
	}
	// CreateFirstAdmin, the import, CreateUser and SetPassword each bumped it.
	if v, _ := s.ConfigVersion(ctx); v != 4 {
		t.Errorf("config version = %d, want 4", v)
	}
}

func TestSessions(t *testing.T) {
	clk := newClock()
	s := openStore(t, t.TempDir(), Options{Now: clk.Now})
	ctx := t.Context()
	if err := s.CreateFirstAdmin(ctx, "admin", "pw-admin"); err != nil {
		t.Fatal(err)
	}
	p, err := s.CheckPassword(ctx, "admin", "pw-admin")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.CreateSession(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) != 43 || strings.ContainsAny(tok, "+/=") {
		t.Errorf("session token %q is not base64url of 32 bytes", tok)
	}
	check := func(when string, wantErr error) {
		t.Helper()
		got, err := s.Session(ctx, tok)
		if !errors.Is(err, wantErr) {
			t.Fatalf("%s: Session = %v, want %v", when, err, wantErr)
		}
		if err == nil && got != p {
			t.Errorf("%s: Session = %+v, want %+v", when, got, p)
		}
	}
	check("fresh", nil)
	if _, err := s.Session(ctx, tok+"x"); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("Session(wrong token) = %v", err)
	}
	clk.Advance(11 * time.Hour)
	check("11h later", nil)
	clk.Advance(11 * time.Hour) // 22h after login, 11h after last use
	check("used again 11h later", nil)
	clk.Advance(SessionTTL + time.Second)
	check("unused for 12h", auth.ErrInvalid)

	tok, err = s.CreateSession(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	check("new session", nil)
	if err := s.DeleteSession(ctx, tok); err != nil {
		t.Fatal(err)
	}
	check("after logout", auth.ErrInvalid)
	if err := s.DeleteSession(ctx, tok); err != nil {
		t.Errorf("second logout: %v", err)
	}

	// Importing a site that keeps the user keeps their session; one that
	// drops the user ends it.
	tok, _ = s.CreateSession(ctx, p)
	if _, err := s.ImportSite(ctx, &site.Site{Users: []site.User{{Login: "admin", Role: "admin"}}}, "admin"); err != nil {
		t.Fatal(err)
	}
	check("after an import keeping the user", nil)
	if _, err := s.ImportSiteWith(ctx, &site.Site{Users: []site.User{{Login: "root", Role: "admin", Password: "x"}}}, "admin",
		ImportOptions{ReplaceUsers: true}); err != nil {
		t.Fatal(err)
	}
	check("after an import removing the user", auth.ErrInvalid)
}

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	s := openStore(t, dir, Options{Now: clk.Now})
	ctx := t.Context()
	plain, err := s.CreateToken(ctx, "crm", auth.Manager)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(plain, "rbx_") || len(plain) != 4+43 {
		t.Errorf("token %q is not rbx_ + base64url(32 bytes)", plain)
	}
	if _, err := s.CreateToken(ctx, "crm", auth.Agent); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate CreateToken = %v, want ErrExists", err)
	}
	if _, err := s.CreateToken(ctx, "x", "superuser"); err == nil {
		t.Error("CreateToken with an unknown role succeeded")
	}
	p, err := s.Token(ctx, plain)
	if err != nil || (p != auth.Principal{Login: "token:crm", Role: auth.Manager}) {
		t.Errorf("Token = %+v, %v", p, err)
	}
	for _, bad := range []string{"", "rbx_", plain[:len(plain)-1], strings.TrimPrefix(plain, "rbx_"), plain + "A"} {
		if _, err := s.Token(ctx, bad); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("Token(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []TokenInfo{{Name: "crm", Role: "manager", Created: clk.Now(), LastUsed: clk.Now()}}; !slices.Equal(list, want) {
		t.Errorf("ListTokens = %+v, want %+v", list, want)
	}
	for _, f := range []string{FileName, FileName + "-wal"} {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte(plain[4:])) {
			t.Errorf("%s contains the plain token", f)
		}
	}
	if err := s.RevokeToken(ctx, "crm"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(ctx, plain); !errors.Is(err, auth.ErrInvalid) {
		t.Errorf("revoked token: %v, want ErrInvalid", err)
	}
	if err := s.RevokeToken(ctx, "crm"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second revoke = %v, want ErrNotFound", err)
	}
}
