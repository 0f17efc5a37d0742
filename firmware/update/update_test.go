package update

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pki is a development CA and a signing certificate it issued, as
// scripts/bundle.sh makes them with openssl.
type pki struct {
	caPEM, certPEM, keyPEM []byte
}

func newPKI(t *testing.T, name string) pki {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pki{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
}

// makeBundle builds a verity bundle with Debian's rauc (scripts/test-deps.sh
// installs it) holding image as rootfs.ext4.
func makeBundle(t *testing.T, p pki, compatible, version string, image []byte) string {
	t.Helper()
	if _, err := exec.LookPath("rauc"); err != nil {
		t.Skip("rauc not installed (scripts/test-deps.sh installs it)")
	}
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	os.Mkdir(content, 0o755)
	os.WriteFile(filepath.Join(content, "rootfs.ext4"), image, 0o644)
	os.WriteFile(filepath.Join(content, "manifest.raucm"), fmt.Appendf(nil,
		"[update]\ncompatible=%s\nversion=%s\n\n[bundle]\nformat=verity\n\n[image.rootfs]\nfilename=rootfs.ext4\n", compatible, version), 0o644)
	os.WriteFile(filepath.Join(dir, "cert.pem"), append(p.certPEM, p.caPEM...), 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), p.keyPEM, 0o600)
	out := filepath.Join(dir, "b.raucb")
	cmd := exec.Command("rauc", "bundle", "--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem"), content, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rauc bundle: %v\n%s", err, b)
	}
	return out
}

type box struct {
	u            *Updater
	slotA, slotB string
	dir          string
}

// newBox is a box booted from slot A whose slots are plain files.
func newBox(t *testing.T, p pki, version string) *box {
	t.Helper()
	dir := t.TempDir()
	b := &box{dir: dir, slotA: filepath.Join(dir, "slotA"), slotB: filepath.Join(dir, "slotB")}
	os.WriteFile(b.slotA, bytes.Repeat([]byte("A"), 1<<20), 0o644)
	os.WriteFile(b.slotB, bytes.Repeat([]byte("B"), 1<<20), 0o644)
	os.WriteFile(filepath.Join(dir, "keyring.pem"), p.caPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "system.conf"), []byte(
		"[system]\ncompatible=ringbox-qemu-virt\nbootloader=custom\n\n[slot.rootfs.0]\ndevice="+b.slotA+
			"\ntype=ext4\nbootname=A\n\n[slot.rootfs.1]\ndevice="+b.slotB+"\ntype=ext4\nbootname=B\n"), 0o644)
	b.u = b.open(t, "A", version)
	return b
}

