package update

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diskfs/go-diskfs/backend/file"
	"github.com/diskfs/go-diskfs/filesystem/squashfs"
)

// SlotClass is the manifest image class written to the A/B slots.
const SlotClass = "rootfs"

// Config says where the updater finds things. On the box every path has a
// default (see New); tests point them at temporary files.
type Config struct {
	// Keyring is the PEM file of the CA certificates bundles must be
	// signed by (/etc/rauc/keyring.pem).
	Keyring string
	// SystemConf is RAUC's system.conf (/etc/rauc/system.conf): the
	// compatible string and the slots' devices. Compatible and Slots, when
	// set, override it.
	SystemConf string
	Compatible string
	Slots      map[string]string // slot name ("A", "B") to device or file
	// BootState is the boot-state file on the boot partition
	// (/boot/bootstate), or UBootEnv for U-Boot's environment; "" takes
	// system.conf's bootloader (custom: the file, uboot: the environment).
	BootState string
	// DataDir keeps what must survive a slot switch: the versions written
	// to each slot, the health-check failure reasons
	// (failed-<slot>.txt, written by S90health) and the last rollback
	// (/data/update).
	DataDir string
	// Version is the running firmware's version.
	Version string
	// Booted names the running slot; "" finds it by comparing the root
	// filesystem's device with the slots' devices.
	Booted string
	Logger *slog.Logger
	Now    func() time.Time
}

// Updater installs bundles and keeps the boot state. Its methods are safe
// for concurrent use; one install runs at a time.
type Updater struct {
	cfg     Config
	keyring *x509.CertPool
	log     *slog.Logger

	busy     sync.Mutex // held by Install
	mu       sync.Mutex // guards progress and the boot-state file
	progress *Progress
}

// New reads the keyring and the system configuration. Empty paths get the
// box's: /etc/rauc/keyring.pem, /etc/rauc/system.conf, /boot/bootstate,
// /data/update.
func New(cfg Config) (*Updater, error) {
	def := func(s *string, d string) {
		if *s == "" {
			*s = d
		}
	}
	def(&cfg.Keyring, "/etc/rauc/keyring.pem")
	def(&cfg.SystemConf, "/etc/rauc/system.conf")
	def(&cfg.DataDir, "/data/update")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	u := &Updater{cfg: cfg, log: cfg.Logger.With("pkg", "update")}
	if cfg.Compatible == "" || cfg.Slots == nil || cfg.BootState == "" {
		b, err := os.ReadFile(cfg.SystemConf)
		if err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
		compat, slots, loader, err := parseSystemConf(b)
		if err != nil {
			return nil, fmt.Errorf("update: %s: %w", cfg.SystemConf, err)
		}
		if u.cfg.Compatible == "" {
			u.cfg.Compatible = compat
		}
		if u.cfg.Slots == nil {
			u.cfg.Slots = slots
		}
		if u.cfg.BootState == "" {
			u.cfg.BootState = "/boot/bootstate"
			if loader == "uboot" {
				u.cfg.BootState = UBootEnv
			}
		}
	}
	kr, err := os.ReadFile(cfg.Keyring)
	if err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	if u.keyring, err = LoadKeyring(kr); err != nil {
		return nil, fmt.Errorf("update: %s: %w", cfg.Keyring, err)
	}
	return u, nil
}

// parseSystemConf reads [system] compatible and bootloader and the
// [slot.rootfs.N] sections' device and bootname.
func parseSystemConf(b []byte) (compat string, slots map[string]string, loader string, err error) {
	slots = map[string]string{}
	section := ""
	dev, name := "", ""
	flush := func() {
		if strings.HasPrefix(section, "slot."+SlotClass+".") && dev != "" && name != "" {
			slots[name] = dev
		}
		dev, name = "", ""
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			flush()
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case section == "system" && k == "compatible":
			compat = v
		case section == "system" && k == "bootloader":
			loader = v
		case k == "device":
			dev = v
		case k == "bootname":
			name = v
		}
	}
	flush()
	if compat == "" {
		return "", nil, "", errors.New("no [system] compatible")
	}
	return compat, slots, loader, nil
}

// device resolves a slot's device: RAUC's /dev/disk/by-partlabel/NAME is
// looked up in sysfs when the box has no udev to make the link.
func device(d string) string {
	label, ok := strings.CutPrefix(d, "/dev/disk/by-partlabel/")
	if !ok {
		return d
	}
	if _, err := os.Stat(d); err == nil {
		return d
	}
	ents, _ := filepath.Glob("/sys/class/block/*/uevent")
	for _, e := range ents {
		b, err := os.ReadFile(e)
		if err != nil {
			continue
		}
		var name, part string
		for l := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "DEVNAME="); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(l, "PARTNAME="); ok {
				part = v
			}
		}
		if part == label && name != "" {
			return "/dev/" + name
		}
	}
	return d
}

