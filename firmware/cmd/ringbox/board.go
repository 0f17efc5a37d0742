package main

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"ringbox/board"
	"ringbox/board/hw"
	"ringbox/board/panel"
	"ringbox/board/profile"
	"ringbox/board/sim"
	"ringbox/firmware/backup"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
	"ringbox/web"
)

// boardUsage is --board's help: the choices.
var boardUsage = "board: sim (simulated, driven from the web page and the API), " +
	strings.Join(profile.Builtin(), ", ") +
	" (built-in hardware profiles; <data>/boards/NAME.yaml overrides one) or the path of a profile .yaml (docs/board-profile.md)"

// checkBoard rejects a --board value that names nothing, before anything
// is opened.
func checkBoard(name string) error {
	if name == "sim" || slices.Contains(profile.Builtin(), name) || strings.Contains(name, "/") || strings.HasSuffix(name, ".yaml") {
		return nil
	}
	return fmt.Errorf("--board %q: want sim, %s or a profile's .yaml path", name, strings.Join(profile.Builtin(), ", "))
}

// openBoard returns the board --board names: the simulated board for
// "sim" (with at least as many buttons as the site's agents use, 4 queue
// LEDs, 2 FXS and 1 FXO port), else the hardware of the profile, with the
// ringing frequency of the site's tone zone unless the profile fixes it.
// Errors name the profile and the pin or device that failed.
func openBoard(name, dataDir string, s *site.Site, log *slog.Logger) (board.Board, error) {
	if name == "sim" {
		buttons := 4
		for _, a := range s.Agents {
			buttons = max(buttons, a.Button)
		}
		return sim.New(sim.Options{Buttons: buttons, QueueLEDs: 4, FXS: 2, FXO: 1, Zone: s.System.Zone()}), nil
	}
	p, err := profile.Load(name, dataDir)
	if err != nil {
		return nil, fmt.Errorf("--board %s: %w", name, err)
	}
	b, err := hw.Open(p, hw.Options{RingHz: ringHz(s.System.Zone()), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("--board %s: %w", name, err)
	}
	log.Info("board opened", "board", p.Name, "profile", p.Source, "buttons", len(p.Buttons), "lines", len(b.Lines()))
	return b, nil
}

// ringHz is the ringing frequency of a tone zone: 20 Hz in North America
// and Japan (16 Hz there, which 20 Hz phones answer), 25 Hz elsewhere.
func ringHz(zone string) int {
	switch zone {
	case "us", "jp":
		return 20
	}
	return 25
}

// factoryReset wires the service button's factory-reset request to the
// web page that confirms it. A confirmed reset marks the data for erasing
// and restarts, like a restore; serve erases it at the next start.
func factoryReset(ws *web.Server, bus *events.Bus, dataDir string, restart func(), log *slog.Logger) *panel.Reset {
	r := panel.NewReset(panel.ResetConfig{
		Bus:     bus,
		Erase:   func() error { return backup.RequestErase(dataDir) },
		Restart: restart,
	})
	ws.FactoryReset(&web.FactoryReset{
		Request: r,
		TTL:     panel.ResetTTL,
		IsNone:  func(err error) bool { return errors.Is(err, panel.ErrNoReset) },
		Logger:  log,
	})
	return r
}
