// Package buildroot_test checks scripts/lint-buildroot.sh, the CI check
// that the BR2_EXTERNAL tree builds the same appliance as the qemu image:
// it passes on this repository and fails, naming the file and the
// mismatch, on copies broken one way at a time.
package buildroot_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lint runs the linter on the tree at root.
func lint(t *testing.T, root string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join(root, "scripts/lint-buildroot.sh"), root)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// copyTree copies the files the linter reads into a new directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, p := range []string{"buildroot", "board/pbx-a", "scripts/image.sh", "scripts/lint-buildroot.sh"} {
		src := filepath.Join("..", p)
		err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			to := filepath.Join(dst, rel)
			if fi.IsDir() {
				return os.MkdirAll(to, 0o755)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
				return err
			}
			return os.WriteFile(to, b, fi.Mode().Perm())
		})
		if err != nil {
			t.Fatalf("copy %s: %v", p, err)
		}
	}
	return dst
}

// edit replaces old with new in the file at root/rel; old must be there.
func edit(t *testing.T, root, rel, old, new string) {
	t.Helper()
	p := filepath.Join(root, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q to break", rel, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuildrootTreeIsConsistent(t *testing.T) {
	if out, err := lint(t, copyTree(t)); err != nil {
		t.Fatalf("lint of this repository's tree: %v\n%s", err, out)
	}
}

func TestBuildrootLintNamesTheMismatch(t *testing.T) {
	const defconfig = "buildroot/configs/ringbox_pbx_a_defconfig"
	for _, c := range []struct {
		name   string
		break_ func(t *testing.T, root string)
		want   string // FILE: message, as printed
	}{
		{"overlay elsewhere", func(t *testing.T, root string) {
			edit(t, root, defconfig, "board/pbx-a/overlay", "board/pbx-b/overlay")
		}, defconfig + ": BR2_ROOTFS_OVERLAY is board/pbx-b/overlay, the qemu image uses board/pbx-a/overlay"},
		{"rootfs size", func(t *testing.T, root string) {
			edit(t, root, defconfig, `BR2_TARGET_ROOTFS_EXT2_SIZE="64M"`, `BR2_TARGET_ROOTFS_EXT2_SIZE="128M"`)
		}, defconfig + ": BR2_TARGET_ROOTFS_EXT2_SIZE is 128M, but scripts/image.sh makes 64M slot images"},
		{"slot partition too small", func(t *testing.T, root string) {
			edit(t, root, "board/pbx-a/genimage.cfg", `image = "rootfs.ext4" size = 96M`, `image = "rootfs.ext4" size = 32M`)
		}, "board/pbx-a/genimage.cfg: partition rootA is 32M, smaller than the 64M rootfs"},
		{"post-image genimage config", func(t *testing.T, root string) {
			edit(t, root, "board/pbx-a/post-image.sh", `-c "$board/genimage.cfg"`, `-c "$board/genimage-board.cfg"`)
		}, "board/pbx-a/post-image.sh: does not run genimage with its own directory's genimage.cfg"},
		{"RAUC without system.conf", func(t *testing.T, root string) {
			if err := os.Remove(filepath.Join(root, "board/pbx-a/rauc/system.conf")); err != nil {
				t.Fatal(err)
			}
		}, defconfig + ": enables RAUC (BR2_PACKAGE_RAUC=y) but there is no system.conf"},
		{"keyring path", func(t *testing.T, root string) {
			edit(t, root, "board/pbx-a/rauc/system.conf", "path=/etc/rauc/keyring.pem", "path=/etc/rauc/ca.pem")
		}, "board/pbx-a/post-build.sh: does not install the keyring at /etc/rauc/ca.pem"},
		{"RAUC slot device", func(t *testing.T, root string) {
			edit(t, root, "board/pbx-a/rauc/system.conf", "by-partlabel/rootB", "mmcblk0p3")
		}, "board/pbx-a/rauc/system.conf: slot B is /dev/disk/mmcblk0p3, want /dev/disk/by-partlabel/rootB"},
		{"init script", func(t *testing.T, root string) {
			edit(t, root, "buildroot/package/ringbox/ringbox.mk", "overlay/etc/init.d/S60ringbox", "init/S60ringbox")
		}, "buildroot/package/ringbox/ringbox.mk: installs board/pbx-a/init/S60ringbox as the init script, the image's is board/pbx-a/overlay/etc/init.d/S60ringbox"},
		{"variable prefix", func(t *testing.T, root string) {
			edit(t, root, "buildroot/package/ringbox/ringbox.mk", "RINGBOX_LICENSE =", "RINGBX_LICENSE =")
		}, "buildroot/package/ringbox/ringbox.mk: variable RINGBX_LICENSE does not start with RINGBOX_"},
		{"package not sourced", func(t *testing.T, root string) {
			dir := filepath.Join(root, "buildroot/package/sntp")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, "Config.in"), []byte("config BR2_PACKAGE_SNTP\n\tbool \"sntp\"\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "sntp.mk"), []byte("SNTP_VERSION = 1\n$(eval $(golang-package))\n"), 0o644)
		}, "buildroot/Config.in: does not source package/sntp/Config.in"},
		{"external name", func(t *testing.T, root string) {
			edit(t, root, "buildroot/external.desc", "name: RINGBOX", "name: RBX")
		}, "buildroot/external.mk: uses BR2_EXTERNAL_RINGBOX_PATH, but external.desc names the tree RBX"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := copyTree(t)
			c.break_(t, root)
			out, err := lint(t, root)
			if err == nil {
				t.Fatalf("lint passed a tree with %s:\n%s", c.name, out)
			}
			if !strings.Contains(out, "buildroot-lint: "+c.want) {
				t.Errorf("lint output lacks %q:\n%s", c.want, out)
			}
		})
	}
}
