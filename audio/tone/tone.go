// Package tone renders the call-progress tones of a country's tone zone:
// dial, ringback, busy, congestion, call waiting, confirmation and stutter
// dial tone, plus the ring cadence an FXS port uses.
//
// Each tone is rendered to PCM once per zone, kind and rate and cached; a
// [Source] playing it only indexes into that shared buffer, so thousands
// of callers hearing ringback cost no allocation and almost no CPU.
//
// # Levels
//
// Levels are in dBm0 as G.711 defines them for 16-bit linear PCM: the
// largest sine G.711 µ-law can carry is +3.17 dBm0, so a 0 dBm0 sine has a
// peak of 32767·10^(−3.17/20) ≈ 22748 ([Amplitude]). Every frequency of a
// tone is at −13 dBm0 (peak ≈ 5095), the usual level for dial tone (ANSI
// T1.401, ITU-T E.180 gives −10 to −24 dBm0).
//
// # Cadence
//
// Tone plans use the dahdi zonedata.c notation (see zones.go). Frequencies
// are whole hertz, and a steady tone is rendered over a whole number of
// periods of every frequency, so it loops with continuous phase. Every
// burst starts and ends with a 2 ms raised-cosine ramp, so there are no
// clicks, and that ramp is inside the burst's nominal duration.
package tone

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/call"
)

// Kind is a call-progress tone.
type Kind int

// Tones every zone has.
const (
	Dial        Kind = iota // steady (or zone-specific) dial tone
	Ringback                // the far end is ringing
	Busy                    // the far end is busy
	Congestion              // no route, no trunk: reorder / fast busy
	CallWaiting             // another call is waiting (heard during a call)
	Confirm                 // three short beeps, once: a feature code worked
	Stutter                 // stuttered dial tone: voicemail is waiting
	numKinds
)

var kindNames = [...]string{"dial", "ringback", "busy", "congestion", "call-waiting", "confirm", "stutter"}

func (k Kind) String() string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Level is the level of each frequency of a tone, in dBm0.
const Level = -13.0

// Amplitude is the peak 16-bit sample value of a sine at the given level in
// dBm0 (G.711: a 0 dBm0 sine peaks 3.17 dB below full scale).
func Amplitude(dBm0 float64) float64 {
	return 32767 * math.Pow(10, (dBm0-3.17)/20)
}

// ErrUnknownZone is returned by Zone for a name with no tone plan.
var ErrUnknownZone = errors.New("unknown tone zone")

// Set is the tones of one zone. It is safe for concurrent use.
type Set struct {
	name string
	plan zonePlan
	segs [numKinds][]segment

	mu       sync.Mutex // protects following
	rendered map[renderKey]*rendered
}

type renderKey struct {
	kind Kind
	rate int
}

// rendered is one tone at one rate: intro plays once, then loop repeats
// (nil loop: the tone ends after intro).
type rendered struct {
	intro, loop []int16
}

var (
	zonesMu sync.Mutex
	zones   = map[string]*Set{}
)

