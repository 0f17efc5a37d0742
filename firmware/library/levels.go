package library

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"time"

	"ringbox/audio/prompts"
	"ringbox/audio/sound"
	"ringbox/audio/wav"
)

// SilenceDBFS is the level reported for digital silence: the noise floor of
// 16-bit audio, so the answer is a number rather than minus infinity, which
// JSON cannot carry.
const SilenceDBFS = -96.0

// Level measures pcm: the peak (loudest sample) and the RMS (average
// power) in dBFS, where 0 dBFS is a full-scale square wave, so a
// full-scale sine measures 0 dBFS peak and about -3 dBFS RMS. Both are
// rounded to 0.1 dB and are never below [SilenceDBFS].
func Level(pcm []int16) (peak, rms float64) {
	maxAbs := 0
	var sum float64
	for _, s := range pcm {
		v := int(s)
		if v < 0 {
			v = -v
		}
		maxAbs = max(maxAbs, v)
		sum += float64(s) * float64(s)
	}
	if len(pcm) == 0 {
		return SilenceDBFS, SilenceDBFS
	}
	return toDBFS(float64(maxAbs)), toDBFS(math.Sqrt(sum / float64(len(pcm))))
}

func toDBFS(amp float64) float64 {
	if amp <= 0 {
		return SilenceDBFS
	}
	d := 20 * math.Log10(amp/32768)
	return max(SilenceDBFS, math.Round(d*10)/10)
}

// audioInfo is what the lists show of one stored file.
type audioInfo struct {
	duration  time.Duration
	peak, rms float64
}

// fileMeta is audioInfo of a file as it was when measured: a file replaced
// under the same name (new size or time) is measured again.
type fileMeta struct {
	size int64
	mod  time.Time
	info audioInfo
}

// maxListedDuration bounds the decode of a file measured for the list:
// the longest a track may be, with room for files a site named by hand.
const maxListedDuration = 2 * MaxTrackDuration

// fileInfo measures a stored file (relative to the data directory unless
// absolute). The measure is cached by path, size and modification time, so
// listing the prompts decodes each file once, not on every request.
func (l *Library) fileInfo(file string) (audioInfo, error) {
	p := l.abs(file)
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return audioInfo{}, fmt.Errorf("file %s is missing", file)
		}
		return audioInfo{}, fmt.Errorf("file %s cannot be read", file)
	}
	l.metaMu.Lock()
	m, ok := l.meta[p]
	l.metaMu.Unlock()
	if ok && m.size == fi.Size() && m.mod.Equal(fi.ModTime()) {
		return m.info, nil
	}
	pcm, rate, err := l.decodeStored(p)
	if err != nil {
		return audioInfo{}, fmt.Errorf("file %s cannot be played: %v", file, err)
	}
	info := measure(pcm, rate)
	l.remember(p, fi, info)
	return info, nil
}

// remember caches the measure of the file at p as it is now (fi).
func (l *Library) remember(p string, fi os.FileInfo, info audioInfo) {
	l.metaMu.Lock()
	defer l.metaMu.Unlock()
	if l.meta == nil {
		l.meta = map[string]fileMeta{}
	}
	l.meta[p] = fileMeta{size: fi.Size(), mod: fi.ModTime(), info: info}
}

// rememberStored caches the measure of a file the library just wrote from
// pcm (16 kHz), so the next list does not decode it.
func (l *Library) rememberStored(file string, pcm []int16) {
	p := l.abs(file)
	if fi, err := os.Stat(p); err == nil {
		l.remember(p, fi, measure(pcm, storedRate))
	}
}

func measure(pcm []int16, rate int) audioInfo {
	peak, rms := Level(pcm)
	return audioInfo{duration: time.Duration(len(pcm)) * time.Second / time.Duration(rate), peak: peak, rms: rms}
}

// decodeStored reads a stored file as mono PCM at its own rate. Stored
// files are WAVs; an older site may name an MP3, decoded as on upload.
func (l *Library) decodeStored(p string) ([]int16, int, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, 0, err
	}
	if wr, err := wav.NewReader(bytes.NewReader(b)); err == nil && wr.Rate > 0 {
		pcm, f, err := wav.DecodeMono(bytes.NewReader(b), int(int64(wr.Rate)*int64(maxListedDuration/time.Second)))
		if err != nil {
			return nil, 0, err
		}
		return pcm, f.Rate, nil
	}
	return sound.Limits{MaxBytes: cacheMaxBytes, MaxDuration: maxListedDuration}.Decode(bytes.NewReader(b), p)
}

// builtinInfo measures a built-in prompt in lang; ok is false when the box
// has none of that id.
func (l *Library) builtinInfo(lang, id string) (audioInfo, bool) {
	key := "builtin:" + lang + ":" + id
	l.metaMu.Lock()
	m, ok := l.meta[key]
	l.metaMu.Unlock()
	if ok {
		return m.info, true
	}
	pcm, ok := prompts.Get(lang, id, storedRate)
	if !ok {
		return audioInfo{}, false
	}
	info := measure(pcm, storedRate)
	l.metaMu.Lock()
	if l.meta == nil {
		l.meta = map[string]fileMeta{}
	}
	l.meta[key] = fileMeta{info: info}
	l.metaMu.Unlock()
	return info, true
}
