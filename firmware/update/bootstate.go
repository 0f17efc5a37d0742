package update

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Boot attempts: a slot marked good gets GoodTries, a freshly installed one
// NewTries. The initramfs (or U-Boot on the reference board) takes one
// before each boot of a slot; a slot with none left is skipped. NewTries is
// 2 so that one stray failure (a power cut during the first boot) does not
// throw a good update away, while a broken update costs only two boots
// before the box is back on the old slot.
const (
	GoodTries = 3
	NewTries  = 2
)

// BootState is the custom bootloader backend's state: a small text file on
// the boot partition with the variables of RAUC's U-Boot integration,
//
//	BOOT_ORDER=A B
//	BOOT_A_LEFT=3
//	BOOT_B_LEFT=0
//
// The initramfs boots the first slot in Order with attempts left and takes
// one; MarkGood gives them back.
type BootState struct {
	Order []string
	Left  map[string]int
}

// UBootEnv, as the boot-state path, keeps the state in U-Boot's
// environment instead of a file (the reference board, bootloader=uboot in
// system.conf), through fw_printenv and fw_setenv.
const UBootEnv = "uboot-env"

var bootVars = []string{"BOOT_ORDER", "BOOT_A_LEFT", "BOOT_B_LEFT"}

// ReadBootState reads the file; a missing file is slot A then B, A with
// GoodTries, B with none (a fresh disk).
func ReadBootState(path string) (BootState, error) {
	st := BootState{Order: []string{"A", "B"}, Left: map[string]int{"A": GoodTries, "B": 0}}
	var b []byte
	var err error
	if path == UBootEnv {
		// fw_printenv fails for a variable not set yet: ask one by one.
		for _, v := range bootVars {
			if out, err := exec.Command("fw_printenv", v).Output(); err == nil {
				b = append(b, out...)
			}
		}
	} else {
		b, err = os.ReadFile(path)
	}
	if os.IsNotExist(err) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("read boot state: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch {
		case k == "BOOT_ORDER":
			st.Order = strings.Fields(v)
		case strings.HasPrefix(k, "BOOT_") && strings.HasSuffix(k, "_LEFT"):
			n, err := strconv.Atoi(v)
			if err != nil {
				return st, fmt.Errorf("boot state %s: %s=%q is not a number", path, k, v)
			}
			st.Left[strings.TrimSuffix(strings.TrimPrefix(k, "BOOT_"), "_LEFT")] = n
		}
	}
	return st, nil
}

// Write replaces the file: a new file synced, renamed over the old one, the
// directory synced, so a power cut leaves the old or the new state.
func (st BootState) Write(path string) error {
	kv := [][2]string{{"BOOT_ORDER", strings.Join(st.Order, " ")}}
	names := make([]string, 0, len(st.Left))
	for n := range st.Left {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		kv = append(kv, [2]string{"BOOT_" + n + "_LEFT", strconv.Itoa(st.Left[n])})
	}
	var b strings.Builder
	if path == UBootEnv {
		// fw_setenv -s reads "NAME VALUE" lines and writes them at once
		// (the redundant environment copy makes that atomic).
		for _, p := range kv {
			fmt.Fprintf(&b, "%s %s\n", p[0], p[1])
		}
		cmd := exec.Command("fw_setenv", "-s", "-")
		cmd.Stdin = strings.NewReader(b.String())
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("write boot state: fw_setenv: %v: %s", err, bytes.TrimSpace(out))
		}
		return nil
	}
	for _, p := range kv {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	return writeInPlace(path, []byte(b.String()))
}

// BootStateSize is the boot-state file's fixed size: the text padded with
// newlines.
const BootStateSize = 512

// writeInPlace rewrites the boot-state file's one sector in place, as GRUB
// does its grubenv: on the vfat boot partition, a file that keeps its size
// keeps its clusters, so the FAT and the directory are not written and a
// power cut cannot leave them half updated (a truncate or a rename would
// rewrite both; after a cut mid-way Linux found the FAT damaged and made
// the partition read-only). A missing file, or one of another size, is
// made new (written, synced, renamed) and the whole file system synced.
func writeInPlace(path string, text []byte) error {
	if len(text) > BootStateSize {
		return fmt.Errorf("write boot state: %d bytes is over %d", len(text), BootStateSize)
	}
	buf := append(text, bytes.Repeat([]byte{'\n'}, BootStateSize-len(text))...)
	if f, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		fi, err := f.Stat()
		if err == nil && fi.Size() == BootStateSize {
			_, err = f.WriteAt(buf, 0)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("write boot state %s: %w", path, err)
			}
			return nil
		}
		f.Close()
	}
	if err := writeFileSync(path, buf); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		unix.Syncfs(int(d.Fd()))
		d.Close()
	}
	return nil
}

// first returns Order's first slot.
func (st BootState) first() string {
	if len(st.Order) == 0 {
		return ""
	}
	return st.Order[0]
}

// putFirst moves slot to the front of Order.
func (st *BootState) putFirst(slot string) {
	o := []string{slot}
	for _, s := range st.Order {
		if s != slot {
			o = append(o, s)
		}
	}
	st.Order = o
}

func writeFileSync(path string, data []byte) error {
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // vfat may not support it; the file itself is synced
		d.Close()
	}
	return nil
}
