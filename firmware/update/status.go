// Package update installs signed firmware bundles (RAUC's bundle format)
// into the inactive rootfs slot of the appliance's A/B disk, and reports the
// slots, the boot state and the last rollback. HTTP stays in web/; this
// package knows files, block devices and signatures only.
package update

import (
	"errors"
	"time"
)

// Slot is one rootfs slot of the A/B disk.
type Slot struct {
	Name    string `json:"name"`    // "A" or "B"
	Device  string `json:"device"`  // the partition, e.g. /dev/vda2
	Version string `json:"version"` // firmware version installed there; "" when unknown
	Booted  bool   `json:"booted"`  // the slot running now
	// State is "good" (marked good after a health check), "trying" (boot
	// attempts left, not yet marked good), "bad" (no attempts left) or
	// "empty".
	State       string    `json:"state"`
	InstalledAt time.Time `json:"installed_at,omitzero"`
}

// Rollback is a boot that came up on the old slot because the new one did
// not pass its health check.
type Rollback struct {
	At      time.Time `json:"at"`
	From    string    `json:"from"`    // the slot that failed
	Version string    `json:"version"` // the version it held
	Reason  string    `json:"reason"`  // why it failed, for the System page
}

// Status is what the System page shows of the firmware.
type Status struct {
	Compatible string    `json:"compatible"` // the board, e.g. "ringbox-qemu-virt"
	Version    string    `json:"version"`    // the running firmware
	Booted     string    `json:"booted"`     // "A" or "B"
	Slots      []Slot    `json:"slots"`
	Rollback   *Rollback `json:"rollback,omitempty"` // the last one, if any
	// Installed is set after a successful install until the reboot: the
	// slot and version the next boot tries.
	Pending *Slot `json:"pending,omitempty"`
}

// Info is what a bundle's signed manifest says.
type Info struct {
	Compatible string `json:"compatible"`
	Version    string `json:"version"`
	Size       int64  `json:"size"`
}

// Progress is reported while a bundle is checked and written.
type Progress struct {
	Step  string `json:"step"` // "verify", "write", "done"
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// Errors a bundle is refused with before anything is written; they wrap
// the detail (errors.Is works on them).
var (
	ErrSignature  = errors.New("bundle signature not valid")
	ErrCompatible = errors.New("bundle is for another board")
	ErrOlder      = errors.New("bundle is older than the running firmware")
	ErrBusy       = errors.New("an update is already being installed")
	ErrNoSlots    = errors.New("this box has no A/B slots (not running from the firmware image)")
)