func (b *box) open(t *testing.T, booted, version string) *Updater {
	t.Helper()
	u, err := New(Config{
		Keyring: filepath.Join(b.dir, "keyring.pem"), SystemConf: filepath.Join(b.dir, "system.conf"),
		BootState: filepath.Join(b.dir, "bootstate"), DataDir: filepath.Join(b.dir, "data"),
		Version: version, Booted: booted,
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (b *box) bootState(t *testing.T) string {
	s, _ := os.ReadFile(filepath.Join(b.dir, "bootstate"))
	if len(s) > 0 && len(s) != BootStateSize {
		t.Errorf("the boot-state file has %d bytes, want %d", len(s), BootStateSize)
	}
	if t := strings.TrimRight(string(s), "\n"); t != "" {
		return t + "\n"
	}
	return ""
}

func TestInstallWritesInactiveSlotAndSwitchesBoot(t *testing.T) {
	p := newPKI(t, "dev")
	image := randBytes(550000)
	bundle := makeBundle(t, p, "ringbox-qemu-virt", "v1.1.0", image)
	b := newBox(t, p, "v1.0.0")
	if err := b.u.MarkGood(); err != nil {
		t.Fatal(err)
	}
	var steps []string
	info, err := b.u.Install(context.Background(), bundle, false, func(pr Progress) {
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
	got, _ := os.ReadFile(b.slotB)
	if !bytes.HasPrefix(got, image) {
		t.Error("slot B does not hold the image")
	}
	if a, _ := os.ReadFile(b.slotA); !bytes.Equal(a, bytes.Repeat([]byte("A"), 1<<20)) {
		t.Error("the running slot A was written")
	}
	if st := b.bootState(t); st != "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=2\n" {
		t.Errorf("boot state after install:\n%s", st)
	}
	st, err := b.u.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending == nil || st.Pending.Name != "B" || st.Pending.Version != "v1.1.0" || st.Booted != "A" {
		t.Errorf("status after install: %+v", st)
	}

	// Next boot: slot B, healthy.
	u := b.open(t, "B", "v1.1.0")
	if err := u.MarkGood(); err != nil {
		t.Fatal(err)
	}
	if st := b.bootState(t); st != "BOOT_ORDER=B A\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n" {
		t.Errorf("boot state after mark good:\n%s", st)
	}
	st, _ = u.Status()
	if st.Pending != nil || st.Rollback != nil || st.Slots[1].State != "good" || st.Slots[1].Version != "v1.1.0" {
		t.Errorf("status on B: %+v", st)
	}
}

func TestRefusedBundlesWriteNothing(t *testing.T) {
	p := newPKI(t, "dev")
	image := randBytes(200000)
	other := makeBundle(t, newPKI(t, "stranger"), "ringbox-qemu-virt", "v2.0.0", image)
	board := makeBundle(t, p, "ringbox-pbx-a", "v2.0.0", image)
	older := makeBundle(t, p, "ringbox-qemu-virt", "v0.9.0", image)
	good := makeBundle(t, p, "ringbox-qemu-virt", "v2.0.0", image)
	data, _ := os.ReadFile(good)
	// One byte of the payload changed: the signature still verifies (it
	// covers the manifest), the verity hash does not.
	data[100] ^= 1
	tampered := filepath.Join(t.TempDir(), "t.raucb")
	os.WriteFile(tampered, data, 0o644)
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, bytes.Repeat([]byte{1}, 10000), 0o644)

	b := newBox(t, p, "v1.0.0")
	for _, c := range []struct {
		path string
		want error
		msg  string
	}{
		{other, ErrSignature, "certificate"},
		{board, ErrCompatible, "bundle is for ringbox-pbx-a, this box is ringbox-qemu-virt"},
		{older, ErrOlder, "force"},
		{tampered, ErrSignature, "verity"},
		{junk, ErrNotBundle, "signature trailer"},
	} {
		_, err := b.u.Install(context.Background(), c.path, false, nil)
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %v mentioning %q", filepath.Base(c.path), err, c.want, c.msg)
		}
	}
	if got, _ := os.ReadFile(b.slotB); !bytes.Equal(got, bytes.Repeat([]byte("B"), 1<<20)) {
		t.Error("slot B was written by a refused bundle")
	}
	if st := b.bootState(t); st != "" {
		t.Errorf("boot state written by a refused bundle: %q", st)
	}
	// force installs the older one.
	if _, err := b.u.Install(context.Background(), older, true, nil); err != nil {
		t.Errorf("forced older bundle: %v", err)
	}
}

func TestRollbackRecordedWithReason(t *testing.T) {
	p := newPKI(t, "dev")
	bundle := makeBundle(t, p, "ringbox-qemu-virt", "v1.2.0", randBytes(100000))
	b := newBox(t, p, "v1.1.0")
	if _, err := b.u.Install(context.Background(), bundle, false, nil); err != nil {
		t.Fatal(err)
	}
	// Slot B fails its health checks until its attempts are gone (what the
	// initramfs and S90health do), and the initramfs boots A.
	os.WriteFile(b.u.FailureFile("B"), []byte("ringbox exited 3 times at start: exit status 1\n"), 0o644)
	st, _ := ReadBootState(filepath.Join(b.dir, "bootstate"))
	st.Left["B"] = 0
	st.Write(filepath.Join(b.dir, "bootstate"))

	u := b.open(t, "A", "v1.1.0")
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
	if got := b.bootState(t); got != "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n" {
		t.Errorf("boot state after the rollback:\n%s", got)
	}
	if s.Slots[1].State != "bad" {
		t.Errorf("slot B state %q, want bad", s.Slots[1].State)
	}
}

func TestPowerCutDuringWriteKeepsOldSlot(t *testing.T) {
	p := newPKI(t, "dev")
	bundle := makeBundle(t, p, "ringbox-qemu-virt", "v1.1.0", randBytes(3<<20))
	b := newBox(t, p, "v1.0.0")
	b.u.MarkGood()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := b.u.Install(ctx, bundle, false, func(pr Progress) {
		if pr.Step == "write" {
			// The cut: the state a power cut leaves mid-write.
			if got := b.bootState(t); got != "BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=0\n" {
				t.Errorf("boot state while writing:\n%s", got)
			}
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if got := b.bootState(t); !strings.HasPrefix(got, "BOOT_ORDER=A B\n") || !strings.Contains(got, "BOOT_B_LEFT=0") {
		t.Errorf("boot state after an interrupted install:\n%s", got)
	}
}

func TestBusy(t *testing.T) {
	p := newPKI(t, "dev")
	b := newBox(t, p, "v1.0.0")
	b.u.busy.Lock()
	defer b.u.busy.Unlock()
	if _, err := b.u.Install(context.Background(), "x", false, nil); !errors.Is(err, ErrBusy) {
		t.Errorf("err = %v", err)
	}
}

func TestVerityMatchesRauc(t *testing.T) {
	// A bundle large enough for a two-level hash tree (over 128 data blocks).
	p := newPKI(t, "dev")
	img := make([]byte, 2<<20)
	rand.Read(img)
	path := makeBundle(t, p, "ringbox-qemu-virt", "v1", img)
	f, _ := os.Open(path)
	defer f.Close()
	fi, _ := f.Stat()
	kr, _ := LoadKeyring(p.caPEM)
	bd, err := OpenBundle(f, fi.Size(), kr)
	if err != nil {
		t.Fatal(err)
	}
	if err := bd.VerifyPayload(nil); err != nil {
		t.Fatal(err)
	}
	if bd.Manifest.VeritySize <= verityBlock {
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
		got, ok := CompareVersions(c.a, c.b)
		if got != c.want || ok != c.ok {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
}

func FuzzOpenBundle(f *testing.F) {
	f.Add([]byte("hello"))
	f.Add(append(make([]byte, 5000), 0, 0, 0, 0, 0, 0, 0x01, 0x00))
	f.Add(append(bytes.Repeat([]byte{0x30, 0x82, 0x01, 0x00}, 1100), 0, 0, 0, 0, 0, 0, 0x01, 0x00))
	kr := x509.NewCertPool()
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := OpenBundle(bytes.NewReader(data), int64(len(data)), kr)
		if err == nil {
			t.Fatalf("an unsigned input was accepted: %+v", b.Manifest)
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("[update]\ncompatible=x\nversion=1\n[bundle]\nformat=verity\nverity-size=4096\n[image.rootfs]\nfilename=a\nsha256=00\nsize=1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ParseManifest(data)
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
	st, err := ReadBootState(UBootEnv)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(st.Order, " ") != "A B" || st.Left["A"] != 1 || st.Left["B"] != 0 {
		t.Fatalf("read %+v", st)
	}
	st.putFirst("B")
	st.Left["B"] = NewTries
	if err := st.Write(UBootEnv); err != nil {
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
	st := BootState{Order: []string{"A", "B"}, Left: map[string]int{"A": 3, "B": 0}}
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(path)
	st.putFirst("B")
	st.Left["B"] = 2
	if err := st.Write(path); err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || after.Size() != BootStateSize {
		t.Errorf("the boot state was not rewritten in place (same file %v, size %d)", os.SameFile(before, after), after.Size())
	}
	got, err := ReadBootState(path)
	if err != nil || strings.Join(got.Order, " ") != "B A" || got.Left["B"] != 2 || got.Left["A"] != 3 {
		t.Errorf("read back %+v, %v", got, err)
	}
}
