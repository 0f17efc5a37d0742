package library

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
	var m meter
	m.add(pcm)
	return m.level()
}

// meter measures audio a chunk at a time, so a long file is measured
// without holding it in memory.
type meter struct {
	peak int
	sum  float64
	n    int64
}

func (m *meter) add(pcm []int16) {
	for _, s := range pcm {
		v := int(s)
		m.peak = max(m.peak, v, -v)
		m.sum += float64(v) * float64(v)
	}
	m.n += int64(len(pcm))
}

func (m *meter) level() (peak, rms float64) {
	if m.n == 0 {
		return SilenceDBFS, SilenceDBFS
	}
	return toDBFS(float64(m.peak)), toDBFS(math.Sqrt(m.sum / float64(m.n)))
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
	info, err := measureFile(p)
	if err != nil {
		return audioInfo{}, fmt.Errorf("file %s cannot be played: %v", file, err)
	}
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

// measureFile measures a stored file. Stored files are WAVs, read a chunk
// at a time (a 30-minute track is 58 MB); an older site may name an MP3,
// decoded as on upload.
func measureFile(p string) (audioInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return audioInfo{}, err
	}
	defer f.Close()
	wr, err := wav.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil || wr.Rate <= 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return audioInfo{}, err
		}
		pcm, rate, err := sound.Limits{MaxBytes: cacheMaxBytes, MaxDuration: maxListedDuration}.Decode(f, filepath.Base(p))
		if err != nil {
			return audioInfo{}, err
		}
		return measure(pcm, rate), nil
	}
	limit := int64(wr.Rate) * int64(maxListedDuration/time.Second)
	var m meter
	chunk := make([]int16, 4096)
	for {
		n, err := wr.ReadMono(chunk)
		m.add(chunk[:n])
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return audioInfo{}, err
		}
		if m.n > limit {
			return audioInfo{}, fmt.Errorf("longer than %v", maxListedDuration)
		}
	}
	info := audioInfo{duration: time.Duration(m.n) * time.Second / time.Duration(wr.Rate)}
	info.peak, info.rms = m.level()
	return info, nil
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
