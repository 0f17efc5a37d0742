// Package cpt recognises call-progress tones (dial, busy, congestion,
// ringback) in the audio of an FXO line, so the FXO engine knows when the
// exchange gave dial tone, when the far end rings and when it hung up.
//
// # Tone energy
//
// Each 20 ms frame (160 samples) is measured with the Goertzel algorithm
// at every frequency of the zone's tones (from audio/tone's plans).
// Frequencies closer than 30 Hz cannot be told apart in 20 ms (the bins
// are 50 Hz wide), so they form one group (au: 413, 420, 425 and 438 Hz)
// whose power is that of its strongest member. A frame holds a tone when
// its frequency groups together carry at least 60% of the frame's energy,
// every group of the tone is within 6 dB of the strongest, and the tone
// is above -35 dBm0. Speech and music spread their energy over many
// frequencies and fail the first test.
//
// # Cadence
//
// Consecutive frames of one tone make a burst. A burst's length is
// measured to a fraction of a frame: the frames at its ends count by
// their power relative to the mean of the frames between them.
//
//   - Dial: a dial (or stutter dial) tone steady for 300 ms, or for longer
//     than a busy or congestion burst of the same frequencies could last
//     (1.2 times its on part) where the zone has one (de: 600 ms), so the
//     first burst of busy tone is never taken for dial tone. A dial or
//     stutter tone with a cadence (it dial, au and nl stutter) is
//     recognised by its cadence, as busy is. Stutter tones that change
//     frequency without a gap are dial tone in their dial-tone parts
//     only (uk); it stutter (470 and 425 Hz alternating) is not
//     recognised.
//   - Busy, Congestion: at least 2 on/off pairs in a row matching the
//     zone's cadence within ±20% (±10 ms), the last off recognised as soon
//     as it has lasted its shortest (80%); the tone with the longest run
//     of matching pairs wins, then the closer one. Tones a zone gives the
//     same cadence (jp, au) report Busy.
//   - Ringback: one burst of the zone's ringback frequencies as long as
//     a ringback on part (±20%), and closer to it than to any busy or
//     congestion on part.
//
// A tone stays established until another is, or until the line has had
// none of it for longer than its longest off part allows.
package cpt

import (
	"fmt"
	"math"
	"slices"
	"time"

	"ringbox/audio/tone"
)

// Tone is a recognised call-progress tone.
type Tone int

const (
	None Tone = iota
	Dial
	Busy
	Congestion
	Ringback
)

func (t Tone) String() string {
	switch t {
	case None:
		return "none"
	case Dial:
		return "dial"
	case Busy:
		return "busy"
	case Congestion:
		return "congestion"
	case Ringback:
		return "ringback"
	}
	return fmt.Sprintf("tone(%d)", int(t))
}

// Detection parameters; see the package comment.
const (
	rate         = 8000
	frameLen     = rate / 50
	frameDur     = 20 * time.Millisecond
	groupSpacing = 30.0  // Hz: closer frequencies form one group
	toneShare    = 0.60  // of the frame's energy in the tone's groups
	maxTwist     = 0.25  // weakest group at least -6 dB from the strongest
	extraGroup   = 0.3   // share a tone's each extra frequency group must add
	minLevel     = -35.0 // dBm0, the whole tone
	tolerance    = 0.20  // cadence match, relative
	slack        = 0.5   // frames of measurement error allowed on top
	dialMinimum  = 15    // frames (300 ms)
	historyLen   = 8     // bursts remembered
)

// pair is one on/off step of a cadence, in frames.
type pair struct {
	set     int // index into Detector.sets
	on, off float64
}

// pattern is a cadenced tone of the zone.
type pattern struct {
	kind  Tone
	pairs []pair
}

// burst is a run of frames holding one tone.
type burst struct {
	set       int
	start, on float64 // frames
}