// booted returns the running slot: Config.Booted, or the slot whose block
// device holds the root filesystem.
func (u *Updater) booted() (string, error) {
	if u.cfg.Booted != "" {
		return u.cfg.Booted, nil
	}
	var root syscall.Stat_t
	if err := syscall.Stat("/", &root); err != nil {
		return "", fmt.Errorf("update: stat /: %w", err)
	}
	for name, d := range u.cfg.Slots {
		var st syscall.Stat_t
		if err := syscall.Stat(device(d), &st); err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFBLK && st.Rdev == root.Dev {
			return name, nil
		}
	}
	return "", ErrNoSlots
}

// other returns the slot that is not booted.
func (u *Updater) other(booted string) (string, error) {
	for name := range u.cfg.Slots {
		if name != booted {
			return name, nil
		}
	}
	return "", ErrNoSlots
}

// slotRecord is what DataDir/slot-<name>.json says of a slot.
type slotRecord struct {
	Version     string    `json:"version"`
	InstalledAt time.Time `json:"installed_at,omitzero"`
	Good        bool      `json:"good"`
}

func (u *Updater) slotFile(name string) string {
	return filepath.Join(u.cfg.DataDir, "slot-"+name+".json")
}

func (u *Updater) readSlot(name string) (slotRecord, bool) {
	var r slotRecord
	b, err := os.ReadFile(u.slotFile(name))
	if err != nil || json.Unmarshal(b, &r) != nil {
		return r, false
	}
	return r, true
}

func (u *Updater) writeJSON(path string, v any) error {
	if err := os.MkdirAll(u.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	b, _ := json.MarshalIndent(v, "", "  ")
	return writeFileSync(path, append(b, '\n'))
}

// FailureFile is where the health check records why slot failed its boot.
func (u *Updater) FailureFile(slot string) string {
	return filepath.Join(u.cfg.DataDir, "failed-"+slot+".txt")
}

func (u *Updater) rollbackFile() string { return filepath.Join(u.cfg.DataDir, "rollback.json") }

// Status reports the slots, the boot state, a pending install and the last
// rollback.
func (u *Updater) Status() (Status, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	st := Status{Compatible: u.cfg.Compatible, Version: u.cfg.Version}
	booted, err := u.booted()
	if err != nil {
		return st, err
	}
	st.Booted = booted
	bs, err := ReadBootState(u.cfg.BootState)
	if err != nil {
		return st, err
	}
	for _, name := range []string{"A", "B"} {
		d, ok := u.cfg.Slots[name]
		if !ok {
			continue
		}
		rec, known := u.readSlot(name)
		s := Slot{Name: name, Device: device(d), Version: rec.Version, Booted: name == booted, InstalledAt: rec.InstalledAt}
		if s.Booted {
			s.Version = u.cfg.Version
		}
		switch {
		case s.Booted && (rec.Good || !known):
			s.State = "good"
		case bs.Left[name] == 0 && !known:
			s.State = "empty"
		case bs.Left[name] == 0:
			s.State = "bad"
		case rec.Good:
			s.State = "good"
		default:
			s.State = "trying"
		}
		st.Slots = append(st.Slots, s)
		if !s.Booted && bs.first() == name && bs.Left[name] > 0 && !rec.Good {
			p := s
			st.Pending = &p
		}
	}
	if rb, ok := u.detectRollback(booted, bs); ok {
		st.Rollback = &rb
	} else if b, err := os.ReadFile(u.rollbackFile()); err == nil {
		var rb Rollback
		if json.Unmarshal(b, &rb) == nil {
			st.Rollback = &rb
		}
	}
	return st, nil
}

// detectRollback: the boot state's first slot is not the one running and
// has no attempts left, so the bootloader fell back from it.
func (u *Updater) detectRollback(booted string, bs BootState) (Rollback, bool) {
	from := bs.first()
	if from == "" || from == booted || bs.Left[from] > 0 {
		return Rollback{}, false
	}
	rec, _ := u.readSlot(from)
	rb := Rollback{At: u.cfg.Now().UTC(), From: from, Version: rec.Version,
		Reason: "slot " + from + " did not come up (no health report)"}
	if b, err := os.ReadFile(u.FailureFile(from)); err == nil {
		rb.Reason = strings.TrimSpace(string(b))
		if fi, err := os.Stat(u.FailureFile(from)); err == nil {
			rb.At = fi.ModTime().UTC()
		}
	}
	return rb, true
}

// MarkGood is called once the running slot passed its health check: the
// slot gets its boot attempts back and stays first. When the box came up on
// this slot because the other one failed, the rollback is recorded first
// (Status.Rollback, with the failed slot's reason).
func (u *Updater) MarkGood() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	booted, err := u.booted()
	if err != nil {
		return err
	}
	bs, err := ReadBootState(u.cfg.BootState)
	if err != nil {
		return err
	}
	if rb, ok := u.detectRollback(booted, bs); ok {
		u.log.Warn("rolled back", "from", rb.From, "version", rb.Version, "reason", rb.Reason)
		if err := u.writeJSON(u.rollbackFile(), rb); err != nil {
			return err
		}
		bs.putFirst(booted)
	}
	// A boot forced onto this slot (rauc.slot= on the command line) leaves
	// the order alone: the next normal boot goes where the order says.
	bs.Left[booted] = GoodTries
	if err := bs.Write(u.cfg.BootState); err != nil {
		return fmt.Errorf("update: mark good: %w", err)
	}
	rec, _ := u.readSlot(booted)
	if !rec.Good || rec.Version != u.cfg.Version {
		rec.Good, rec.Version = true, u.cfg.Version
		if err := u.writeJSON(u.slotFile(booted), rec); err != nil {
			return err
		}
	}
	u.log.Info("slot marked good", "slot", booted, "version", u.cfg.Version)
	return nil
}

