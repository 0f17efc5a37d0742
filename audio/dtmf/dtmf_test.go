package dtmf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	"ringbox/audio/resample"
	"ringbox/audio/tone"
	"ringbox/audio/wav"
)

const allKeys = "123A456B789C*0#D"

// signal describes one test tone burst.
type signal struct {
	key        byte
	level      float64 // dBm0 of the row tone
	twist      float64 // dB, column relative to row
	offset     float64 // relative frequency error of both tones
	on         time.Duration
	snr        float64 // dB; 0: no noise
	leadSilent int     // samples before the tone, to vary block alignment
}

func (s signal) pcm(rng *rand.Rand) []int16 {
	r, c, _ := Freqs(s.key)
	r, c = r*(1+s.offset), c*(1+s.offset)
	ar := tone.Amplitude(s.level)
	ac := tone.Amplitude(s.level + s.twist)
	n := int(s.on * Rate / time.Second)
	total := s.leadSilent + n + Rate/5
	out := make([]int16, total)
	var noise float64
	if s.snr != 0 {
		sigPower := (ar*ar + ac*ac) / 2
		noise = math.Sqrt(sigPower / math.Pow(10, s.snr/10))
	}
	ph := rng.Float64() * 2 * math.Pi
	for i := range out {
		var v float64
		if i >= s.leadSilent && i < s.leadSilent+n {
			t := float64(i - s.leadSilent)
			v = ar*math.Sin(2*math.Pi*r*t/Rate+ph) + ac*math.Sin(2*math.Pi*c*t/Rate+2*ph)
		}
		v += noise * rng.NormFloat64()
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// detect feeds pcm in 20 ms frames and returns the digits found.
func detect(d *Detector, pcm []int16) string {
	var got []byte
	for i := 0; i < len(pcm); i += 160 {
		got = append(got, d.Feed(pcm[i:min(i+160, len(pcm))])...)
	}
	return string(got)
}

// TestDetection runs every key through a grid of levels, twists, noise,
// frequency errors and durations, each at several block alignments.
func TestDetection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type group struct {
		name   string
		mutate func(*signal)
		want   bool
	}
	var groups []group
	for _, lvl := range []float64{-10, -15, -20, -25} {
		for _, tw := range []float64{0, 6, -3} {
			for _, snr := range []float64{0, 20} {
				groups = append(groups, group{
					name:   "level/twist/snr",
					mutate: func(s *signal) { s.level, s.twist, s.snr = lvl, tw, snr },
					want:   true,
				})
			}
		}
	}
	for _, off := range []float64{-0.015, 0.015} {
		groups = append(groups, group{"offset ±1.5%", func(s *signal) { s.offset = off }, true})
	}
	for _, off := range []float64{-0.035, 0.035} {
		groups = append(groups, group{"offset ±3.5%", func(s *signal) { s.offset = off }, false})
	}
	groups = append(groups,
		group{"40 ms", func(s *signal) { s.on = 40 * time.Millisecond }, true},
		group{"40 ms at −25 dBm0, 20 dB SNR", func(s *signal) { s.on, s.level, s.snr = 40*time.Millisecond, -25, 20 }, true},
		group{"20 ms", func(s *signal) { s.on = 20 * time.Millisecond }, false},
		group{"too weak −45 dBm0", func(s *signal) { s.level = -45 }, false},
		group{"twist +10 dB", func(s *signal) { s.twist = 10 }, false},
		group{"reverse twist −6 dB", func(s *signal) { s.twist = -6 }, false},
	)
	stats := map[string][2]int{} // name: detected, total
	for _, g := range groups {
		for i := range len(allKeys) {
			for align := 0; align < BlockSize; align += 17 {
				s := signal{key: allKeys[i], level: -10, on: 60 * time.Millisecond, leadSilent: align}
				g.mutate(&s)
				got := detect(NewDetector(), s.pcm(rng))
				ok := got == string(s.key)
				st := stats[g.name]
				st[1]++
				if got != "" {
					st[0]++
				}
				stats[g.name] = st
				if g.want && !ok {
					t.Errorf("%s: %+v: detected %q, want %q", g.name, s, got, s.key)
				}
				if !g.want && got != "" {
					t.Errorf("%s: %+v: detected %q, want nothing", g.name, s, got)
				}
			}
		}
	}
	for _, g := range groups {
		if st, ok := stats[g.name]; ok {
			t.Logf("%-30s detected %4d of %4d (%.1f%%)", g.name, st[0], st[1], 100*float64(st[0])/float64(st[1]))
			delete(stats, g.name)
		}
	}
}

// TestDigitSequence checks that keys with 40 ms gaps, including repeats
// of the same key, come out in order and once each.
func TestDigitSequence(t *testing.T) {
	for _, tt := range []struct{ on, off time.Duration }{
		{40 * time.Millisecond, 40 * time.Millisecond},
		{40 * time.Millisecond, 50 * time.Millisecond},
		{100 * time.Millisecond, 100 * time.Millisecond},
		{500 * time.Millisecond, 60 * time.Millisecond},
	} {
		for lead := 0; lead < 160; lead += 23 {
			keys := "1123445#0*9DDA"
			pcm := make([]int16, lead)
			src := Sequence(keys, tt.on, tt.off, -20)
			f := make([]int16, 160)
			for src.ReadFrame(f) {
				pcm = append(pcm, f...)
			}
			pcm = append(pcm, make([]int16, 800)...)
			if got := detect(NewDetector(), pcm); got != keys {
				t.Errorf("on %v off %v lead %d: detected %q, want %q", tt.on, tt.off, lead, got, keys)
			}
		}
	}
}

// speech returns at least d of real speech from espeak-ng at 8 kHz, in
// several voices, speeds and pitches.
func speech(t *testing.T, d time.Duration) []int16 {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Fatal("espeak-ng is required by this test (apt-get install espeak-ng; make test installs it)")
	}
	en := `Thank you for calling. All of our agents are busy helping other customers. Please stay on the line
and your call will be answered in the order it was received. Did you know that you can manage your account
online, check the status of an order, or change your delivery address at any time of day or night?
The quick brown fox jumps over the lazy dog while seven hungry zebras watch from the yard.
One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen.
She sells sea shells by the sea shore, and the shells she sells are surely sea shells.
Peter Piper picked a peck of pickled peppers; how many pickled peppers did Peter Piper pick?
Our office is open Monday to Friday from nine in the morning until six in the evening.
Hello? Hello! Yes, I can hear you. Could you repeat the number please? Zero eight one five.`
	fr := `Merci de votre appel. Tous nos conseillers sont actuellement en ligne. Veuillez patienter,
votre appel sera traité dans l'ordre d'arrivée. Un, deux, trois, quatre, cinq, six, sept, huit, neuf, dix.
Les chaussettes de l'archiduchesse sont-elles sèches, archi-sèches? Bonjour madame, au revoir monsieur.
Nos bureaux sont ouverts du lundi au vendredi, de neuf heures à dix-huit heures. Quatre-vingt-dix-neuf.`
	de := `Vielen Dank für Ihren Anruf. Alle Mitarbeiter sind im Gespräch. Bitte bleiben Sie in der Leitung.
Eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, zehn. Fischers Fritz fischt frische Fische.`
	variants := []struct{ voice, text string }{
		{"en-us", en}, {"en-gb", en}, {"fr", fr}, {"de", de}, {"en-us+f3", en}, {"fr+f2", fr}, {"es", en}, {"en-us+m3", en},
	}
	var out []int16
	for i := 0; time.Duration(len(out))*time.Second/Rate < d; i++ {
		v := variants[i%len(variants)]
		speed := 120 + (i*37)%120 // words per minute
		pitch := (i * 29) % 100
		cmd := exec.Command("espeak-ng", "-v", v.voice, "-s", itoa(speed), "-p", itoa(pitch), "--stdout", strings.ReplaceAll(v.text, "\n", " "))
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("espeak-ng -v %s: %v", v.voice, err)
		}
		pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("espeak-ng output: %v", err)
		}
		r := resample.New(f.Rate, Rate)
		pcm8 := r.Flush(r.Process(nil, pcm))
		// Vary the level too: loud and quiet talkers.
		g := []float64{1, 2.5, 0.4, 1.6}[i%4]
		for j, s := range pcm8 {
			pcm8[j] = int16(max(-32768, min(32767, float64(s)*g)))
		}
		out = append(out, pcm8...)
	}
	return out
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// TestTalkOff feeds ten minutes of speech: no digit may be detected.
func TestTalkOff(t *testing.T) {
	pcm := speech(t, 10*time.Minute)
	d := NewDetector()
	var got []byte
	for i := 0; i+160 <= len(pcm); i += 160 {
		got = append(got, d.Feed(pcm[i:i+160])...)
	}
	dur := time.Duration(len(pcm)) * time.Second / Rate
	t.Logf("talk-off: %d false detections in %v of speech (%q); %d single blocks looked like a key", len(got), dur.Round(time.Second), got, d.blockHits)
	if len(got) != 0 {
		t.Errorf("speech gave %d false digits %q, want 0", len(got), got)
	}
}

