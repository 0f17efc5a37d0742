package main

// Checks of what a caller heard: that it is speech, and which recording it
// is (the harness's audiocheck.py, in Go).

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"
)

// spokenMP3 speaks text with espeak-ng and encodes it with sox as an MP3
// at mp3Path (44.1 kHz mono, as an installer's editor would export it). It
// returns the same speech at 8 kHz, to compare with what a caller hears.
func spokenMP3(t *testing.T, text, mp3Path string) []int16 {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required to make the test prompt (make test installs it): %v", tool, err)
		}
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "spoken.wav")
	ref := filepath.Join(dir, "ref8k.wav")
	for _, args := range [][]string{
		{"espeak-ng", "-v", "en-us", "-s", "150", "-w", raw, text},
		{"sox", raw, "-r", "44100", "-c", "1", "-C", "64", mp3Path},
		{"sox", raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", ref},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	s, _, err := readWAV16(ref)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// spoken is spokenMP3 without keeping the MP3.
func spoken(t *testing.T, text string) []int16 {
	t.Helper()
	return spokenMP3(t, text, filepath.Join(t.TempDir(), "x.mp3"))
}

// frameDB is the level of each 20 ms frame in dBFS, floored at -70.
func frameDB(s []int16, rate int) []float64 {
	n := rate / 50
	var out []float64
	for off := 0; off+n <= len(s); off += n {
		var e float64
		for _, v := range s[off : off+n] {
			e += float64(v) * float64(v)
		}
		rms := math.Sqrt(e/float64(n)) / 32768
		out = append(out, max(20*math.Log10(rms+1e-12), -70))
	}
	return out
}

// activeShare is the share of 20 ms frames louder than -45 dBFS.
func activeShare(s []int16, rate int) float64 {
	db := frameDB(s, rate)
	if len(db) == 0 {
		return 0
	}
	n := 0
	for _, d := range db {
		if d > -45 {
			n++
		}
	}
	return float64(n) / float64(len(db))
}

// envelopeMatch slides the level envelope of ref over that of got and
// returns the best correlation (Pearson, -1 to 1) and its lag in frames.
// Speech heard through a phone keeps the rhythm of its syllables, so the
// same recording scores high (above 0.8 here) and other speech, a tone or
// silence scores low.
func envelopeMatch(ref []int16, refRate int, got []int16, gotRate int) (float64, int) {
	a, b := frameDB(ref, refRate), frameDB(got, gotRate)
	// The whole of ref must lie within got, but for a few frames at the
	// end (the hangup may cut the last syllable's tail).
	slack := min(len(a)/10, 10)
	best, bestLag := 0.0, 0
	for lag := 0; lag+len(a)-slack <= len(b); lag++ {
		n := min(len(a), len(b)-lag)
		if c := pearson(a[:n], b[lag:lag+n]); c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	if n < 2 {
		return 0
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0 // a constant level (silence, a steady tone) matches nothing
	}
	return sxy / math.Sqrt(sxx*syy)
}

// checkHeard fails t unless got (what a caller heard) is the speech in
// want: long enough, mostly sound, and with want's envelope.
func checkHeard(t *testing.T, got []int16, rate int, want []int16) {
	t.Helper()
	secs, wantSecs := float64(len(got))/float64(rate), float64(len(want))/8000
	if secs < 0.8*wantSecs {
		t.Errorf("heard %.1fs of audio, want at least the %.1fs prompt", secs, wantSecs)
	}
	if share := activeShare(got, rate); share < 0.25 {
		t.Errorf("only %.0f%% of what the caller heard is above -45 dBFS: silence, not the prompt", 100*share)
	}
	if c, lag := envelopeMatch(want, 8000, got, rate); c < 0.7 {
		t.Errorf("what the caller heard does not follow the prompt: best envelope correlation %.2f (at %d ms), want ≥ 0.7", c, lag*20)
	} else {
		t.Logf("the caller heard the prompt: envelope correlation %.2f at %d ms", c, lag*20)
	}
}

// TestEnvelopeMatchTellsPromptsApart checks the check: the same speech
// matches, other speech, a tone and silence do not.
func TestEnvelopeMatchTellsPromptsApart(t *testing.T) {
	a := spoken(t, "Thank you for calling Acme Dental. We are closed today.")
	b := spoken(t, "Press one for sales, or stay on the line for an operator.")
	// What a caller hears: the prompt after half a second of silence, then
	// silence to the hangup.
	heard := append(append(make([]int16, 4000), a...), make([]int16, 8000)...)
	if c, lag := envelopeMatch(a, 8000, heard, 8000); c < 0.95 || lag != 25 {
		t.Errorf("same speech: correlation %.2f at lag %d, want ≥ 0.95 at 25", c, lag)
	}
	if c, _ := envelopeMatch(a, 8000, append(b, make([]int16, 8000)...), 8000); c > 0.5 {
		t.Errorf("other speech: correlation %.2f, want ≤ 0.5", c)
	} else {
		t.Logf("other speech: correlation %.2f", c)
	}
	tone := make([]int16, len(a))
	for i := range tone {
		tone[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	if c, _ := envelopeMatch(a, 8000, tone, 8000); c > 0.3 {
		t.Errorf("tone: correlation %.2f, want ≤ 0.3", c)
	}
	if c, _ := envelopeMatch(a, 8000, make([]int16, len(a)), 8000); c != 0 {
		t.Errorf("silence: correlation %.2f, want 0", c)
	}
	if s := activeShare(make([]int16, 8000), 8000); s != 0 {
		t.Errorf("silence active share %.2f", s)
	}
	if s := activeShare(a, 8000); s < 0.4 {
		t.Errorf("speech active share %.2f, want ≥ 0.4", s)
	}
}
