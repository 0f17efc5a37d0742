package prompts

import (
	"fmt"
	"io/fs"
	"math"
	"slices"
	"testing"
	"time"
)

func dbfs(x float64) float64 { return 20 * math.Log10(x/32768+1e-12) }

// speechLike checks pcm sounds like speech: long enough, loud enough, and
// with the syllabic ups and downs of speech (loud frames and quiet ones).
func speechLike(pcm []int16, rate int) error {
	d := time.Duration(len(pcm)) * time.Second / time.Duration(rate)
	if d < 150*time.Millisecond || d > 20*time.Second {
		return fmt.Errorf("lasts %v", d)
	}
	fl := rate / 50
	var levels []float64
	loudest := math.Inf(-1)
	for i := 0; i+fl <= len(pcm); i += fl {
		var e float64
		for _, s := range pcm[i : i+fl] {
			e += float64(s) * float64(s)
		}
		l := dbfs(math.Sqrt(e / float64(fl)))
		levels = append(levels, l)
		loudest = max(loudest, l)
	}
	if loudest < -25 {
		return fmt.Errorf("too quiet: loudest 20 ms at %.0f dBFS", loudest)
	}
	var loud, quiet int
	for _, l := range levels {
		if l > loudest-10 {
			loud++
		}
		if l < loudest-20 {
			quiet++
		}
	}
	if loud == 0 || (len(levels) > 25 && quiet == 0) {
		return fmt.Errorf("no syllables: %d loud and %d quiet frames of %d", loud, quiet, len(levels))
	}
	return nil
}

func TestEveryPromptInEveryLanguage(t *testing.T) {
	builtin := []string{"main-menu", "invalid-option", "please-hold", "recording-notice", "goodbye",
		"call-for-office", "accept-decline", "call-taken", "voicemail-greeting", "voicemail-beep"}
	for _, id := range builtin {
		found := false
		for _, x := range IDs() {
			found = found || x == id
		}
		if !found {
			t.Errorf("IDs() lacks built-in prompt %q", id)
		}
	}
	for _, lang := range Langs() {
		for _, id := range IDs() {
			p16, ok16 := Get(lang, id, 16000)
			p8, ok8 := Get(lang, id, 8000)
			if !ok16 || !ok8 {
				t.Errorf("%s/%s: missing (16 kHz %v, 8 kHz %v)", lang, id, ok16, ok8)
				continue
			}
			if d := len(p16) - 2*len(p8); d < -2 || d > 2 {
				t.Errorf("%s/%s: %d samples at 16 kHz but %d at 8 kHz", lang, id, len(p16), len(p8))
			}
			if id == "voicemail-beep" {
				continue // a tone, checked below
			}
			for _, x := range []struct {
				p    []int16
				rate int
			}{{p16, 16000}, {p8, 8000}} {
				if err := speechLike(x.p, x.rate); err != nil {
					t.Errorf("%s/%s at %d Hz: %v", lang, id, x.rate, err)
				}
			}
		}
		for n := 1; n <= MaxNumber; n++ {
			p, ok := Number(lang, n, 8000)
			if !ok {
				t.Errorf("%s: no number %d", lang, n)
				continue
			}
			if err := speechLike(p, 8000); err != nil {
				t.Errorf("%s number %d: %v", lang, n, err)
			}
		}
	}
	if _, ok := Get("en", "no-such-prompt", 8000); ok {
		t.Error("Get(no-such-prompt) found something")
	}
	if _, ok := Get("de", "goodbye", 8000); ok {
		t.Error("Get(de) found something; there is no German")
	}
	if _, ok := Number("en", 100, 8000); ok {
		t.Error("Number(100) found something")
	}
}

