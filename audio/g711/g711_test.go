package g711

import (
	"math"
	"testing"
)

func TestKnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"ulaw encode 0", int(EncodeUlawSample(0)), 0xFF},
		{"ulaw encode -1", int(EncodeUlawSample(-1)), 0x7E},
		{"ulaw encode max", int(EncodeUlawSample(math.MaxInt16)), 0x80},
		{"ulaw encode min", int(EncodeUlawSample(math.MinInt16)), 0x00},
		{"ulaw encode 1000", int(EncodeUlawSample(1000)), 0xCE},
		{"ulaw encode -1000", int(EncodeUlawSample(-1000)), 0x4E},
		{"ulaw decode 0xFF", int(DecodeUlawSample(0xFF)), 0},
		{"ulaw decode 0x7F", int(DecodeUlawSample(0x7F)), 0},
		{"ulaw decode 0x80", int(DecodeUlawSample(0x80)), 32124},
		{"ulaw decode 0x00", int(DecodeUlawSample(0x00)), -32124},
		{"ulaw decode 0xCE", int(DecodeUlawSample(0xCE)), 988},
		{"alaw encode 0", int(EncodeAlawSample(0)), 0xD5},
		{"alaw encode -1", int(EncodeAlawSample(-1)), 0x55},
		{"alaw encode max", int(EncodeAlawSample(math.MaxInt16)), 0xAA},
		{"alaw encode min", int(EncodeAlawSample(math.MinInt16)), 0x2A},
		{"alaw encode 1000", int(EncodeAlawSample(1000)), 0xFA},
		{"alaw decode 0xD5", int(DecodeAlawSample(0xD5)), 8},
		{"alaw decode 0x55", int(DecodeAlawSample(0x55)), -8},
		{"alaw decode 0xAA", int(DecodeAlawSample(0xAA)), 32256},
		{"alaw decode 0x2A", int(DecodeAlawSample(0x2A)), -32256},
		{"alaw decode 0xFA", int(DecodeAlawSample(0xFA)), 1008},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x (%d), want %#x (%d)", tt.name, tt.got, tt.got, tt.want, tt.want)
		}
	}
}

// TestRoundTrip checks every 16-bit sample: the decoded value is within half
// a quantisation step of the input (plus the clipping region), and decoding
// then re-encoding every code word gives the same code word.
func TestRoundTrip(t *testing.T) {
	laws := []struct {
		name   string
		enc    func(int16) uint8
		dec    func(uint8) int16
		maxAbs int   // largest decoded magnitude
		step   []int // quantisation step per segment, in 16-bit units
		segOf  func(code uint8) int
		skip   uint8 // code that does not survive a round trip (negative zero)
	}{
		{
			name: "ulaw", enc: EncodeUlawSample, dec: DecodeUlawSample, maxAbs: 32124,
			step:  []int{8, 16, 32, 64, 128, 256, 512, 1024},
			segOf: func(c uint8) int { return int((^c)&0x70) >> 4 },
			skip:  0x7F,
		},
		{
			name: "alaw", enc: EncodeAlawSample, dec: DecodeAlawSample, maxAbs: 32256,
			step:  []int{16, 16, 32, 64, 128, 256, 512, 1024},
			segOf: func(c uint8) int { return int((c^0x55)&0x70) >> 4 },
			skip:  0, // A-law has no negative zero
		},
	}
	for _, law := range laws {
		t.Run(law.name, func(t *testing.T) {
			worst := 0
			for s := math.MinInt16; s <= math.MaxInt16; s++ {
				c := law.enc(int16(s))
				d := int(law.dec(c))
				err := abs(d - s)
				if abs(s) > law.maxAbs {
					err = abs(abs(d) - law.maxAbs) // clipped
				}
				if err > law.step[law.segOf(c)] {
					t.Fatalf("sample %d -> %#x -> %d: error %d over step %d", s, c, d, err, law.step[law.segOf(c)])
				}
				worst = max(worst, err)
			}
			for c := range 256 {
				if uint8(c) == law.skip && law.name == "ulaw" {
					continue
				}
				if got := law.enc(law.dec(uint8(c))); got != uint8(c) {
					t.Errorf("enc(dec(%#x)) = %#x", c, got)
				}
			}
			t.Logf("worst error %d", worst)
		})
	}
}

func TestSliceFunctions(t *testing.T) {
	src := []int16{0, 100, -100, 5000, -5000, 32767, -32768}
	u := make([]byte, len(src))
	a := make([]byte, len(src)+3) // longer dst: only len(src) converted
	if n := EncodeUlaw(u, src); n != len(src) {
		t.Fatalf("EncodeUlaw = %d, want %d", n, len(src))
	}
	if n := EncodeAlaw(a, src); n != len(src) {
		t.Fatalf("EncodeAlaw = %d, want %d", n, len(src))
	}
	du := make([]int16, len(src))
	da := make([]int16, len(src))
	DecodeUlaw(du, u)
	DecodeAlaw(da, a[:len(src)])
	for i, s := range src {
		if u[i] != EncodeUlawSample(s) || a[i] != EncodeAlawSample(s) {
			t.Errorf("sample %d: slice and per-sample encoders differ", s)
		}
		if du[i] != DecodeUlawSample(u[i]) || da[i] != DecodeAlawSample(a[i]) {
			t.Errorf("sample %d: slice and per-sample decoders differ", s)
		}
	}
	// Transcoding matches the trip through linear code.
	x := make([]byte, len(u))
	UlawToAlaw(x, u)
	for i := range u {
		if want := EncodeAlawSample(DecodeUlawSample(u[i])); x[i] != want {
			t.Errorf("UlawToAlaw(%#x) = %#x, want %#x", u[i], x[i], want)
		}
	}
	AlawToUlaw(x, a[:len(src)])
	for i := range src {
		if want := EncodeUlawSample(DecodeAlawSample(a[i])); x[i] != want {
			t.Errorf("AlawToUlaw(%#x) = %#x, want %#x", a[i], x[i], want)
		}
	}
}

func TestNoAllocs(t *testing.T) {
	src := make([]int16, 160)
	dst := make([]byte, 160)
	pcm := make([]int16, 160)
	if n := testing.AllocsPerRun(100, func() {
		EncodeUlaw(dst, src)
		DecodeUlaw(pcm, dst)
		EncodeAlaw(dst, src)
		DecodeAlaw(pcm, dst)
	}); n != 0 {
		t.Errorf("allocs per frame = %v, want 0", n)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// BenchmarkEncodeUlaw measures encoding one 20 ms frame (160 samples).
func BenchmarkEncodeUlaw(b *testing.B) {
	src := make([]int16, 160)
	for i := range src {
		src[i] = int16(i * 199)
	}
	dst := make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(int64(len(src) * 2))
	for b.Loop() {
		EncodeUlaw(dst, src)
	}
}

// BenchmarkDecodeUlaw measures decoding one 20 ms frame.
func BenchmarkDecodeUlaw(b *testing.B) {
	src := make([]byte, 160)
	dst := make([]int16, 160)
	b.ReportAllocs()
	for b.Loop() {
		DecodeUlaw(dst, src)
	}
}

// BenchmarkEncodeAlaw measures encoding one 20 ms frame as A-law.
func BenchmarkEncodeAlaw(b *testing.B) {
	src := make([]int16, 160)
	dst := make([]byte, 160)
	b.ReportAllocs()
	for b.Loop() {
		EncodeAlaw(dst, src)
	}
}
