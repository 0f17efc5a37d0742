// Package prompts holds Ringbox's built-in voice prompts in English ("en")
// and French ("fr"), and composes the spoken numbers of queue positions,
// waiting times and message counts.
//
// The prompts are synthesised with espeak-ng by scripts/gen-prompts.sh
// (which runs ./audio/prompts/gen) and embedded. They are stored once, at
// 16 kHz in µ-law WAV files (4.4 MB for both languages; 16-bit PCM at both
// rates would be 13 MB); a prompt is decoded on first use and its 8 kHz
// version is made then with audio/resample. Both are cached for the life
// of the process.
//
// # Ids
//
// [IDs] lists the prompt ids. The site validator treats main-menu,
// invalid-option, please-hold, recording-notice, goodbye, call-for-office,
// accept-decline, call-taken, voicemail-greeting and voicemail-beep as built
// in. The composed phrases:
//
//	Position:    position-prefix + number-N + position-suffix
//	             "You are caller number" N "in the queue."
//	WaitMinutes: wait-one-minute, or wait-prefix + number-N + minutes
//	NewMessages: no-messages, or messages-prefix + number-N + new-message(s)
//
// French numbers follow the traditional spelling (soixante et onze,
// quatre-vingts, quatre-vingt-onze); minutes are feminine ("vingt et une
// minutes"), so WaitMinutes uses the feminine forms.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"slices"
	"sync"

	"ringbox/audio/resample"
	"ringbox/audio/wav"
	"ringbox/firmware/call"
)

//go:embed en/*.wav fr/*.wav
var files embed.FS

// Built-in prompt ids.
var ids = []string{
	"main-menu", "invalid-option", "please-hold", "recording-notice", "goodbye",
	"call-for-office", "accept-decline", "call-taken",
	"voicemail-greeting", "voicemail-beep", "vm-menu", "message-deleted", "no-more-messages",
	"no-messages", "messages-prefix", "new-message", "new-messages",
	"position-prefix", "position-suffix",
	"wait-prefix", "wait-one-minute", "minutes",
	"all-agents-busy",
	"vm-enter-box", "vm-enter-pin", "vm-login-incorrect", "vm-options-hint", "vm-options",
	"vm-record-after-beep", "vm-keep-rerecord", "vm-saved", "vm-new-pin", "vm-repeat-pin",
	"vm-pin-mismatch", "vm-pin-changed", "vm-is-unavailable", "vm-is-busy",
}

// MaxNumber is the largest number Number can say.
const MaxNumber = 99

// IDs returns the prompt ids every language has (not the number clips).
func IDs() []string { return slices.Clone(ids) }

// Langs returns the prompt languages.
func Langs() []string { return []string{"en", "fr"} }

type key struct {
	lang, id string
	rate     int
}

var (
	mu    sync.Mutex // protects cache
	cache = map[key][]int16{}
)

// Get returns prompt id in lang at rate (8000 or 16000) as mono PCM, and
// false when there is no such prompt. The slice is shared: do not modify
// it.
func Get(lang, id string, rate int) ([]int16, bool) {
	if rate != 8000 && rate != 16000 {
		return nil, false
	}
	mu.Lock()
	defer mu.Unlock()
	return getLocked(lang, id, rate)
}

func getLocked(lang, id string, rate int) ([]int16, bool) {
	if pcm, ok := cache[key{lang, id, rate}]; ok {
		return pcm, true
	}
	if rate == 8000 {
		wide, ok := getLocked(lang, id, 16000)
		if !ok {
			return nil, false
		}
		r := resample.New(16000, 8000)
		pcm := r.Flush(r.Process(make([]int16, 0, len(wide)/2+1), wide))
		cache[key{lang, id, rate}] = pcm
		return pcm, true
	}
	b, err := files.ReadFile(lang + "/" + id + ".wav")
	if err != nil {
		return nil, false
	}
	pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
	if err != nil || f.Rate != 16000 {
		// Embedded files are generated and tested; this cannot happen in
		// a build that passed its tests.
		panic(fmt.Sprintf("prompts: embedded %s/%s.wav: %v (rate %d)", lang, id, err, f.Rate))
	}
	cache[key{lang, id, rate}] = pcm
	return pcm, true
}

// Number returns n (1–99) spoken in lang at rate.
func Number(lang string, n, rate int) ([]int16, bool) {
	if n < 1 || n > MaxNumber {
		return nil, false
	}
	return Get(lang, fmt.Sprintf("number-%d", n), rate)
}

// Digit returns the clip of one digit d (0-9) said alone, as in a park
// slot or an extension number read digit by digit.
func Digit(lang string, d, rate int) ([]int16, bool) {
	if d == 0 {
		return Get(lang, "number-0", rate)
	}
	if d < 0 || d > 9 {
		return nil, false
	}
	return Number(lang, d, rate)
}

// numberFeminine is Number with the feminine form where French has one.
func numberFeminine(lang string, n, rate int) ([]int16, bool) {
	if pcm, ok := Get(lang, fmt.Sprintf("number-f-%d", n), rate); ok {
		return pcm, true
	}
	return Number(lang, n, rate)
}

// Position returns the clips of "you are caller number n in the queue".
func Position(lang string, n, rate int) ([][]int16, bool) {
	return compose(lang, rate, "position-prefix", number(n, false), "position-suffix")
}

// WaitMinutes returns the clips of "your estimated waiting time is about n
// minutes" (n ≥ 1; "one minute" in the singular).
func WaitMinutes(lang string, n, rate int) ([][]int16, bool) {
	if n == 1 {
		return compose(lang, rate, "wait-one-minute")
	}
	return compose(lang, rate, "wait-prefix", number(n, true), "minutes")
}

// NewMessages returns the clips of "you have n new messages" (n ≥ 0).
func NewMessages(lang string, n, rate int) ([][]int16, bool) {
	switch n {
	case 0:
		return compose(lang, rate, "no-messages")
	case 1:
		return compose(lang, rate, "messages-prefix", number(1, false), "new-message")
	}
	return compose(lang, rate, "messages-prefix", number(n, false), "new-messages")
}

// number is a placeholder id compose replaces with a number clip.
type numberID struct {
	n        int
	feminine bool
}

func number(n int, feminine bool) numberID { return numberID{n, feminine} }

func compose(lang string, rate int, parts ...any) ([][]int16, bool) {
	out := make([][]int16, 0, len(parts))
	for _, p := range parts {
		var pcm []int16
		ok := false
		switch p := p.(type) {
		case string:
			pcm, ok = Get(lang, p, rate)
		case numberID:
			if p.feminine {
				pcm, ok = numberFeminine(lang, p.n, rate)
			} else {
				pcm, ok = Number(lang, p.n, rate)
			}
		}
		if !ok {
			return nil, false
		}
		out = append(out, pcm)
	}
	return out, true
}

// Source plays clips one after the other at their rate, in 20 ms frames
// (the last padded with silence), without copying them.
func Source(clips ...[]int16) call.Source {
	return &player{clips: clips}
}

type player struct {
	clips [][]int16
	pos   int
}

func (p *player) ReadFrame(f []int16) bool {
	n := 0
	for n < len(f) && len(p.clips) > 0 {
		c := copy(f[n:], p.clips[0][p.pos:])
		n += c
		p.pos += c
		if p.pos >= len(p.clips[0]) {
			p.clips, p.pos = p.clips[1:], 0
		}
	}
	if n == 0 {
		return false
	}
	clear(f[n:])
	return true
}
