// Package config publishes the running engine's view of the site: an
// immutable snapshot that is swapped atomically when the configuration
// changes.
//
// A call loads the snapshot once when it starts and keeps it to the end, so
// a change never alters a call in progress; the next call sees the new one.
// Nothing may modify a Site after it has been published.
package config

import (
	"sync/atomic"
	"time"

	"ringbox/firmware/dialplan"
	"ringbox/firmware/site"
)

// Snapshot is one published configuration.
type Snapshot struct {
	Site     *site.Site
	Version  int64 // the store's config_version it was read at
	Loaded   time.Time
	Outbound *dialplan.Plan
	Loc      *time.Location
}

// Store holds the current snapshot.
type Store struct {
	cur atomic.Pointer[Snapshot]
}

// New returns a Store publishing s.
func New(s *site.Site, version int64) (*Store, error) {
	st := &Store{}
	if _, err := st.Publish(s, version); err != nil {
		return nil, err
	}
	return st, nil
}

// Current is the snapshot new calls use.
func (st *Store) Current() *Snapshot { return st.cur.Load() }

// Site is Current().Site, for code that only needs the model.
func (st *Store) Site() *site.Site { return st.cur.Load().Site }

// Publish compiles s and makes it current. It returns the previous
// snapshot (nil the first time).
func (st *Store) Publish(s *site.Site, version int64) (*Snapshot, error) {
	plan, err := dialplan.NewSitePlan(s)
	if err != nil {
		return nil, err
	}
	loc := time.UTC
	if s.System.Timezone != "" {
		if l, err := time.LoadLocation(s.System.Timezone); err == nil {
			loc = l
		}
	}
	snap := &Snapshot{Site: s, Version: version, Loaded: time.Now(), Outbound: plan, Loc: loc}
	return st.cur.Swap(snap), nil
}