// Progress returns the running install's progress, or nil.
func (u *Updater) Progress() *Progress {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.progress == nil {
		return nil
	}
	p := *u.progress
	return &p
}

func (u *Updater) report(fn func(Progress), p Progress) {
	u.mu.Lock()
	u.progress = &p
	u.mu.Unlock()
	if fn != nil {
		fn(p)
	}
}

// Check opens the bundle at path and checks everything Install would
// before writing: signature, board, version (unless force), payload hash,
// and that the image fits the inactive slot.
func (u *Updater) Check(path string, force bool) (Info, error) {
	f, b, err := u.open(path, force, nil)
	if err != nil {
		return Info{}, err
	}
	f.Close()
	return b.info(), nil
}

func (b *Bundle) info() Info {
	im, _ := b.Manifest.Image(SlotClass)
	return Info{Compatible: b.Manifest.Compatible, Version: b.Manifest.Version, Size: im.Size}
}

// open checks a bundle; on success the caller closes f.
func (u *Updater) open(path string, force bool, progress func(Progress)) (*os.File, *Bundle, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("update: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("update: %w", err)
	}
	b, err := u.checkBundle(f, fi.Size(), force, progress)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, b, nil
}

func (u *Updater) checkBundle(f *os.File, size int64, force bool, progress func(Progress)) (*Bundle, error) {
	b, err := OpenBundle(f, size, u.keyring)
	if err != nil {
		return nil, err
	}
	m := b.Manifest
	if m.Compatible != u.cfg.Compatible {
		return nil, refusal(ErrCompatible, "bundle is for %s, this box is %s", m.Compatible, u.cfg.Compatible)
	}
	if c, ok := CompareVersions(m.Version, u.cfg.Version); ok && c < 0 && !force {
		return nil, refusal(ErrOlder, "bundle version %s is older than the running %s (force to install anyway)", m.Version, u.cfg.Version)
	}
	im, ok := m.Image(SlotClass)
	if !ok {
		return nil, fmt.Errorf("%w: the manifest has no [image.%s]", ErrNotBundle, SlotClass)
	}
	if err := b.VerifyPayload(func(n, total int64) {
		u.report(progress, Progress{Step: "verify", Done: n, Total: total})
	}); err != nil {
		return nil, err
	}
	sq, err := squashfs.Read(file.New(f, true), b.squashfsSize(), 0, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrNotBundle, err)
	}
	ents, err := sq.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrNotBundle, err)
	}
	found := false
	for _, e := range ents {
		if e.Name() == im.Filename {
			fi, err := e.Info()
			if err != nil || fi.Size() != im.Size {
				return nil, fmt.Errorf("%w: %s in the payload does not have the manifest's size %d", ErrNotBundle, im.Filename, im.Size)
			}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("%w: %s is not in the payload", ErrNotBundle, im.Filename)
	}
	b.sq = sq
	return b, nil
}