// Zones lists the zone names Zone knows, sorted.
func Zones() []string {
	names := make([]string, 0, len(plans))
	for n := range plans {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Zone returns the tone set of a zone ("us", "ca", "uk", "de", "fr", "nl", "au",
// "jp", "it", "es"). Sets are shared: asking twice gives the same *Set.
func Zone(name string) (*Set, error) {
	zonesMu.Lock()
	defer zonesMu.Unlock()
	if s, ok := zones[name]; ok {
		return s, nil
	}
	p, ok := plans[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownZone, name, strings.Join(Zones(), ", "))
	}
	s := &Set{name: name, plan: p, rendered: map[renderKey]*rendered{}}
	for k := range numKinds {
		segs, err := parse(p.tones[k])
		if err != nil {
			return nil, fmt.Errorf("tone zone %s %v: %w", name, k, err)
		}
		s.segs[k] = segs
	}
	zones[name] = s
	return s, nil
}

// Name is the zone's name.
func (s *Set) Name() string { return s.name }

// RingCadence is the FXS ring cadence: on, off, on, off… repeating.
func (s *Set) RingCadence() []time.Duration { return slices.Clone(s.plan.ring) }

// Cadence returns the on/off pattern of a tone: the durations of its parts
// in order, with the frequencies of each (nil for silence), and whether the
// pattern repeats. A part with duration 0 lasts for ever.
func (s *Set) Cadence(k Kind) (parts []Part, repeats bool) {
	for _, sg := range s.segs[k] {
		parts = append(parts, Part{Freqs: slices.Clone(sg.freqs), Mod: sg.mod, Dur: sg.dur, Once: sg.once})
		if !sg.once {
			repeats = true
		}
	}
	return parts, repeats
}

// Part is one step of a tone's cadence.
type Part struct {
	Freqs []float64     // summed sines; nil: silence
	Mod   float64       // when non-zero, Freqs[0] amplitude-modulated at Mod Hz
	Dur   time.Duration // 0: for ever
	Once  bool          // played only the first time round
}

// Source returns a call.Source playing tone k at rate Hz (8000 or 16000,
// any rate works) for ever, or to its end for a tone that does not repeat
// (Confirm). Frames are filled from a buffer rendered once and shared.
func (s *Set) Source(k Kind, rate int) call.Source {
	if k < 0 || k >= numKinds || rate <= 0 {
		return &player{}
	}
	return &player{r: s.render(k, rate)}
}

func (s *Set) render(k Kind, rate int) *rendered {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := renderKey{k, rate}
	if r, ok := s.rendered[key]; ok {
		return r
	}
	r := renderSegs(s.segs[k], rate)
	s.rendered[key] = r
	return r
}

type player struct {
	r       *rendered
	pos     int
	inLoop  bool
	stopped bool
}

// ReadFrame fills f with the next samples of the tone.
func (p *player) ReadFrame(f []int16) bool {
	if p.r == nil || p.stopped {
		return false
	}
	for n := 0; n < len(f); {
		src := p.r.intro
		if p.inLoop {
			src = p.r.loop
		}
		if p.pos >= len(src) {
			if p.r.loop == nil {
				if n == 0 {
					p.stopped = true
					return false
				}
				clear(f[n:])
				p.stopped = true
				return true
			}
			p.inLoop, p.pos = true, 0
			continue
		}
		c := copy(f[n:], src[p.pos:])
		n += c
		p.pos += c
	}
	return true
}

type segment struct {
	freqs []float64
	mod   float64
	dur   time.Duration // 0: for ever
	once  bool
}

// parse reads a zonedata-style tone plan.
func parse(plan string) ([]segment, error) {
	if plan == "" {
		return nil, errors.New("empty tone plan")
	}
	var segs []segment
	for part := range strings.SplitSeq(plan, ",") {
		var sg segment
		if strings.HasPrefix(part, "!") {
			sg.once, part = true, part[1:]
		}
		fs, d, hasDur := strings.Cut(part, "/")
		if hasDur {
			n, err := strconv.Atoi(d)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("bad duration in %q", part)
			}
			sg.dur = time.Duration(n) * time.Millisecond
		}
		if a, m, ok := strings.Cut(fs, "*"); ok {
			f, err1 := strconv.Atoi(a)
			mf, err2 := strconv.Atoi(m)
			if err1 != nil || err2 != nil || f <= 0 || mf <= 0 {
				return nil, fmt.Errorf("bad modulated tone %q", part)
			}
			sg.freqs, sg.mod = []float64{float64(f)}, float64(mf)
		} else if fs != "0" {
			for x := range strings.SplitSeq(fs, "+") {
				f, err := strconv.Atoi(x)
				if err != nil || f <= 0 {
					return nil, fmt.Errorf("bad frequency in %q", part)
				}
				sg.freqs = append(sg.freqs, float64(f))
			}
		}
		if !hasDur && len(segs) > 0 && !segs[len(segs)-1].once {
			return nil, fmt.Errorf("steady part %q must come after the once-only parts or alone", part)
		}
		segs = append(segs, sg)
	}
	return segs, nil
}

const rampTime = 2 * time.Millisecond

// renderSegs renders the once-only parts into intro and the rest into loop.
// A steady part (no duration) becomes a loop of whole periods.
func renderSegs(segs []segment, rate int) *rendered {
	r := &rendered{}
	amp := Amplitude(Level)
	var phase []float64 // per frequency, continuous across parts
	var modPhase float64
	samples := func(d time.Duration) int { return int(int64(rate) * int64(d) / int64(time.Second)) }
	emit := func(dst []int16, sg segment, n int, ramp bool) []int16 {
		if len(sg.freqs) == 0 {
			return append(dst, make([]int16, n)...)
		}
		for len(phase) < len(sg.freqs) {
			phase = append(phase, 0)
		}
		rn := samples(rampTime)
		for i := range n {
			var v float64
			for j, f := range sg.freqs {
				v += math.Sin(phase[j])
				phase[j] = math.Mod(phase[j]+2*math.Pi*f/float64(rate), 2*math.Pi)
			}
			if sg.mod > 0 {
				// Full-depth AM: the envelope swings 0..1 at the modulation rate.
				v *= 0.5 * (1 - math.Cos(modPhase))
				modPhase = math.Mod(modPhase+2*math.Pi*sg.mod/float64(rate), 2*math.Pi)
			}
			if ramp && rn > 0 {
				if i < rn {
					v *= 0.5 * (1 - math.Cos(math.Pi*float64(i)/float64(rn)))
				} else if n-1-i < rn {
					v *= 0.5 * (1 - math.Cos(math.Pi*float64(n-1-i)/float64(rn)))
				}
			}
			dst = append(dst, int16(math.Round(v*amp)))
		}
		return dst
	}
	for i, sg := range segs {
		switch {
		case sg.dur == 0: // steady: loop whole periods, no ramps
			phase, modPhase = nil, 0
			r.loop = emit(nil, sg, periodSamples(sg, rate), false)
			return r
		case sg.once:
			r.intro = emit(r.intro, sg, samples(sg.dur), true)
		default:
			// A burst followed (cyclically) by another burst of the same
			// tone keeps its phase and skips the ramp between them.
			next := segs[i+1:]
			cont := len(next) > 0 && len(next[0].freqs) > 0
			r.loop = emit(r.loop, sg, samples(sg.dur), !cont)
		}
	}
	return r // only once-parts: loop is nil and the tone ends
}

// periodSamples is the shortest length holding a whole number of periods
// of every frequency of sg at rate (frequencies are whole hertz).
func periodSamples(sg segment, rate int) int {
	n := 1
	fs := slices.Clone(sg.freqs)
	if sg.mod > 0 {
		fs = append(fs, sg.mod)
	}
	for _, f := range fs {
		p := rate / gcd(rate, int(f))
		n = n / gcd(n, p) * p
	}
	// Make frames cheaper to fill: at least 100 ms.
	for n < rate/10 {
		n *= 2
	}
	return n
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