// Detector recognises the call-progress tones of one zone in a stream of
// 20 ms frames. It is not safe for concurrent use; use one per line.
type Detector struct {
	// Zone tables, built by New.
	coefs     []float64 // Goertzel coefficient per frequency
	groupOf   []int     // frequency -> group
	sets      [][]int   // distinct tones: their groups
	dialSet   []bool    // per set: a dial or stutter tone
	dialMin   int       // frames a steady dial tone needs
	patterns  []pattern // busy, congestion, cadenced dial
	ringOn    []pair    // ringback on parts (off unused)
	otherOn   []pair    // busy and congestion on parts, to tell ringback apart
	timeout   [5]float64
	minEnergy float64

	// Per frame scratch.
	groupPow []float64

	// State.
	frame      int64 // frames seen
	cur        int   // set of the burst in progress, -1: none
	curStart   int64
	curN       int
	curSum     float64
	curLast    float64
	curPowered int  // frames of the burst that held the tone (curN: and bridged gaps)
	gap        bool // the last frame lacked the burst's tone
	dialRun    int  // frames of dial tone running
	curFirst   float64
	hist       [historyLen]burst // ring, newest at histN-1
	histN      int
	lastOn     int64 // last frame holding any tone
	state      Tone
}

// New builds a detector for a tone zone (an audio/tone zone name).
func New(zone string) (*Detector, error) {
	s, err := tone.Zone(zone)
	if err != nil {
		return nil, fmt.Errorf("cpt: %w", err)
	}
	d := &Detector{}
	kinds := []tone.Kind{tone.Dial, tone.Stutter, tone.Busy, tone.Congestion, tone.Ringback}
	var freqs []float64
	for _, k := range kinds {
		parts, _ := s.Cadence(k)
		for _, p := range parts {
			for _, f := range p.Freqs {
				if !slices.Contains(freqs, f) {
					freqs = append(freqs, f)
				}
			}
		}
	}
	slices.Sort(freqs)
	group := 0
	for i, f := range freqs {
		if i > 0 && f-freqs[i-1] >= groupSpacing {
			group++
		}
		d.coefs = append(d.coefs, 2*math.Cos(2*math.Pi*f/rate))
		d.groupOf = append(d.groupOf, group)
	}
	d.groupPow = make([]float64, group+1)
	setOf := func(fs []float64) int {
		var g []int
		for _, f := range fs {
			gi := d.groupOf[slices.Index(freqs, f)]
			if !slices.Contains(g, gi) {
				g = append(g, gi)
			}
		}
		slices.Sort(g)
		for i, s := range d.sets {
			if slices.Equal(s, g) {
				return i
			}
		}
		d.sets = append(d.sets, g)
		d.dialSet = append(d.dialSet, false)
		return len(d.sets) - 1
	}
	frames := func(t time.Duration) float64 { return float64(t) / float64(frameDur) }

	for _, k := range kinds {
		parts, _ := s.Cadence(k)
		var pairs []pair
		steady := false
		for i, p := range parts {
			if p.Freqs == nil || p.Once {
				continue
			}
			set := setOf(p.Freqs)
			if p.Dur == 0 {
				steady = true
				if k == tone.Dial || k == tone.Stutter {
					d.dialSet[set] = true
				}
				continue
			}
			// The off that follows this on part, if any (cyclically).
			var off time.Duration
			for j := 1; j < len(parts); j++ {
				q := parts[(i+j)%len(parts)]
				if q.Freqs != nil {
					break
				}
				off += q.Dur
			}
			if off == 0 {
				// On parts back to back (uk, it stutter): not a cadence.
				// Their single tones (uk 440 Hz, it 470 Hz) are not taken
				// for dial tone: a whistle would be.
				continue
			}
			pairs = append(pairs, pair{set, frames(p.Dur), frames(off)})
		}
		switch {
		case k == tone.Busy || k == tone.Congestion:
			kind := Busy
			if k == tone.Congestion {
				kind = Congestion
			}
			d.patterns = append(d.patterns, pattern{kind, pairs})
			for _, p := range pairs {
				d.otherOn = append(d.otherOn, p)
				d.timeout[kind] = max(d.timeout[kind], p.off)
			}
		case k == tone.Ringback:
			d.ringOn = append(d.ringOn, pairs...)
			for _, p := range pairs {
				d.timeout[Ringback] = max(d.timeout[Ringback], p.off)
			}
		case (k == tone.Dial || k == tone.Stutter) && !steady && len(pairs) > 0:
			d.patterns = append(d.patterns, pattern{Dial, pairs})
			for _, p := range pairs {
				d.timeout[Dial] = max(d.timeout[Dial], p.off)
			}
		}
	}
	d.dialMin = dialMinimum
	for _, p := range d.otherOn {
		if d.dialSet[p.set] {
			d.dialMin = max(d.dialMin, int(math.Ceil(p.on*(1+tolerance)+slack))+1)
		}
	}
	for k := range d.timeout {
		// Long enough to bridge the tone's longest off part.
		d.timeout[k] = d.timeout[k]*(1+tolerance) + 10
	}
	a := tone.Amplitude(minLevel)
	d.minEnergy = a * a / 2 * frameLen
	d.Reset()
	return d, nil
}