// Install checks the bundle at path like Check, then writes its rootfs
// image into the slot that is not running, checks what it wrote against
// the manifest's SHA-256, and only then makes that slot the next boot's
// first choice with NewTries attempts. The target slot is marked
// unbootable (no attempts) before the first byte is written, so a power cut
// during the write boots the running slot again.
func (u *Updater) Install(ctx context.Context, path string, force bool, progress func(Progress)) (Info, error) {
	if !u.busy.TryLock() {
		return Info{}, ErrBusy
	}
	defer u.busy.Unlock()
	defer func() {
		u.mu.Lock()
		u.progress = nil
		u.mu.Unlock()
	}()
	booted, err := u.booted()
	if err != nil {
		return Info{}, err
	}
	target, err := u.other(booted)
	if err != nil {
		return Info{}, err
	}
	f, b, err := u.open(path, force, progress)
	if err != nil {
		return Info{}, err
	}
	defer f.Close()
	info := b.info()
	im, _ := b.Manifest.Image(SlotClass)
	dev := device(u.cfg.Slots[target])
	start := u.cfg.Now()

	// Checked; from here on the target slot is written.
	u.mu.Lock()
	bs, err := ReadBootState(u.cfg.BootState)
	if err == nil {
		bs.Left[target] = 0
		err = bs.Write(u.cfg.BootState)
	}
	u.mu.Unlock()
	if err != nil {
		return info, fmt.Errorf("update: disable slot %s before writing: %w", target, err)
	}
	// The slot's record goes too, for good: a power cut during the write
	// must not leave the old version named on a half-written slot.
	if err := removeSync(u.slotFile(target)); err != nil {
		return info, fmt.Errorf("update: %w", err)
	}

	src, err := b.sq.OpenFile(im.Filename, os.O_RDONLY)
	if err != nil {
		return info, fmt.Errorf("update: open %s in the bundle: %w", im.Filename, err)
	}
	defer src.Close()
	dst, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return info, fmt.Errorf("update: open slot %s (%s): %w", target, dev, err)
	}
	h := sha256.New()
	written, err := copyProgress(ctx, io.MultiWriter(dst, h), src, im.Size, func(n int64) {
		u.report(progress, Progress{Step: "write", Done: n, Total: im.Size})
	})
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return info, fmt.Errorf("update: write slot %s (%s): %w", target, dev, err)
	}
	if written != im.Size || !bytes.Equal(h.Sum(nil), im.SHA256) {
		return info, fmt.Errorf("update: slot %s: the image written (%d bytes, sha256 %s) does not match the manifest: %w",
			target, written, hex.EncodeToString(h.Sum(nil)), ErrSignature)
	}

	// Written and synced: record it, then switch the boot order.
	if err := u.writeJSON(u.slotFile(target), slotRecord{Version: info.Version, InstalledAt: u.cfg.Now().UTC()}); err != nil {
		return info, err
	}
	os.Remove(u.FailureFile(target))
	os.Remove(u.rollbackFile())
	u.mu.Lock()
	bs, err = ReadBootState(u.cfg.BootState)
	if err == nil {
		bs.Left[target] = NewTries
		bs.putFirst(target)
		err = bs.Write(u.cfg.BootState)
	}
	u.mu.Unlock()
	if err != nil {
		return info, fmt.Errorf("update: switch the boot order to slot %s: %w", target, err)
	}
	u.report(progress, Progress{Step: "done", Done: im.Size, Total: im.Size})
	u.log.Info("bundle installed", "slot", target, "device", dev, "version", info.Version,
		"bytes", im.Size, "took", u.cfg.Now().Sub(start).Round(time.Millisecond))
	return info, nil
}

// copyProgress copies size bytes in 1 MiB steps, reporting after each and
// stopping when ctx ends.
func copyProgress(ctx context.Context, dst io.Writer, src io.Reader, size int64, done func(int64)) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for n < size {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, err := io.ReadFull(src, buf[:min(int64(len(buf)), size-n)])
		if k > 0 {
			if _, werr := dst.Write(buf[:k]); werr != nil {
				return n, werr
			}
			n += int64(k)
			done(n)
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// refused is an error whose message is the detail alone (it reads well on
// the System page) while errors.Is still finds its kind.
type refused struct {
	kind error
	msg  string
}

func (e *refused) Error() string { return e.msg }
func (e *refused) Unwrap() error { return e.kind }

func refusal(kind error, format string, args ...any) error {
	return &refused{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// removeSync removes path and syncs its directory, so the removal survives
// a power cut.
func removeSync(path string) error {
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return nil // no directory, nothing was there
	}
	defer d.Close()
	return d.Sync()
}
