package main

// ringbox update status|install|mark-good and ringbox health: the firmware
// update commands the image's init scripts and a console user run
// (S90health marks the slot good after `ringbox health` passes).

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"ringbox/firmware/store"
	"ringbox/firmware/update"
	"ringbox/web"
)

// updateDir keeps the update state on the data partition (outside the
// slots): slot versions, health failures, the last rollback, uploads.
const updateDir = "/data/update"

// newUpdater opens the firmware updater when the box runs from the A/B
// image (it has /etc/rauc/system.conf); elsewhere (make run, tests) the
// firmware routes answer that there are no slots.
func newUpdater(log *slog.Logger) (web.Updater, error) {
	if _, err := os.Stat("/etc/rauc/system.conf"); err != nil {
		return noSlots{}, nil
	}
	return update.New(update.Config{DataDir: updateDir, Version: version, Logger: log})
}

type noSlots struct{}

func (noSlots) Status() (update.Status, error) {
	return update.Status{Version: version}, update.ErrNoSlots
}
func (noSlots) Install(context.Context, string, bool, func(update.Progress)) (update.Info, error) {
	return update.Info{}, update.ErrNoSlots
}
func (noSlots) Progress() *update.Progress { return nil }

func cmdUpdate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("update", flag.ContinueOnError)
	force := fs.Bool("force", false, "install: install a bundle older than the running firmware")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{errors.New("update: status, install BUNDLE or mark-good")}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	u, err := update.New(update.Config{DataDir: updateDir, Version: version, Logger: log})
	if err != nil {
		return err
	}
	switch pos[0] {
	case "status":
		st, err := u.Status()
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(st, "", "  ")
		fmt.Fprintln(stdout, string(b))
		return nil
	case "install":
		if len(pos) != 2 {
			return usageError{errors.New("update install BUNDLE")}
		}
		last := ""
		info, err := u.Install(ctx, pos[1], *force, func(p update.Progress) {
			if p.Step != last {
				fmt.Fprintf(stdout, "%s...\n", p.Step)
				last = p.Step
			}
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "installed %s (%s); reboot to run it\n", info.Version, info.Compatible)
		return nil
	case "mark-good":
		return u.MarkGood()
	}
	return usageError{fmt.Errorf("update: unknown %q (status, install BUNDLE, mark-good)", pos[0])}
}

// cmdHealth checks that the running ringbox is up: its database opened
// and migrated to this binary's schema, SIP answering OPTIONS with 200,
// the web server answering. It prints what failed and returns an error.
func cmdHealth(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	data := fs.String("data", "/data/ringbox", "the data directory of the ringbox to check")
	sipAddr := fs.String("sip", "127.0.0.1:5060", "its SIP address (UDP)")
	webURL := fs.String("http", "http://127.0.0.1:80/", "its web address")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var errs []error
	if n, err := store.SchemaOf(ctx, *data); err != nil {
		errs = append(errs, fmt.Errorf("database: %w", err))
	} else if n != store.SchemaVersion() {
		errs = append(errs, fmt.Errorf("database: schema %d, this ringbox migrates to %d", n, store.SchemaVersion()))
	}
	if err := sipOptions(ctx, *sipAddr); err != nil {
		errs = append(errs, fmt.Errorf("sip: %w", err))
	}
	if err := webAnswers(ctx, *webURL); err != nil {
		errs = append(errs, fmt.Errorf("web: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "healthy: database migrated, SIP and web answering")
	return nil
}

// sipOptions sends OPTIONS over UDP and wants a 200.
func sipOptions(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	local, tag := c.LocalAddr().String(), rand.Text()[:16]
	req := fmt.Sprintf("OPTIONS sip:%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:health@%[2]s>;tag=%[3]s\r\nTo: <sip:%[1]s>\r\nCall-ID: %[3]s@health\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n", addr, local, tag)
	buf := make([]byte, 8192)
	for range 3 {
		if _, err := c.Write([]byte(req)); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err != nil {
			continue
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 200") {
			return nil
		}
		if !strings.HasPrefix(line, "SIP/2.0 1") {
			return fmt.Errorf("OPTIONS answered %q", line)
		}
	}
	return errors.New("no answer to OPTIONS")
}

// webAnswers wants any answer but a server error (the first page redirects
// to the setup or the login).
func webAnswers(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET %s answered %s", url, resp.Status)
	}
	return nil
}