func TestBeep(t *testing.T) {
	p, _ := Get("en", "voicemail-beep", 8000)
	// Goertzel at 1 kHz over the middle: nearly all the energy.
	mid := p[len(p)/4 : len(p)*3/4]
	k := 2 * math.Cos(2*math.Pi*1000/8000)
	var s1, s2, e float64
	for _, v := range mid {
		s0 := float64(v) + k*s1 - s2
		s2, s1 = s1, s0
		e += float64(v) * float64(v)
	}
	tonal := 2 * (s1*s1 + s2*s2 - k*s1*s2) / float64(len(mid))
	if tonal < 0.95*e {
		t.Errorf("beep has %.0f%% of its energy at 1 kHz, want ≥ 95%%", 100*tonal/e)
	}
}

func TestComposed(t *testing.T) {
	for _, lang := range Langs() {
		for _, n := range []int{1, 2, 21, 71, 80, 99} {
			if c, ok := Position(lang, n, 8000); !ok || len(c) != 3 {
				t.Errorf("%s Position(%d): %d clips, %v", lang, n, len(c), ok)
			}
			c, ok := WaitMinutes(lang, n, 16000)
			if want := map[bool]int{true: 1, false: 3}[n == 1]; !ok || len(c) != want {
				t.Errorf("%s WaitMinutes(%d): %d clips, %v; want %d", lang, n, len(c), ok, want)
			}
			if c, ok := NewMessages(lang, n, 8000); !ok || len(c) != 3 {
				t.Errorf("%s NewMessages(%d): %d clips, %v", lang, n, len(c), ok)
			}
		}
		if c, ok := NewMessages(lang, 0, 8000); !ok || len(c) != 1 {
			t.Errorf("%s NewMessages(0): %d clips, %v", lang, len(c), ok)
		}
	}
	// French minutes are feminine: 21 is "vingt et une", a clip of its own.
	fem, _ := WaitMinutes("fr", 21, 8000)
	masc, _ := Number("fr", 21, 8000)
	if len(fem[1]) == len(masc) && &fem[1][0] == &masc[0] {
		t.Error("French WaitMinutes(21) uses the masculine 'vingt et un'")
	}
	// Source plays the parts back to back.
	c, _ := Position("en", 5, 8000)
	var want int
	for _, p := range c {
		want += len(p)
	}
	src, f, got := Source(c...), make([]int16, 160), 0
	for src.ReadFrame(f) {
		got += 160
	}
	if got < want || got >= want+160 {
		t.Errorf("Source played %d samples, want %d padded to a frame", got, want)
	}
}

func TestEmbeddedSize(t *testing.T) {
	var total int64
	fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			total += info.Size()
		}
		return nil
	})
	t.Logf("embedded prompts: %.1f MB", float64(total)/1e6)
	if total > 6e6 {
		t.Errorf("embedded prompts take %d bytes, want < 6 MB", total)
	}
}

// BenchmarkGet measures a cached prompt lookup.
func BenchmarkGet(b *testing.B) {
	Get("en", "main-menu", 8000)
	b.ReportAllocs()
	for b.Loop() {
		Get("en", "main-menu", 8000)
	}
}

// Every digit can be said alone in every language (a park slot "701"),
// zero included, and a non-digit cannot.
func TestDigit(t *testing.T) {
	for _, lang := range Langs() {
		for d := 0; d <= 9; d++ {
			if pcm, ok := Digit(lang, d, 8000); !ok || len(pcm) < 8000/10 {
				t.Errorf("%s: digit %d: ok %v, %d samples", lang, d, ok, len(pcm))
			}
		}
		zero, _ := Digit(lang, 0, 8000)
		one, _ := Digit(lang, 1, 8000)
		if slices.Equal(zero, one) {
			t.Errorf("%s: zero sounds like one", lang)
		}
		if _, ok := Digit(lang, -1, 8000); ok {
			t.Errorf("%s: digit -1 said", lang)
		}
		if _, ok := Digit(lang, 10, 8000); ok {
			t.Errorf("%s: digit 10 said", lang)
		}
	}
}
