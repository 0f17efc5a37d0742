package cpt

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"ringbox/audio/resample"
	"ringbox/audio/tone"
	"ringbox/audio/wav"
)

// render plays src for d, scaled by gain dB, with white noise snr dB
// below the tone's mean power over its on parts (snr 0: none).
func render(t testing.TB, rng *rand.Rand, zone string, k tone.Kind, d time.Duration, gain, snr float64) []int16 {
	t.Helper()
	s, err := tone.Zone(zone)
	if err != nil {
		t.Fatal(err)
	}
	src := s.Source(k, rate)
	n := int(d / frameDur)
	out := make([]int16, 0, n*frameLen)
	f := make([]int16, frameLen)
	g := math.Pow(10, gain/20)
	sigma := 0.0
	if snr != 0 {
		// Each frequency is at tone.Level; two-tone plans have twice the power.
		parts, _ := s.Cadence(k)
		nf := 1
		for _, p := range parts {
			nf = max(nf, len(p.Freqs))
		}
		a := tone.Amplitude(tone.Level) * g
		sigma = math.Sqrt(float64(nf) * a * a / 2 / math.Pow(10, snr/10))
	}
	for range n {
		if !src.ReadFrame(f) {
			clear(f)
		}
		for i, v := range f {
			x := float64(v) * g
			if sigma > 0 {
				x += sigma * rng.NormFloat64()
			}
			f[i] = int16(max(-32768, min(32767, math.Round(x))))
		}
		out = append(out, f...)
	}
	return out
}

// run feeds pcm and returns the tone after each frame.
func run(d *Detector, pcm []int16) []Tone {
	var got []Tone
	for i := 0; i+frameLen <= len(pcm); i += frameLen {
		got = append(got, d.Feed(pcm[i:i+frameLen]))
	}
	return got
}

// first returns when t was first reported, or -1.
func first(got []Tone, t Tone) time.Duration {
	for i, g := range got {
		if g == t {
			return time.Duration(i+1) * frameDur
		}
	}
	return -1
}

// sameCadence reports whether two tones have the same on/off durations,
// one a repetition of the other (au congestion: busy's cadence twice,
// alternating between 425 and 420 Hz).
func sameCadence(a, b []tone.Part) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) == 0 || len(b)%len(a) != 0 {
		return false
	}
	for i := range b {
		if a[i%len(a)].Dur != b[i].Dur || (a[i%len(a)].Freqs == nil) != (b[i].Freqs == nil) {
			return false
		}
	}
	return true
}

// TestBusyCongestion: for every zone, busy and congestion are recognised
// within 2 s of their start, at the nominal level, at -25 dBm0 and with
// 20 dB SNR noise, and never taken for dial tone.
func TestBusyCongestion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, z := range tone.Zones() {
		s, _ := tone.Zone(z)
		bc, _ := s.Cadence(tone.Busy)
		cc, _ := s.Cadence(tone.Congestion)
		for _, k := range []tone.Kind{tone.Busy, tone.Congestion} {
			want := Busy
			if k == tone.Congestion && !sameCadence(bc, cc) {
				want = Congestion
			}
			for _, c := range []struct {
				name      string
				gain, snr float64
			}{{"-13 dBm0", 0, 0}, {"-25 dBm0", -12, 0}, {"20 dB SNR", 0, 20}, {"-25 dBm0 20 dB SNR", -12, 20}} {
				d, err := New(z)
				if err != nil {
					t.Fatal(err)
				}
				got := run(d, render(t, rng, z, k, 4*time.Second, c.gain, c.snr))
				at := first(got, want)
				if at < 0 || at > 2*time.Second {
					t.Errorf("%s %v at %s: %v after %v (first at %v), want within 2s; sequence %v", z, k, c.name, got[99], 2*time.Second, at, compact(got))
				}
				if got[len(got)-1] != want {
					t.Errorf("%s %v at %s: %v after 4s, want %v; sequence %v", z, k, c.name, got[len(got)-1], want, compact(got))
				}
				if at := first(got, Dial); at >= 0 {
					t.Errorf("%s %v at %s: dial tone reported at %v", z, k, c.name, at)
				}
			}
		}
	}
}

