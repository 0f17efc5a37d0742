package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ringbox/audio/moh"
	"ringbox/audio/prompts"
	"ringbox/audio/sound"
	"ringbox/firmware/call"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// audioLib loads uploaded prompts and hold music from the data directory,
// decoded once and cached, so no call ever decodes a file.
type audioLib struct {
	dir string
	cfg *config.Store
	log *slog.Logger

	mu    sync.Mutex // protects clips
	clips map[string]cachedClip
}

type cachedClip struct {
	clip *sound.Clip
	mod  time.Time
	size int64
}

// clip decodes file once; an upload that replaces the file under the same
// name (new time or size) is decoded again.
func (l *audioLib) clip(file string) (*sound.Clip, error) {
	p := file
	if !filepath.IsAbs(p) {
		p = filepath.Join(l.dir, file)
	}
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.clips[file]; ok && c.mod.Equal(fi.ModTime()) && c.size == fi.Size() {
		return c.clip, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	defer f.Close()
	c, err := sound.Import(f, file, 64<<20)
	if err != nil {
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	if l.clips == nil {
		l.clips = map[string]cachedClip{}
	}
	l.clips[file] = cachedClip{clip: c, mod: fi.ModTime(), size: fi.Size()}
	return c, nil
}

// pcm returns prompt id at rate: an uploaded prompt of the site, else a
// built-in one in the site's language.
func (l *audioLib) pcm(lang, id string, rate int) ([]int16, bool) {
	for _, p := range l.cfg.Site().Prompts {
		if p.ID != id {
			continue
		}
		c, err := l.clip(p.File)
		if err != nil {
			l.log.Warn("prompt unavailable, using the built-in one", "prompt", id, "err", err)
			break
		}
		if rate == 16000 {
			return c.PCM16k, true
		}
		return c.PCM8k, true
	}
	if lang == "" {
		lang = l.cfg.Site().System.Lang()
	}
	return prompts.Get(lang, id, rate)
}

func (l *audioLib) source(id string, rate int) (call.Source, bool) {
	pcm, ok := l.pcm("", id, rate)
	if !ok {
		return nil, false
	}
	return prompts.Source(pcm), true
}

// loadHoldMusic sets the hub's classes from the site; "default" is the
// box's own gentle music unless the site defines it.
func (l *audioLib) loadHoldMusic(hub *moh.Hub, s *site.Site) {
	haveDefault := false
	for _, hm := range s.HoldMusic {
		var tracks []moh.Track
		for _, f := range hm.Files {
			c, err := l.clip(f)
			if err != nil {
				l.log.Warn("hold music track skipped", "class", hm.ID, "err", err)
				continue
			}
			tracks = append(tracks, moh.Track{PCM8k: c.PCM8k, PCM16k: c.PCM16k})
		}
		if len(tracks) == 0 {
			continue
		}
		hub.SetClass(hm.ID, tracks)
		haveDefault = haveDefault || hm.ID == site.DefaultHoldMusic
	}
	if !haveDefault {
		hub.SetClass(site.DefaultHoldMusic, []moh.Track{{PCM8k: chime(8000), PCM16k: chime(16000)}})
	}
}

// chime is the built-in hold music: a slow, quiet arpeggio of soft sine
// notes (C major, A minor, F major, G major), 16 s long, looping cleanly.
func chime(rate int) []int16 {
	chords := [][]float64{{261.63, 329.63, 392.00}, {220.00, 261.63, 329.63}, {174.61, 220.00, 261.63}, {196.00, 246.94, 293.66}}
	noteLen := rate / 3 // three notes a second
	out := make([]int16, 0, 16*rate)
	for rep := 0; rep < 4; rep++ {
		for _, ch := range chords {
			for n := 0; n < 4; n++ {
				f := ch[n%3]
				if n == 3 {
					f = ch[0] * 2
				}
				for i := 0; i < noteLen; i++ {
					t := float64(i) / float64(rate)
					env := math.Exp(-3*t) * math.Min(1, float64(i)/40)
					v := 0.18 * env * (math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t))
					out = append(out, int16(v*32767))
				}
			}
		}
	}
	return out
}

// overrides saves the flow engine's schedule overrides in the store.
type overrides struct{ st *store.Store }

func (o overrides) SaveOverride(ctx context.Context, schedule string, open bool, until, set time.Time, by string) error {
	return o.st.SaveScheduleOverride(ctx, store.ScheduleOverride{Schedule: schedule, Open: open, Until: until, Set: set, By: by})
}

func (o overrides) DeleteOverride(ctx context.Context, schedule string) error {
	return o.st.DeleteScheduleOverride(ctx, schedule)
}

// restoreOverrides puts the saved schedule overrides back after a restart.
func restoreOverrides(ctx context.Context, st *store.Store, fl *flow.Engine, log *slog.Logger) {
	saved, err := st.LoadScheduleOverrides(ctx)
	if err != nil {
		log.Error("schedule overrides not restored", "err", err)
		return
	}
	for _, o := range saved {
		fl.RestoreOverride(o.Schedule, o.Open, o.Until, o.Set, o.By)
	}
}
