// Package updatetest makes what tests of firmware updates need, for real:
// a signing PKI, RAUC verity bundles built with Debian's rauc tool
// (scripts/test-deps.sh installs it) and a box whose A/B slots and boot
// state are plain files, with an update.Updater over them. Tests of
// firmware/update and of the web routes that drive it share it, so both
// run the same updater on the same kind of disk.
package updatetest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/update"
)

// Compatible is the board a Box is: the one the qemu image is built for.
const Compatible = "ringbox-qemu-virt"

// SlotSize is the size of a Box's slot files before anything is written.
const SlotSize = 1 << 20

// PKI is a development CA and a signing certificate it issued, as
// scripts/bundle.sh makes them with openssl; all three are PEM.
type PKI struct {
	CA, Cert, Key []byte
}

// NewPKI makes a CA named name and a signing certificate it issued.
func NewPKI(t testing.TB, name string) PKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name + " signing"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return PKI{
		CA:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
	}
}

// Bundle builds a verity bundle signed by p with Debian's rauc, holding
// image as the rootfs slot image, and returns its path. The test fails
// when rauc is not installed: a skipped test would hide the updater's
// checks (make test installs rauc).
func (p PKI) Bundle(t testing.TB, compatible, version string, image []byte) string {
	t.Helper()
	if _, err := exec.LookPath("rauc"); err != nil {
		t.Fatal("rauc is required (scripts/test-deps.sh, run by make test, installs it)")
	}
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	write(t, filepath.Join(content, "rootfs.ext4"), image, 0o644)
	write(t, filepath.Join(content, "manifest.raucm"), fmt.Appendf(nil,
		"[update]\ncompatible=%s\nversion=%s\n\n[bundle]\nformat=verity\n\n[image.%s]\nfilename=rootfs.ext4\n",
		compatible, version, update.SlotClass), 0o644)
	write(t, filepath.Join(dir, "cert.pem"), append(append([]byte(nil), p.Cert...), p.CA...), 0o644)
	write(t, filepath.Join(dir, "key.pem"), p.Key, 0o600)
	out := filepath.Join(dir, "b.raucb")
	cmd := exec.Command("rauc", "bundle", "--cert", filepath.Join(dir, "cert.pem"), "--key", filepath.Join(dir, "key.pem"), content, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rauc bundle: %v\n%s", err, b)
	}
	return out
}

// Box is a box of board Compatible whose slots A and B are plain files
// (SlotSize bytes of 'A' and of 'B'), with its keyring, system.conf,
// boot-state file and data directory in Dir.
type Box struct {
	Dir          string
	SlotA, SlotB string
	// Updater is opened as running from slot A.
	Updater *update.Updater
}

// NewBox makes a box trusting p's CA, running version from slot A.
func NewBox(t testing.TB, p PKI, version string) *Box {
	t.Helper()
	dir := t.TempDir()
	b := &Box{Dir: dir, SlotA: filepath.Join(dir, "slotA"), SlotB: filepath.Join(dir, "slotB")}
	write(t, b.SlotA, bytes.Repeat([]byte("A"), SlotSize), 0o644)
	write(t, b.SlotB, bytes.Repeat([]byte("B"), SlotSize), 0o644)
	write(t, filepath.Join(dir, "keyring.pem"), p.CA, 0o644)
	write(t, filepath.Join(dir, "system.conf"), []byte(
		"[system]\ncompatible="+Compatible+"\nbootloader=custom\n\n[slot.rootfs.0]\ndevice="+b.SlotA+
			"\ntype=ext4\nbootname=A\n\n[slot.rootfs.1]\ndevice="+b.SlotB+"\ntype=ext4\nbootname=B\n"), 0o644)
	b.Updater = b.Open(t, "A", version)
	return b
}

// Open opens the box's updater as it is after a boot from slot booted
// running version; booted "" finds the slot from the root filesystem's
// device, which is none of the slot files (update.ErrNoSlots: a
// development box).
func (b *Box) Open(t testing.TB, booted, version string) *update.Updater {
	t.Helper()
	u, err := update.New(update.Config{
		Keyring: filepath.Join(b.Dir, "keyring.pem"), SystemConf: filepath.Join(b.Dir, "system.conf"),
		BootState: b.BootStatePath(), DataDir: b.DataDir(),
		Version: version, Booted: booted,
		// The updater's log goes with the test's output: shown when it fails.
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// BootStatePath is the box's boot-state file.
func (b *Box) BootStatePath() string { return filepath.Join(b.Dir, "bootstate") }

// DataDir is the box's /data/update.
func (b *Box) DataDir() string { return filepath.Join(b.Dir, "data") }

// BootState is the boot-state file's text without its padding ("" when
// there is none); a file of another size than update.BootStateSize is an
// error of t.
func (b *Box) BootState(t testing.TB) string {
	t.Helper()
	s, err := os.ReadFile(b.BootStatePath())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if len(s) > 0 && len(s) != update.BootStateSize {
		t.Errorf("the boot-state file has %d bytes, want %d", len(s), update.BootStateSize)
	}
	if t := strings.TrimRight(string(s), "\n"); t != "" {
		return t + "\n"
	}
	return ""
}

// FailBoots does what the appliance does when slot fails its health check
// on every boot attempt: S90health writes the reason to the slot's failure
// file and the initramfs uses up the slot's attempts. The next boot is then
// from the other slot; its MarkGood records the rollback.
func (b *Box) FailBoots(t testing.TB, slot, reason string) {
	t.Helper()
	write(t, b.Updater.FailureFile(slot), []byte(reason+"\n"), 0o644)
	st, err := update.ReadBootState(b.BootStatePath())
	if err != nil {
		t.Fatal(err)
	}
	st.Left[slot] = 0
	if err := st.Write(b.BootStatePath()); err != nil {
		t.Fatal(err)
	}
}

func write(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}
