package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"ringbox/firmware/update"
	"ringbox/firmware/update/updatetest"
	"ringbox/web"
)

// TestSystemPageInChromium: an admin logs in with the login form, sees
// the firmware version, the slots and the last rollback with its reason
// (firmware/update's Updater over slot files, from updatetest), uploads a
// real bundle with a progress bar for the upload and then the install
// (web.FirmwareRoutes), sees a bundle signed by a stranger refused in the
// box's words, saves a static network after seeing the error at a bad
// address, filters the log by level, is told a
// reboot needs the appliance, and the page fits 375 px
// (web/e2e/system.mjs drives Chromium). Screenshots are kept with
// -artifacts; with RINGBOX_DOCS_IMG=1 they also replace docs/img/system/.
func TestSystemPageInChromium(t *testing.T) {
	node, dir := browserScripts(t)
	// A box running 1.4.2 from slot A whose update to 1.5.0 was rolled
	// back: installed into B, failed its health check on every attempt,
	// and the boot back on A recorded why (as the appliance does it).
	dev := updatetest.NewPKI(t, "dev")
	box := updatetest.NewBox(t, dev, "1.4.2")
	if err := box.Updater.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if _, err := box.Updater.Install(t.Context(), dev.Bundle(t, updatetest.Compatible, "1.5.0", randomImage(100000)), false, nil); err != nil {
		t.Fatal(err)
	}
	box.FailBoots(t, "B", "health check failed: SIP did not answer within 60 s")
	upd := box.Open(t, "A", "1.4.2")
	if err := upd.MarkGood(); err != nil {
		t.Fatal(err)
	}
	// The bundles the admin uploads: a newer one, and one signed by a key
	// the box does not trust.
	image := randomImage(4 << 20)
	bundle := dev.Bundle(t, updatetest.Compatible, "1.5.1", image)
	stranger := updatetest.NewPKI(t, "stranger").Bundle(t, updatetest.Compatible, "1.6.0", randomImage(100000))

	e := newSysEnv(t, func(p *web.SystemPage) { p.FirmwareStatus = upd })
	e.log.Info("ringbox started", "version", "1.4.2", "sip", ":5060")
	e.log.Info("registered", "ext", "101", "contact", "sip:101@192.168.1.21:5060")
	e.log.Warn("trunk registration failed", "trunk", "provider", "status", 403)
	e.log.Error("voicemail mail not sent", "ext", "102", "err", "smtp: connection refused")
	e.log.Info("call ended", "call", "c-17", "cause", "normal")
	for _, r := range web.FirmwareRoutes(web.Firmware{Updater: slowDisk{upd, 500 * time.Millisecond}, TempDir: t.TempDir(), Logger: e.log}) {
		e.srv.HandleRoute(r)
	}
	srv := httptest.NewServer(e.h)
	t.Cleanup(srv.Close)

	shots := t.ArtifactDir()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "system.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BASE_URL="+srv.URL, "LOGIN=root", "PASSWORD=pw", "SHOTS="+shots,
		"BUNDLE="+bundle, "STRANGER_BUNDLE="+stranger)
	out, err := cmd.CombinedOutput()
	t.Logf("system.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("browser test of the System page failed: %v", err)
	}

	// What the page did reached the box.
	want := "# Network settings saved by ringbox's System page; /etc/init.d/S40network\n" +
		"# reads them at boot (sourced by sh).\n" +
		"MODE=static\nADDRESS=10.0.2.15/24\nGATEWAY=10.0.2.2\nDNS=\"10.0.2.3\"\n"
	if got := e.file("network.conf"); got != want {
		t.Errorf("network.conf after the page saved it:\n%s\nwant:\n%s", got, want)
	}
	if got := e.file("hostname"); got != "pbx-office\n" {
		t.Errorf("hostname file %q", got)
	}
	// The newer bundle is in slot B, which the next boot tries; the
	// stranger's wrote nothing.
	if got, _ := os.ReadFile(box.SlotB); !bytes.HasPrefix(got, image) {
		t.Error("slot B does not hold the uploaded bundle's image")
	}
	if got := box.BootState(t); got != "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=2\n" {
		t.Errorf("boot state after the upload:\n%s", got)
	}
	if st, err := upd.Status(); err != nil || st.Pending == nil || st.Pending.Name != "B" || st.Pending.Version != "1.5.1" {
		t.Errorf("firmware status after the upload: %+v, %v", st, err)
	}
	if os.Getenv("RINGBOX_DOCS_IMG") == "1" {
		docs := filepath.Join("..", "docs", "img", "system")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"system.png", "system-375.png"} {
			png, err := os.ReadFile(filepath.Join(shots, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(docs, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshots copied to %s", docs)
	}
}

// slowDisk is the box's updater writing a slot as slowly as the
// appliance's disk: a slot file in the test's temporary directory is
// written in milliseconds, before the page (which asks for the progress
// twice a second) could show any of it. It waits perMiB after each MiB
// written; the progress the page reads is still the updater's own.
type slowDisk struct {
	*update.Updater
	perMiB time.Duration
}

func (s slowDisk) Install(ctx context.Context, path string, force bool, progress func(update.Progress)) (update.Info, error) {
	return s.Updater.Install(ctx, path, force, func(p update.Progress) {
		if p.Step == "write" && p.Done < p.Total {
			time.Sleep(s.perMiB)
		}
		if progress != nil {
			progress(p)
		}
	})
}

func randomImage(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
