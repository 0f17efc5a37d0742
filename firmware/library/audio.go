package library

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/sound"
	"ringbox/audio/wav"
	"ringbox/firmware/site"
)

// Audio is stored audio to hand to a player: a 16 kHz mono 16-bit PCM
// WAV, seekable so that HTTP range requests work. Close it when done.
type Audio struct {
	Name    string    // a file name for the download: main-menu.wav
	ModTime time.Time // zero for built-in prompts
	io.ReadSeeker
	io.Closer
}

// PromptAudio returns prompt id as calls play it: the uploaded or recorded
// file, or else the built-in prompt in the site's language.
func (l *Library) PromptAudio(ctx context.Context, id string) (*Audio, error) {
	if err := checkID("prompt", id); err != nil {
		return nil, err
	}
	s, err := l.st.ExportSite(ctx)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(s.Prompts, func(p site.Prompt) bool { return p.ID == id }); i >= 0 {
		return l.storedAudio(s.Prompts[i].File, id+".wav")
	}
	if slices.Contains(site.BuiltinPrompts, id) {
		if pcm, ok := prompts.Get(s.System.Lang(), id, storedRate); ok {
			return memAudio(id+".wav", time.Time{}, pcm)
		}
	}
	return nil, errorf(ErrNotFound, "no prompt %q", id)
}

// TrackAudio returns track n (from 1, in the order the list shows) of
// hold-music class.
func (l *Library) TrackAudio(ctx context.Context, class string, n int) (*Audio, error) {
	if err := checkID("hold-music class", class); err != nil {
		return nil, err
	}
	s, err := l.st.ExportSite(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(s.HoldMusic, func(h site.HoldMusic) bool { return h.ID == class })
	if i < 0 {
		return nil, errorf(ErrNotFound, "no hold-music class %q with tracks", class)
	}
	files := s.HoldMusic[i].Files
	if n < 1 || n > len(files) {
		return nil, errorf(ErrNotFound, "hold-music class %q has %d tracks: no track %d (tracks count from 1)", class, len(files), n)
	}
	return l.storedAudio(files[n-1], class+"-"+strconv.Itoa(n)+".wav")
}

// storedAudio opens a stored file. A 16 kHz mono 16-bit WAV (what the
// library writes) is served as it is, straight from the disk; anything
// else an older site named (an MP3, another rate) is decoded as calls
// decode it, so what plays in the browser is what callers hear.
func (l *Library) storedAudio(file, name string) (*Audio, error) {
	p := l.abs(file)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, errorf(ErrNotFound, "file %s is missing: upload the audio again", file)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", p, err)
	}
	if wr, err := wav.NewReader(f); err == nil && wr.Encoding == wav.PCM && wr.Rate == storedRate && wr.Channels == 1 && wr.Bits == 16 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return &Audio{Name: name, ModTime: fi.ModTime(), ReadSeeker: f, Closer: f}, nil
	}
	f.Close()
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	clip, err := sound.Limits{MaxBytes: cacheMaxBytes, MaxDuration: maxListedDuration}.Import(bytes.NewReader(b), file)
	if err != nil {
		return nil, errorf(ErrUnsupported, "file %s cannot be played: %v", file, err)
	}
	return memAudio(name, fi.ModTime(), clip.PCM16k)
}

func memAudio(name string, mod time.Time, pcm []int16) (*Audio, error) {
	var b bytes.Buffer
	if err := wav.Write(&b, storedRate, 1, pcm); err != nil {
		return nil, fmt.Errorf("encode %s: %w", name, err)
	}
	return &Audio{Name: name, ModTime: mod, ReadSeeker: bytes.NewReader(b.Bytes()), Closer: io.NopCloser(nil)}, nil
}