// compact shows a sequence of results as "tone@time" changes.
func compact(got []Tone) string {
	var b strings.Builder
	prev := Tone(-1)
	for i, g := range got {
		if g != prev {
			b.WriteString(" " + g.String() + "@" + (time.Duration(i+1) * frameDur).String())
			prev = g
		}
	}
	return b.String()
}

// TestDialRingback: dial tone (and stutter dial tone) is recognised, and
// so is ringback; neither is taken for busy or congestion.
func TestDialRingback(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, z := range tone.Zones() {
		for _, c := range []struct {
			k     tone.Kind
			want  Tone
			d     time.Duration // recognised within
			total time.Duration
		}{
			{tone.Dial, Dial, 2500 * time.Millisecond, 4 * time.Second},
			{tone.Stutter, Dial, 2500 * time.Millisecond, 4 * time.Second},
			{tone.Ringback, Ringback, 2500 * time.Millisecond, 8 * time.Second},
		} {
			if z == "it" && c.k == tone.Stutter {
				continue // 470 and 425 Hz alternating, no dial tone in it
			}
			d, _ := New(z)
			got := run(d, render(t, rng, z, c.k, c.total, 0, 30))
			if at := first(got, c.want); at < 0 || at > c.d {
				t.Errorf("%s %v: %v first at %v, want within %v; sequence %v", z, c.k, c.want, at, c.d, compact(got))
			}
			for _, bad := range []Tone{Busy, Congestion} {
				if z == "es" && c.k == tone.Stutter && bad == Busy {
					// es stutter starts with three 200/200 ms bursts,
					// the cadence of es busy tone.
					continue
				}
				if at := first(got, bad); at >= 0 {
					t.Errorf("%s %v: %v reported at %v; sequence %v", z, c.k, bad, at, compact(got))
				}
			}
		}
	}
}

// TestDialNotBusy: in zones whose busy tone has dial tone's frequency, a
// dial tone is reported only when it lasted longer than a busy burst.
func TestDialTiming(t *testing.T) {
	for _, tt := range []struct {
		zone string
		want time.Duration
	}{
		{"us", 300 * time.Millisecond},
		{"de", 620 * time.Millisecond}, // 425 Hz busy bursts last 480 ms
	} {
		d, _ := New(tt.zone)
		got := run(d, render(t, nil, tt.zone, tone.Dial, time.Second, 0, 0))
		if at := first(got, Dial); at != tt.want {
			t.Errorf("%s: dial tone reported at %v, want %v", tt.zone, at, tt.want)
		}
	}
}

// TestEnds: an established tone goes back to None once the line is
// silent for longer than the tone's off parts.
func TestEnds(t *testing.T) {
	d, _ := New("us")
	pcm := render(t, nil, "us", tone.Busy, 3*time.Second, 0, 0)
	pcm = append(pcm, make([]int16, 2*rate)...)
	got := run(d, pcm)
	if got[149] != Busy || got[len(got)-1] != None {
		t.Errorf("busy then 2 s silence: %v at 3s, %v at the end, want busy then none; %v", got[149], got[len(got)-1], compact(got))
	}
	d.Reset()
	if got := d.Feed(make([]int16, frameLen)); got != None {
		t.Errorf("after Reset: %v, want none", got)
	}
}

func TestLevel(t *testing.T) {
	for _, l := range []float64{-10, -13, -30} {
		f := make([]int16, frameLen)
		a := tone.Amplitude(l)
		for i := range f {
			f[i] = int16(math.Round(a * math.Sin(2*math.Pi*1000*float64(i)/rate)))
		}
		if got := Level(f); math.Abs(got-l) > 0.1 {
			t.Errorf("Level(sine at %g dBm0) = %.2f", l, got)
		}
	}
	if got := Level(make([]int16, frameLen)); !math.IsInf(got, -1) {
		t.Errorf("Level(silence) = %v, want -Inf", got)
	}
}

func TestNew(t *testing.T) {
	if _, err := New("atlantis"); err == nil {
		t.Error("New(unknown zone) succeeded")
	}
}

var (
	speechOnce sync.Once
	speechPCM  []int16
	speechErr  string
)