func TestNoAllocs(t *testing.T) {
	d := NewDetector()
	var pcm []int16
	src := Sequence("159", 60*time.Millisecond, 60*time.Millisecond, -10)
	f := make([]int16, 160)
	for src.ReadFrame(f) {
		pcm = append(pcm, f...)
	}
	i := 0
	if n := testing.AllocsPerRun(500, func() {
		d.Feed(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	}); n != 0 {
		t.Errorf("Feed allocates %.1f times per frame", n)
	}
}

func TestGeneratorLevel(t *testing.T) {
	src := Tones('5', 100*time.Millisecond, 50*time.Millisecond, -10)
	var pcm []int16
	f := make([]int16, 160)
	for src.ReadFrame(f) {
		pcm = append(pcm, f...)
	}
	if len(pcm) != 1280 { // 150 ms, padded to whole frames
		t.Errorf("%d samples, want 1280", len(pcm))
	}
	g := newGoertzel(770)
	b := make([]float32, 800)
	for i := range b {
		b[i] = float32(pcm[i])
	}
	amp := math.Sqrt(float64(g.power(b)) * 2 / 800)
	if db := 20*math.Log10(amp/tone.Amplitude(0)) - 0; math.Abs(db+10) > 0.3 {
		t.Errorf("770 Hz at %.1f dBm0, want −10", db)
	}
	for _, s := range pcm[800:] {
		if s != 0 {
			t.Fatal("silence after the tone is not silent")
		}
	}
}

// BenchmarkFeed measures the detector on one 20 ms frame holding a digit.
func BenchmarkFeed(b *testing.B) {
	d := NewDetector()
	var pcm []int16
	src := Sequence("159#", 60*time.Millisecond, 60*time.Millisecond, -10)
	f := make([]int16, 160)
	for src.ReadFrame(f) {
		pcm = append(pcm, f...)
	}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		d.Feed(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	}
}
