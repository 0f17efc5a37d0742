package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"time"

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
