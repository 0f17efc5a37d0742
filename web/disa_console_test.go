package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestConsoleKeepsDISAPINSecret: a DISA PIN set in the console is applied
// but never shown again: not in the edit page, the review, or the diff;
// saving the extension with the field empty keeps it.
func TestConsoleKeepsDISAPINSecret(t *testing.T) {
	e := newConsoleEnv(t, consoleSite)
	b := e.login("alice", consoleAdminPW)
	p := b.post("/console/k/extensions/o/101", "number", "101", "name", "Bob", "mobile", "+15550001001", "disa_pin", "975310")
	if p.code != http.StatusSeeOther {
		t.Fatalf("save extension: %d\n%s", p.code, p.body)
	}
	for _, path := range []string{"/console/k/extensions/o/101", "/console/review", "/console/review/diff"} {
		if g := b.get(path); strings.Contains(g.body, "975310") {
			t.Errorf("%s shows the DISA PIN", path)
		}
	}
	// Saved again with the PIN left empty: the PIN stays.
	if p := b.post("/console/k/extensions/o/101", "number", "101", "name", "Bobby", "mobile", "+15550001001", "disa_pin", ""); p.code != http.StatusSeeOther {
		t.Fatalf("save extension again: %d\n%s", p.code, p.body)
	}
	p = b.get("/console/review")
	if p = b.post("/console/apply", "base", baseOf(t, p.body)); p.code != http.StatusSeeOther {
		t.Fatalf("apply: %d\n%s", p.code, p.body)
	}
	x := e.cfg.Current().Site.Extensions[0]
	if x.Name != "Bobby" || x.Mobile != "+15550001001" || x.DISAPIN != "975310" {
		t.Errorf("applied extension %+v, want the mobile and the PIN kept", x)
	}
}