// corpus renders the speech once per test binary.
func corpus(t *testing.T) []int16 {
	speechOnce.Do(func() { speechPCM, speechErr = speech(3*time.Minute + 10*time.Second) })
	if speechErr != "" {
		t.Fatal(speechErr)
	}
	return speechPCM
}

// TestTalkOff: over three minutes of speech in several voices, no zone's
// detector reports busy, congestion or dial tone.
func TestTalkOff(t *testing.T) {
	pcm := corpus(t)
	t.Logf("%v of speech", time.Duration(len(pcm))*time.Second/rate)
	if len(pcm) < 3*60*rate {
		t.Fatalf("only %d samples of speech", len(pcm))
	}
	for _, z := range tone.Zones() {
		d, _ := New(z)
		got := run(d, pcm)
		for _, bad := range []Tone{Dial, Busy, Congestion} {
			if at := first(got, bad); at >= 0 {
				t.Errorf("%s: speech gave %v at %v", z, bad, at)
			}
		}
		if at := first(got, Ringback); at >= 0 {
			t.Logf("%s: speech gave ringback at %v", z, at)
		}
	}
}

// TestSpeechThenBusy: the far end talks, hangs up, and the exchange
// plays busy tone: recognised within 2 s of the tone's start, as on a
// quiet line.
func TestSpeechThenBusy(t *testing.T) {
	talk := corpus(t)[:20*rate]
	for _, z := range []string{"us", "uk", "de", "es"} {
		d, _ := New(z)
		got := run(d, append(append([]int16{}, talk...), render(t, nil, z, tone.Busy, 3*time.Second, 0, 0)...))
		after := got[len(talk)/frameLen:]
		if at := first(after, Busy); at < 0 || at > 2*time.Second {
			t.Errorf("%s: busy after speech first at %v, want within 2s; %v", z, at, compact(after))
		}
	}
}

// TestMusic: chords of sines whose pitch glides from one chord to the
// next, with vibrato and rests, and a lone whistle gliding up and down,
// are no tone. (A chord holding exactly a dial tone's two frequencies for
// 300 ms would be dial tone: the pitch here never stands still that long.)
func TestMusic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n := 60 * rate
	pcm := make([]int16, 0, n+20*rate)
	var ph [4]float64
	from, to := 220.0, 220.0
	a := tone.Amplitude(-15)
	for i := range n {
		if i%(rate/2) == 0 { // a new chord every 500 ms
			// The next chord is 3 to 12 semitones away, up or down.
			step := float64(3+rng.IntN(10)) * float64(1-2*rng.IntN(2))
			next := to * math.Pow(2, step/12)
			if next < 150 || next > 900 {
				next = to * math.Pow(2, -step/12)
			}
			from, to = to, next
		}
		// Portamento: the root glides to the next over the 500 ms.
		x := float64(i%(rate/2)) / (rate / 2)
		base := from * math.Pow(to/from, x)
		var v float64
		for k := range ph {
			f := base * math.Pow(2, float64([4]int{0, 4, 7, 12}[k])/12)
			f *= 1 + 0.01*math.Sin(2*math.Pi*5*float64(i)/rate) // vibrato
			ph[k] += 2 * math.Pi * f / rate
			v += math.Sin(ph[k]) / float64(k+1)
		}
		if i%(rate/2) > rate*2/5 { // 100 ms rests
			v = 0
		}
		pcm = append(pcm, int16(a*v))
	}
	// A lone whistle gliding 300-700 Hz in 500 ms notes and rests.
	for i := range 20 * rate {
		f := 300 + 400*math.Abs(math.Sin(2*math.Pi*0.05*float64(i)/rate))
		ph[0] += 2 * math.Pi * f / rate
		v := 0.0
		if i%rate < rate/2 {
			v = a * math.Sin(ph[0])
		}
		pcm = append(pcm, int16(v))
	}
	for _, z := range tone.Zones() {
		d, _ := New(z)
		got := run(d, pcm)
		for _, bad := range []Tone{Dial, Busy, Congestion} {
			if at := first(got, bad); at >= 0 {
				t.Errorf("%s: music gave %v at %v", z, bad, at)
			}
		}
	}
}

