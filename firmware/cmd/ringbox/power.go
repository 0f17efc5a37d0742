package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"ringbox/firmware/backup"
	"ringbox/web"
)

// power reboots or powers off the appliance for the System page. It ends
// serve the way SIGTERM does (no new calls, calls drained for up to 10 s,
// the database closed), and cmdServe then runs busybox's reboot or
// poweroff. Off the appliance ringbox is a plain process and leaves the
// machine alone.
type power struct {
	appliance bool
	stop      func(cause error) // cancels serve's context with cause
	log       *slog.Logger
}

// powerAction ends serve to reboot or power off; Cmd is the busybox
// command cmdServe runs once serve has returned.
type powerAction struct{ Cmd string }

func (a powerAction) Error() string { return a.Cmd + " requested from the System page" }

func (p *power) Reboot(by string) error   { return p.act("reboot", by) }
func (p *power) Shutdown(by string) error { return p.act("poweroff", by) }

func (p *power) act(cmd, by string) error {
	if !p.appliance {
		return web.ErrNotAppliance
	}
	p.log.Warn("the box goes down: calls are drained first", "action", cmd, "login", by)
	p.stop(powerAction{Cmd: cmd})
	return nil
}

// runPower runs busybox's reboot or poweroff: they signal init, which
// stops the services and the kernel restarts or halts.
var runPower = func(cmd string) error {
	out, err := exec.Command(cmd).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", cmd, err, out)
	}
	return nil
}

// powerWait is how long ringbox waits, after reboot or poweroff was
// started, for init to end it.
var powerWait = 2 * time.Minute

// doPower runs reboot or poweroff and waits for init's SIGTERM, which
// ends ctx (serve's signal context). Exiting at once would have
// ringbox-supervise start ringbox again in the middle of the shutdown.
// Should the box still be up after powerWait, ringbox exits with an error
// and the supervisor brings the service back.
func doPower(ctx context.Context, pa powerAction, log *slog.Logger) error {
	log.Warn("running " + pa.Cmd)
	if err := runPower(pa.Cmd); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return nil
	case <-time.After(powerWait):
		return fmt.Errorf("%s did not take the box down within %v", pa.Cmd, powerWait)
	}
}

// forgetSystemSettings removes the System page's network, host name and
// NTP files when a factory reset waits in dataDir, before the data is
// erased: the erase marker goes last, so a power cut in between does both
// again.
func forgetSystemSettings(dataDir, sysDir string, log *slog.Logger) {
	if _, err := os.Lstat(filepath.Join(dataDir, backup.EraseMarker)); err != nil {
		return
	}
	if err := web.RemoveSystemSettings(sysDir); err != nil {
		log.Error("factory reset: network and NTP settings not removed", "err", err)
		return
	}
	log.Warn("factory reset: network, host name and NTP settings removed; the next boot uses DHCP", "dir", sysDir)
}

// systemDir is where the System page saves network.conf, hostname and
// ntp.conf for the image's init scripts: --system-dir, else /data on the
// appliance (where S40network and S49ntp read them), else the data
// directory (a development box's settings touch nothing).
func systemDir(flag string, appliance bool, data string) string {
	switch {
	case flag != "":
		return flag
	case appliance:
		return "/data"
	}
	return filepath.Join(data, "system")
}
