package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// An installer imports a site file without users: into a running box (as
// `ringbox import` from a shell on it): the admin made on first boot can
// still log in, and first-boot setup does not come back. Replacing the
// users with a file that has no admin is refused, running or stopped; and
// `ringbox admin reset` on the console sets a new admin password.
func TestImportWithoutUsersKeepsTheAdmin(t *testing.T) {
	t.Parallel()
	demo := demoSite(t)
	a := startServe(t, serveOpt{site: demo})
	const login, password = "installer", "correct horse battery"
	if code, body := a.send("POST", "/api/v1/setup", "", "application/json",
		strings.NewReader(`{"login":"`+login+`","password":"`+password+`"}`)); code != 201 {
		t.Fatalf("setup = %d %s", code, body)
	}
	loginCode := func(pw string) int {
		t.Helper()
		code, _ := a.send("POST", "/api/v1/session", "", "application/json",
			strings.NewReader(`{"login":"`+login+`","password":"`+pw+`"}`))
		return code
	}

	b, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("\nusers:")) {
		t.Fatal("the demo site has users: this test wants a site file without them")
	}
	dir := filepath.Dir(demo)
	noUsers := filepath.Join(dir, "no-users.yaml")
	if err := os.WriteFile(noUsers, bytes.Replace(b, []byte("name: "), []byte("name: Renamed "), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := ringbox(t, "import", noUsers, "--data", a.data)
	if code != 0 {
		t.Fatalf("import without users = exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "kept web users not in the file: installer") {
		t.Errorf("the import does not say it kept the admin:\n%s", out)
	}
	if c := loginCode(password); c != 200 {
		t.Errorf("admin login after importing a site file without users = %d, want 200", c)
	}
	if c, body := a.send("POST", "/api/v1/setup", "", "application/json",
		strings.NewReader(`{"login":"mallory","password":"another long password"}`)); c != 409 || !strings.Contains(string(body), "setup is done: sign in") {
		t.Errorf("setup after the import = %d %s, want 409", c, body)
	}

	// --replace-users with a file that has no admin: refused, nothing changed.
	managers := filepath.Join(dir, "managers.yaml")
	if err := os.WriteFile(managers, append(append([]byte{}, b...), "\nusers:\n  - {login: boss, role: manager, password: boss-password-1}\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := func(when string) {
		t.Helper()
		out, errOut, code := ringbox(t, "import", managers, "--replace-users", "--data", a.data)
		if code != 1 || !strings.Contains(errOut, "the import removes every admin (stored: installer); keep an admin in users:") {
			t.Errorf("import --replace-users without an admin (%s) = exit %d\n%s%s", when, code, out, errOut)
		}
	}
	refused("box running")
	if c := loginCode(password); c != 200 {
		t.Errorf("admin login after a refused import = %d, want 200", c)
	}
	if err := a.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	refused("box stopped")

	// The console's recovery: a new password for the admin.
	cmd := exec.Command(binPath, "admin", "reset", "--login", login, "--data", a.data)
	cmd.Stdin = strings.NewReader("a brand new passphrase\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "is an admin with the new password") {
		t.Fatalf("admin reset = %v\n%s", err, out)
	}
	a = startServe(t, serveOpt{data: a.data})
	if c := loginCode("a brand new passphrase"); c != 200 {
		t.Errorf("admin login with the password set by admin reset = %d, want 200", c)
	}
	if c := loginCode(password); c != 401 {
		t.Errorf("admin login with the old password = %d, want 401", c)
	}
}