// Reset forgets everything heard.
func (d *Detector) Reset() {
	d.frame, d.cur, d.curN, d.histN, d.lastOn, d.dialRun, d.gap = 0, -1, 0, 0, 0, 0, false
	d.state = None
}

// Feed takes the next 20 ms frame (160 samples at 8 kHz) and returns the
// tone established so far (None when nothing is recognised).
func (d *Detector) Feed(frame []int16) Tone {
	set, p := d.classify(frame)
	fr := d.frame
	d.frame++
	if set >= 0 {
		d.lastOn = fr
	}
	switch {
	case set < 0 && d.cur >= 0 && !d.gap:
		// One frame without the tone does not end a burst yet: jp
		// ringback (400 Hz amplitude-modulated at 16 Hz) dips to nothing
		// 16 times a second. If the next frame has the tone again, this
		// one counts as on.
		d.gap = true
		return d.expire(fr)
	case d.gap:
		d.gap = false
		if set == d.cur {
			d.curN++
		}
	}
	if set >= 0 && d.cur >= 0 && set != d.cur && d.curN == 1 {
		// A burst's first frame, cut short by the tone's start, leaks
		// into neighbouring frequencies and may look like another tone:
		// the second frame says which it is.
		d.cur = set
	}
	if set != d.cur {
		if d.cur >= 0 {
			d.endBurst()
		}
		if set >= 0 {
			d.cur, d.curStart, d.curN, d.curPowered, d.curSum, d.curFirst = set, fr, 0, 0, 0, p
		}
	}
	if set >= 0 {
		d.curN++
		d.curPowered++
		d.curSum += p
		d.curLast = p
		if d.dialSet[set] {
			if d.dialRun++; d.dialRun >= d.dialMin {
				d.establish(Dial)
			}
		} else {
			d.dialRun = 0
		}
	} else {
		d.dialRun = 0
		d.matchCadence()
	}
	return d.expire(fr)
}

// expire drops an established tone the line has not had for longer than
// its cadence allows, and returns the tone established.
func (d *Detector) expire(fr int64) Tone {
	if d.state != None && d.state != Dial && float64(fr-d.lastOn) > d.timeout[d.state] {
		d.establish(None)
	}
	if d.state == Dial && (d.cur < 0 || !d.dialSet[d.cur]) && float64(fr-d.lastOn) > max(d.timeout[Dial], 25) {
		d.establish(None)
	}
	return d.state
}

func (d *Detector) establish(t Tone) {
	if d.state != t {
		d.state = t
	}
}

// classify returns the tone set the frame holds and its power, or -1.
func (d *Detector) classify(frame []int16) (int, float64) {
	var e float64
	for _, s := range frame {
		x := float64(s)
		e += x * x
	}
	if e < d.minEnergy {
		return -1, 0
	}
	clear(d.groupPow)
	for i, c := range d.coefs {
		var s1, s2 float64
		for _, s := range frame {
			s0 := float64(s) + c*s1 - s2
			s2, s1 = s1, s0
		}
		// 2|X|²/N: the energy a sine at this frequency puts in the frame.
		p := 2 * (s1*s1 + s2*s2 - c*s1*s2) / float64(len(frame))
		g := d.groupOf[i]
		d.groupPow[g] = max(d.groupPow[g], p)
	}
	best, bestP, bestShare := -1, 0.0, math.Inf(-1)
	for i, set := range d.sets {
		var sum, strongest, weakest float64
		weakest = math.Inf(1)
		for _, g := range set {
			p := d.groupPow[g]
			sum += p
			strongest, weakest = max(strongest, p), min(weakest, p)
		}
		share := sum / e
		if share < toneShare || sum < d.minEnergy || weakest < maxTwist*strongest {
			continue
		}
		// The burst in progress goes on while its tone is there: the
		// frame at a burst's end, with the tone cut short, leaks power
		// into neighbouring frequencies.
		if i == d.cur {
			return i, sum
		}
		// Each group beyond the first must earn its place: a tone with
		// more frequencies wins only if they explain clearly more of the
		// frame (uk ringback 400+450 over busy 400, not the reverse).
		score := share - extraGroup*float64(len(set)-1)
		if score > bestShare {
			best, bestP, bestShare = i, sum, score
		}
	}
	return best, bestP
}

