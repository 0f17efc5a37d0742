package update_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringbox/firmware/update"
	"ringbox/firmware/update/updatetest"
)

func TestInstallWritesInactiveSlotAndSwitchesBoot(t *testing.T) {
	p := updatetest.NewPKI(t, "dev")
	image := randBytes(550000)
	bundle := p.Bundle(t, updatetest.Compatible, "v1.1.0", image)
	b := updatetest.NewBox(t, p, "v1.0.0")
	if err := b.Updater.MarkGood(); err != nil {
		t.Fatal(err)
	}
	var steps []string
	info, err := b.Updater.Install(context.Background(), bundle, false, func(pr update.Progress) {
		if len(steps) == 0 || steps[len(steps)-1] != pr.Step {
			steps = append(steps, pr.Step)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "v1.1.0" || info.Size != int64(len(image)) {
		t.Errorf("info = %+v", info)
	}
	if got := strings.Join(steps, ","); got != "verify,write,done" {
		t.Errorf("progress steps %s", got)
	}
	got, _ := os.ReadFile(b.SlotB)
	if !bytes.HasPrefix(got, image) {
		t.Error("slot B does not hold the image")
	}
	if a, _ := os.ReadFile(b.SlotA); !bytes.Equal(a, bytes.Repeat([]byte("A"), updatetest.SlotSize)) {
		t.Error("the running slot A was written")
	}
	if st := b.BootState(t); st != "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=2\n" {
		t.Errorf("boot state after install:\n%s", st)
	}
	st, err := b.Updater.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending == nil || st.Pending.Name != "B" || st.Pending.Version != "v1.1.0" || st.Booted != "A" {
		t.Errorf("status after install: %+v", st)
	}

	// Next boot: slot B, healthy.
	u := b.Open(t, "B", "v1.1.0")
	if err := u.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if st := b.BootState(t); st != "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" {
		t.Errorf("boot state after mark good:\n%s", st)
	}
	st, _ = u.Status()
	if st.Pending != nil || st.Rollback != nil || st.Slots[1].State != "good" || st.Slots[1].Version != "v1.1.0" {
		t.Errorf("status on B: %+v", st)
	}
}

func TestRefusedBundlesWriteNothing(t *testing.T) {
	p := updatetest.NewPKI(t, "dev")
	image := randBytes(200000)
	other := updatetest.NewPKI(t, "stranger").Bundle(t, updatetest.Compatible, "v2.0.0", image)
	board := p.Bundle(t, "ringbox-pbx-a", "v2.0.0", image)
	older := p.Bundle(t, updatetest.Compatible, "v0.9.0", image)
	good := p.Bundle(t, updatetest.Compatible, "v2.0.0", image)
	data, _ := os.ReadFile(good)
	// One byte of the payload changed: the signature still verifies (it
	// covers the manifest), the verity hash does not.
	data[100] ^= 1
	tampered := filepath.Join(t.TempDir(), "t.raucb")
	os.WriteFile(tampered, data, 0o644)
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, bytes.Repeat([]byte{1}, 10000), 0o644)

	b := updatetest.NewBox(t, p, "v1.0.0")
	for _, c := range []struct {
		path string
		want error
		msg  string
	}{
		{other, update.ErrSignature, "certificate"},
		{board, update.ErrCompatible, "bundle is for ringbox-pbx-a, this box is ringbox-qemu-virt"},
		{older, update.ErrOlder, "force"},
		{tampered, update.ErrSignature, "verity"},
		{junk, update.ErrNotBundle, "signature trailer"},
	} {
		_, err := b.Updater.Install(context.Background(), c.path, false, nil)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v mentioning %q", filepath.Base(c.path), err, c.want, c.msg)
		}
	}
	if got, _ := os.ReadFile(b.SlotB); !bytes.Equal(got, bytes.Repeat([]byte("B"), updatetest.SlotSize)) {
		t.Error("slot B was written by a refused bundle")
	}
	if st := b.BootState(t); st != "" {
		t.Errorf("boot state written by a refused bundle: %q", st)
	}
	// force installs the older one.
	if _, err := b.Updater.Install(context.Background(), older, true, nil); err != nil {
		t.Errorf("forced older bundle: %v", err)
	}
}

func TestRollbackRecordedWithReason(t *testing.T) {
	p := updatetest.NewPKI(t, "dev")
	bundle := p.Bundle(t, updatetest.Compatible, "v1.2.0", randBytes(100000))
	b := updatetest.NewBox(t, p, "v1.1.0")
	if _, err := b.Updater.Install(context.Background(), bundle, false, nil); err != nil {
		t.Fatal(err)
	}
	// Slot B fails its health checks until its attempts are gone (what the
	// initramfs and S90health do), and the initramfs boots A.
	b.FailBoots(t, "B", "ringbox exited 3 times at start: exit status 1")

	u := b.Open(t, "A", "v1.1.0")
	if err := u.MarkGood(); err != nil {
		t.Fatal(err)
	}
	s, err := u.Status()
	if err != nil {
		t.Fatal(err)
	}
	if s.Rollback == nil || s.Rollback.From != "B" || s.Rollback.Version != "v1.2.0" || !strings.Contains(s.Rollback.Reason, "exit status 1") {
		t.Fatalf("rollback = %+v", s.Rollback)
	}
	if got := b.BootState(t); got != "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n" {
		t.Errorf("boot state after the rollback:\n%s", got)
	}
	if s.Slots[1].State != "bad" {
		t.Errorf("slot B state %q, want bad", s.Slots[1].State)
	}
}

func TestPowerCutDuringWriteKeepsOldSlot(t *testing.T) {
	p := updatetest.NewPKI(t, "dev")
	bundle := p.Bundle(t, updatetest.Compatible, "v1.1.0", randBytes(3<<20))
	b := updatetest.NewBox(t, p, "v1.0.0")
	b.Updater.MarkGood()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := b.Updater.Install(ctx, bundle, false, func(pr update.Progress) {
		if pr.Step == "write" {
			// The cut: the state a power cut leaves mid-write.
			if got := b.BootState(t); got != "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n" {
				t.Errorf("boot state while writing:\n%s", got)
			}
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := b.BootState(t); !strings.HasPrefix(got, "BOOT_ORDER=A B\n") || !strings.Contains(got, "BOOT_B_LEFT=0") {
		t.Errorf("boot state after an interrupted install:\n%s", got)
	}
}

func TestBusy(t *testing.T) {
	p := updatetest.NewPKI(t, "dev")
	b := updatetest.NewBox(t, p, "v1.0.0")
	defer update.HoldBusy(b.Updater)()
	if _, err := b.Updater.Install(context.Background(), "x", false, nil); !errors.Is(err, update.ErrBusy) {
		t.Errorf("err = %v", err)
	}
}

func TestVerityMatchesRauc(t *testing.T) {
	// A bundle large enough for a two-level hash tree (over 128 data blocks).
	p := updatetest.NewPKI(t, "dev")
	img := make([]byte, 2<<20)
	rand.Read(img)
	path := p.Bundle(t, updatetest.Compatible, "v1", img)
	f, _ := os.Open(path)
	defer f.Close()
	fi, _ := f.Stat()
	kr, _ := update.LoadKeyring(p.CA)
	bd, err := update.OpenBundle(f, fi.Size(), kr)
	if err != nil {
		t.Fatal(err)
	}
	if err := bd.VerifyPayload(nil); err != nil {
		t.Fatal(err)
	}
	if bd.Manifest.VeritySize <= update.VerityBlock {
		t.Errorf("verity-size %d: not a two-level tree", bd.Manifest.VeritySize)
	}
	if im, _ := bd.Manifest.Image("rootfs"); im.Size != int64(len(img)) || !bytes.Equal(im.SHA256, sha(img)) {
		t.Errorf("image %+v", im)
	}
}

func randBytes(n int) []byte { b := make([]byte, n); rand.Read(b); return b }

func sha(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func TestCompareVersions(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
		ok   bool
	}{
		{"v1.2.0", "v1.10.0", -1, true},
		{"v1.2.0-3-gabc123", "v1.2.0", 1, true},
		{"v1.2.0-3-gabc123-dirty", "v1.2.0-12-gdef456", -1, true},
		{"v1.2.0-rc1", "v1.2.0", -1, true},
		{"1.2", "v1.2.0", 0, true},
		{"3f2a1c9", "v1.0.0", 0, false},
		{"dev", "dev", 0, false},
	} {
		got, ok := update.CompareVersions(c.a, c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("update.CompareVersions(%q, %q) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func FuzzOpenBundle(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add(append(make([]byte, 5000), 0, 0, 0, 0, 0, 0, 0x01, 0x00))
	f.Add(append(bytes.Repeat([]byte{0x30, 0x82, 0x01, 0x00}, 1100), 0, 0, 0, 0, 0, 0, 0x01, 0x00))
	kr := x509.NewCertPool()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := update.OpenBundle(bytes.NewReader(data), int64(len(data)), kr)
		if err == nil {
			t.Fatalf("an unsigned input was accepted: %+v", b.Manifest)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("[update]\ncompatible=x\nversion=1\n[bundle]\nformat=verity\nverity-size=4096\n[image.rootfs]\nfilename=a\nsha256=00\nsize=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		update.ParseManifest(data)
	})
}

// TestUBootEnv: on the reference board the boot state is U-Boot's
// environment, through fw_printenv and fw_setenv (stand-ins here that keep
// the environment in a file, as the tools keep it on flash).
func TestUBootEnv(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "env")
	os.WriteFile(env, []byte("BOOT_ORDER=A B\nBOOT_A_LEFT=1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "fw_printenv"), []byte("#!/bin/sh\ngrep \"^$1=\" "+env+"\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "fw_setenv"), []byte("#!/bin/sh\n[ \"$1 $2\" = \"-s -\" ] || exit 2\nsed 's/ /=/' >"+env+"\n"), 0o755)
	t.Setenv("PATH", dir+":"+os.Getenv("PATH"))
	st, err := update.ReadBootState(update.UBootEnv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Order, " ") != "A B" || st.Left["A"] != 1 || st.Left["B"] != 0 {
		t.Fatalf("read %+v", st)
	}
	st.PutFirst("B")
	st.Left["B"] = update.NewTries
	if err := st.Write(update.UBootEnv); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(env); string(got) != "BOOT_ORDER=B A\nBOOT_A_LEFT=1\nBOOT_B_LEFT=2\n" {
		t.Errorf("U-Boot environment:\n%s", got)
	}
}

// TestBootStateRewrittenInPlace: the second write reuses the file (same
// inode, same size), so on vfat neither the FAT nor the directory changes.
func TestBootStateRewrittenInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstate")
	st := update.BootState{Order: []string{"A", "B"}, Left: map[string]int{"A": 3, "B": 0}}
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	st.PutFirst("B")
	st.Left["B"] = 2
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || after.Size() != update.BootStateSize {
		t.Errorf("the boot state was not rewritten in place (same file %v, size %d)", os.SameFile(before, after), after.Size())
	}
	got, err := update.ReadBootState(path)
	if err != nil || strings.Join(got.Order, " ") != "B A" || got.Left["B"] != 2 || got.Left["A"] != 3 {
		t.Errorf("read back %+v, %v", got, err)
	}
}
