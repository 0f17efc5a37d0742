package panel

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"ringbox/firmware/events"
)

// ResetTTL is how long a factory-reset request waits for an admin.
const ResetTTL = 5 * time.Minute

// ErrNoReset is returned by Confirm when no factory reset was requested
// (or the request expired).
var ErrNoReset = errors.New("no factory reset was requested on the box")

// ResetConfig wires a Reset.
type ResetConfig struct {
	Bus *events.Bus // required: every change is published as events.FactoryReset
	// Erase marks the box's data for erasing (backup.RequestErase); the
	// data goes at the next start, when nothing has it open.
	Erase func() error
	// Restart shuts the box down and starts it again; it returns at once.
	Restart func()
	TTL     time.Duration // 0: ResetTTL
}

// Reset is the factory-reset request raised by holding the service
// button. Nothing is erased until an admin confirms it in the web page,
// which proves someone with both the box in hand and the admin password
// wants it; a request nobody confirms expires.
type Reset struct {
	cfg ResetConfig

	mu      sync.Mutex // protects following
	since   time.Time  // when the pending request was raised
	pending bool
	expiry  *time.Timer
}

// NewReset returns a Reset with nothing pending.
func NewReset(cfg ResetConfig) *Reset {
	if cfg.TTL == 0 {
		cfg.TTL = ResetTTL
	}
	return &Reset{cfg: cfg}
}

// Raise requests a factory reset (the service button was held). A second
// press while one is pending starts its time again.
func (r *Reset) Raise() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.expiry != nil {
		r.expiry.Stop()
	}
	r.since, r.pending = time.Now(), true
	since := r.since
	r.expiry = time.AfterFunc(r.cfg.TTL, func() { r.expire(since) })
	r.cfg.Bus.Publish(events.FactoryReset{State: "requested"})
}

func (r *Reset) expire(since time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pending || !r.since.Equal(since) {
		return // confirmed, cancelled or raised again meanwhile
	}
	r.pending = false
	r.cfg.Bus.Publish(events.FactoryReset{State: "expired"})
}

// Pending reports whether a request waits, and since when.
func (r *Reset) Pending() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.since, r.pending
}

// Confirm erases the box and restarts it; by is the admin who confirmed.
func (r *Reset) Confirm(by string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pending {
		return ErrNoReset
	}
	if err := r.cfg.Erase(); err != nil {
		return fmt.Errorf("factory reset: %w", err)
	}
	r.pending = false
	r.expiry.Stop()
	r.cfg.Bus.Publish(events.FactoryReset{State: "confirmed", By: by})
	r.cfg.Restart()
	return nil
}

// Cancel withdraws a pending request; by is who cancelled it.
func (r *Reset) Cancel(by string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.pending {
		return
	}
	r.pending = false
	r.expiry.Stop()
	r.cfg.Bus.Publish(events.FactoryReset{State: "cancelled", By: by})
}