// endBurst records the burst in progress and checks it for ringback.
func (d *Detector) endBurst() {
	// The end frames count by their power against the mean of the frames
	// between them (the mean, not the peak: two close frequencies beat,
	// 440+480 Hz at 40 Hz, and the frames' power swings with it).
	b := burst{set: d.cur, start: float64(d.curStart), on: float64(d.curN)}
	if d.curPowered >= 3 {
		mean := (d.curSum - d.curFirst - d.curLast) / float64(d.curPowered-2)
		head, tail := min(1, d.curFirst/mean), min(1, d.curLast/mean)
		b.start += 1 - head
		b.on = float64(d.curN-2) + head + tail
	}
	d.hist[d.histN%historyLen] = b
	d.histN++
	d.cur = -1
	if d.isRingback(b) {
		d.establish(Ringback)
	}
}

func within(got, want float64) bool {
	return math.Abs(got-want) <= want*tolerance+slack
}

func (d *Detector) isRingback(b burst) bool {
	best := math.Inf(1)
	for _, p := range d.ringOn {
		if p.set == b.set && within(b.on, p.on) {
			best = min(best, math.Abs(b.on-p.on)/p.on)
		}
	}
	if math.IsInf(best, 1) {
		return false
	}
	for _, p := range d.otherOn {
		if p.set == b.set && math.Abs(b.on-p.on)/p.on < best {
			return false
		}
	}
	return true
}

// matchCadence runs in the off part after a burst: it matches the recent
// on/off pairs, the current off included once it has lasted its shortest,
// against each cadenced tone at every phase.
func (d *Detector) matchCadence() {
	if d.histN < 2 {
		return
	}
	bestKind, bestRun, bestErr := None, 1, 0.0
	for _, pt := range d.patterns {
		L := len(pt.pairs)
		for phase := range L {
			run, errSum := 0, 0.0
			for j := 0; j < min(d.histN, historyLen); j++ {
				b := d.hist[(d.histN-1-j)%historyLen]
				var off float64
				if j == 0 {
					off = float64(d.frame) - (b.start + b.on)
				} else {
					next := d.hist[(d.histN-j)%historyLen]
					off = next.start - (b.start + b.on)
				}
				want := pt.pairs[((phase-j)%L+L)%L]
				if b.set != want.set || !within(b.on, want.on) {
					break
				}
				if j == 0 {
					if off < want.off*(1-tolerance)-slack || off > want.off*(1+tolerance)+slack {
						break
					}
				} else if !within(off, want.off) {
					break
				}
				run++
				errSum += math.Abs(b.on-want.on)/want.on + math.Abs(off-want.off)/want.off
			}
			if run < 2 {
				continue
			}
			e := errSum / float64(run)
			if run > bestRun || run == bestRun && e < bestErr {
				bestKind, bestRun, bestErr = pt.kind, run, e
			}
		}
	}
	if bestKind != None {
		d.establish(bestKind)
	}
}

// Level is the frame's level in dBm0 (the reference of tone.Amplitude: a
// sine at L dBm0 gives L). Silence gives -Inf.
func Level(frame []int16) float64 {
	if len(frame) == 0 {
		return math.Inf(-1)
	}
	var e float64
	for _, s := range frame {
		e += float64(s) * float64(s)
	}
	ref := tone.Amplitude(0)
	return 10 * math.Log10(e/float64(len(frame))/(ref*ref/2))
}
