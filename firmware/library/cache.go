package library

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"ringbox/audio/moh"
	"ringbox/audio/prompts"
	"ringbox/audio/sound"
	"ringbox/firmware/call"
	"ringbox/firmware/site"
)

// cacheMaxBytes bounds a file the cache decodes. Stored files are at most
// 10 minutes of 16 kHz audio (19 MB); files an older site named by hand
// may be larger WAVs.
const cacheMaxBytes = 64 << 20

// Cache is the audio calls play: the site's prompts and hold music, read
// from the data directory and decoded once, so no call ever decodes a file.
type Cache struct {
	dir  string
	site func() *site.Site // the current configuration
	log  *slog.Logger

	mu      sync.Mutex // protects following
	clips   map[string]cachedClip
	classes map[string][]*sound.Clip // hold music as last given to the hub
}

type cachedClip struct {
	clip *sound.Clip
	mod  time.Time
	size int64
}

// NewCache returns a cache of the files under dataDir that the site named
// by current plays.
func NewCache(dataDir string, current func() *site.Site, log *slog.Logger) *Cache {
	if log == nil {
		log = slog.Default()
	}
	return &Cache{dir: dataDir, site: current, log: log.With("pkg", "library")}
}

// Clip decodes file (relative to the data directory unless absolute) once;
// a file replaced under the same name (new time or size) is decoded again.
func (c *Cache) Clip(file string) (*sound.Clip, error) {
	p := file
	if !filepath.IsAbs(p) {
		p = filepath.Join(c.dir, filepath.FromSlash(file))
	}
	fi, err := os.Stat(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	cached, ok := c.clips[file]
	if err != nil {
		// A site import deletes the files the new site no longer names;
		// until this box reloads its configuration, calls may still ask
		// for them, and the audio is already here.
		if ok && errors.Is(err, fs.ErrNotExist) {
			return cached.clip, nil
		}
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	if ok && cached.mod.Equal(fi.ModTime()) && cached.size == fi.Size() {
		return cached.clip, nil
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	defer f.Close()
	clip, err := sound.Import(f, file, cacheMaxBytes)
	if err != nil {
		return nil, fmt.Errorf("audio %s: %w", file, err)
	}
	if c.clips == nil {
		c.clips = map[string]cachedClip{}
	}
	c.clips[file] = cachedClip{clip: clip, mod: fi.ModTime(), size: fi.Size()}
	return clip, nil
}

// Prompt returns prompt id at rate (8000 or 16000): the site's own prompt
// of that id, else a built-in one in lang ("": the site's language).
func (c *Cache) Prompt(lang, id string, rate int) ([]int16, bool) {
	s := c.site()
	for _, p := range s.Prompts {
		if p.ID != id {
			continue
		}
		clip, err := c.Clip(p.File)
		if err != nil {
			c.log.Warn("prompt unavailable, using the built-in one", "prompt", id, "err", err)
			break
		}
		if rate == 16000 {
			return clip.PCM16k, true
		}
		return clip.PCM8k, true
	}
	if lang == "" {
		lang = s.System.Lang()
	}
	return prompts.Get(lang, id, rate)
}

// Source is [Cache.Prompt] as a source a call plays.
func (c *Cache) Source(id string, rate int) (call.Source, bool) {
	pcm, ok := c.Prompt("", id, rate)
	if !ok {
		return nil, false
	}
	return prompts.Source(pcm), true
}

// LoadHoldMusic gives hub the hold-music classes of s; "default" is the
// box's own gentle music unless s defines it. A class whose tracks are the
// same decoded audio as last time is left playing undisturbed, so it may
// be called on every configuration change.
func (c *Cache) LoadHoldMusic(hub MusicHub, s *site.Site) {
	classes := map[string][]*sound.Clip{}
	for _, hm := range s.HoldMusic {
		var clips []*sound.Clip
		for _, f := range hm.Files {
			clip, err := c.Clip(f)
			if err != nil {
				c.log.Warn("hold music track skipped", "class", hm.ID, "err", err)
				continue
			}
			clips = append(clips, clip)
		}
		if len(clips) > 0 {
			classes[hm.ID] = clips
		}
	}
	c.mu.Lock()
	prev := c.classes
	c.classes = classes
	c.mu.Unlock()
	for id, clips := range classes {
		if slices.Equal(prev[id], clips) {
			continue
		}
		tracks := make([]moh.Track, len(clips))
		for i, clip := range clips {
			tracks[i] = moh.Track{PCM8k: clip.PCM8k, PCM16k: clip.PCM16k}
		}
		hub.SetClass(id, tracks)
	}
	if _, ok := classes[site.DefaultHoldMusic]; !ok && (prev == nil || prev[site.DefaultHoldMusic] != nil) {
		hub.SetClass(site.DefaultHoldMusic, []moh.Track{{PCM8k: Chime(8000), PCM16k: Chime(16000)}})
	}
}

// MusicHub is where hold music plays: a *moh.Hub.
type MusicHub interface {
	SetClass(name string, tracks []moh.Track)
}

// Prune forgets the decoded files s does not name: site imports store
// changed audio under new names, and the old ones need not stay in memory.
func (c *Cache) Prune(s *site.Site) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for file := range c.clips {
		if !named(s, file) {
			delete(c.clips, file)
		}
	}
}

// Chime is the built-in hold music at rate: a slow, quiet arpeggio of soft
// sine notes (C major, A minor, F major, G major), 16 s long, looping
// cleanly.
//
// It is made at every start, so it is made cheaply: the 4 s phrase is
// computed once and repeated, and the notes share one envelope. On the
// appliance (and far more under qemu's emulated floating point) the
// straightforward sum took most of a second of start-up.
func Chime(rate int) []int16 {
	chords := [][]float64{{261.63, 329.63, 392.00}, {220.00, 261.63, 329.63}, {174.61, 220.00, 261.63}, {196.00, 246.94, 293.66}}
	noteLen := rate / 3 // three notes a second
	env := make([]float64, noteLen)
	for i := range env {
		t := float64(i) / float64(rate)
		env[i] = math.Exp(-3*t) * math.Min(1, float64(i)/40)
	}
	const reps = 4
	out := make([]int16, 0, reps*len(chords)*4*noteLen)
	for _, ch := range chords {
		for n := 0; n < 4; n++ {
			f := ch[n%3]
			if n == 3 {
				f = ch[0] * 2
			}
			for i := 0; i < noteLen; i++ {
				t := float64(i) / float64(rate)
				v := 0.18 * env[i] * (math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t))
				out = append(out, int16(v*32767))
			}
		}
	}
	phrase := len(out)
	for rep := 1; rep < reps; rep++ {
		out = append(out, out[:phrase]...)
	}
	return out
}