func TestNoAllocs(t *testing.T) {
	d, _ := New("uk")
	pcm := render(t, rand.New(rand.NewPCG(1, 1)), "uk", tone.Congestion, 3*time.Second, 0, 20)
	i := 0
	if n := testing.AllocsPerRun(300, func() {
		d.Feed(pcm[i : i+frameLen])
		i = (i + frameLen) % len(pcm)
	}); n != 0 {
		t.Errorf("Feed allocates %.1f times per frame", n)
	}
}

// speech returns at least d of real speech from espeak-ng at 8 kHz, in
// several voices, speeds and pitches (copied from audio/dtmf's tests),
// or why it could not.
func speech(d time.Duration) ([]int16, string) {
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		return nil, "espeak-ng is required by this test (apt-get install espeak-ng; make test installs it)"
	}
	en := `Thank you for calling. All of our agents are busy helping other customers. Please stay on the line
and your call will be answered in the order it was received. Did you know that you can manage your account
online, check the status of an order, or change your delivery address at any time of day or night?
The quick brown fox jumps over the lazy dog while seven hungry zebras watch from the yard.
One, two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, thirteen, fourteen.
Hello? Hello! Yes, I can hear you. Could you repeat the number please? Zero eight one five.
Mmmm, hmmm, aaah, ooooh. Nooo, I said noooo. Weeeell, sooo, uhhhh.`
	fr := `Merci de votre appel. Tous nos conseillers sont actuellement en ligne. Veuillez patienter,
votre appel sera traité dans l'ordre d'arrivée. Un, deux, trois, quatre, cinq, six, sept, huit, neuf, dix.
Nos bureaux sont ouverts du lundi au vendredi, de neuf heures à dix-huit heures. Quatre-vingt-dix-neuf.`
	de := `Vielen Dank für Ihren Anruf. Alle Mitarbeiter sind im Gespräch. Bitte bleiben Sie in der Leitung.
Eins, zwei, drei, vier, fünf, sechs, sieben, acht, neun, zehn. Fischers Fritz fischt frische Fische.`
	variants := []struct{ voice, text string }{
		{"en-us", en}, {"en-gb", en}, {"fr", fr}, {"de", de}, {"en-us+f3", en}, {"fr+f2", fr}, {"es", en}, {"en-us+m3", en},
	}
	var out []int16
	for i := 0; time.Duration(len(out))*time.Second/rate < d; i++ {
		v := variants[i%len(variants)]
		speed := 120 + (i*37)%120 // words per minute
		pitch := (i * 29) % 100
		cmd := exec.Command("espeak-ng", "-v", v.voice, "-s", itoa(speed), "-p", itoa(pitch), "--stdout", strings.ReplaceAll(v.text, "\n", " "))
		b, err := cmd.Output()
		if err != nil {
			return nil, "espeak-ng -v " + v.voice + ": " + err.Error()
		}
		pcm, f, err := wav.DecodeMono(bytes.NewReader(b), 0)
		if err != nil {
			return nil, "espeak-ng output: " + err.Error()
		}
		r := resample.New(f.Rate, rate)
		pcm8 := r.Flush(r.Process(nil, pcm))
		// Vary the level too: loud and quiet talkers.
		g := []float64{1, 2.5, 0.4, 1.6}[i%4]
		for j, s := range pcm8 {
			pcm8[j] = int16(max(-32768, min(32767, float64(s)*g)))
		}
		out = append(out, pcm8...)
	}
	return out, ""
}

func itoa(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// FuzzFeed feeds arbitrary line audio in frames of any length: no panic,
// and only the tones there are.
func FuzzFeed(f *testing.F) {
	f.Add([]byte{0, 0x80, 0xff, 0x7f}, uint8(160), uint8(0))
	f.Add(make([]byte, 640), uint8(1), uint8(3))
	zones := tone.Zones()
	f.Fuzz(func(t *testing.T, b []byte, frame, zone uint8) {
		pcm := make([]int16, len(b)/2)
		for i := range pcm {
			pcm[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
		}
		d, err := New(zones[int(zone)%len(zones)])
		if err != nil {
			t.Fatal(err)
		}
		n := max(1, int(frame))
		for i := 0; i < len(pcm); i += n {
			if got := d.Feed(pcm[i:min(i+n, len(pcm))]); got < None || got > Ringback {
				t.Fatalf("Feed = %v", got)
			}
		}
	})
}
