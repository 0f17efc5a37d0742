package wav

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"ringbox/audio/g711"
)

func ramp(n, channels int) []int16 {
	s := make([]int16, n*channels)
	for i := range n {
		for c := range channels {
			s[i*channels+c] = int16(math.Round(20000 * math.Sin(float64(i)/7+float64(c))))
		}
	}
	return s
}

func TestWriteRead(t *testing.T) {
	for _, ch := range []int{1, 2, 3} {
		in := ramp(1000, ch)
		var b bytes.Buffer
		if err := Write(&b, 8000, ch, in); err != nil {
			t.Fatal(err)
		}
		wr, err := NewReader(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%d channels: %v", ch, err)
		}
		if wr.Rate != 8000 || wr.Channels != ch || wr.Bits != 16 || wr.Encoding != PCM || wr.Frames() != 1000 {
			t.Errorf("%d channels: read format %+v frames %d", ch, wr.Format, wr.Frames())
		}
		got := make([]int16, len(in)+10)
		n, err := wr.Read(got)
		if err != nil || !slices.Equal(got[:n], in) {
			t.Errorf("%d channels: read %d samples, %v; want the %d written", ch, n, err, len(in))
		}
		if _, err := wr.Read(got); err != io.EOF {
			t.Errorf("%d channels: read at end = %v, want EOF", ch, err)
		}
		mono, _, err := DecodeMono(bytes.NewReader(b.Bytes()), 0)
		if err != nil || len(mono) != 1000 {
			t.Fatalf("DecodeMono = %d samples, %v", len(mono), err)
		}
		for i := range 1000 {
			var sum int32
			for c := range ch {
				sum += int32(in[i*ch+c])
			}
			if mono[i] != int16(sum/int32(ch)) {
				t.Fatalf("%d channels: mono[%d] = %d, want the average %d", ch, i, mono[i], sum/int32(ch))
			}
		}
	}
}

func TestStreamingWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(f, 8000, 2)
	if err != nil {
		t.Fatal(err)
	}
	in := ramp(8000, 2)
	for i := 0; i < len(in); i += 320 {
		if err := w.Write(in[i : i+320]); err != nil {
			t.Fatal(err)
		}
	}
	// Before Close the file is already readable to its end.
	early, _, err := DecodeMono(mustOpen(t, path), 0)
	if err != nil || len(early) != 8000 {
		t.Errorf("unfinished file: %d frames, %v; want 8000", len(early), err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	wr, err := NewReader(mustOpen(t, path))
	if err != nil || wr.Frames() != 8000 || wr.Channels != 2 {
		t.Fatalf("closed file: %v, %d frames, %d channels", err, wr.Frames(), wr.Channels)
	}
	// sox must agree (it is what a user's tools see).
	out, err := exec.Command(soxPath(t), "--i", "-s", path).Output()
	if err != nil || string(bytes.TrimSpace(out)) != "8000" {
		t.Errorf("soxi -s = %q, %v; want 8000", out, err)
	}
	if n := testing.AllocsPerRun(100, func() { w.Write(in[:320]) }); n != 0 {
		t.Errorf("Writer.Write allocates %.0f times per frame", n)
	}
}

func mustOpen(t *testing.T, path string) io.Reader {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func soxPath(t *testing.T) string {
	p, err := exec.LookPath("sox")
	if err != nil {
		t.Fatal("sox is required by this test (apt-get install sox libsox-fmt-all; make test installs it)")
	}
	return p
}

// TestEncodings converts one file with sox to every encoding the reader
// takes and checks each decodes to (nearly) the same samples.
func TestEncodings(t *testing.T) {
	sox := soxPath(t)
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.wav")
	in := ramp(4000, 2)
	var b bytes.Buffer
	if err := Write(&b, 16000, 2, in); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(ref, b.Bytes(), 0o644)
	want, _, _ := DecodeMono(bytes.NewReader(b.Bytes()), 0)
	tests := []struct {
		name string
		args []string
		tol  float64 // dB of error relative to the signal
		enc  Encoding
	}{
		{"u8", []string{"-e", "unsigned-integer", "-b", "8"}, -40, PCM},
		{"s24", []string{"-e", "signed-integer", "-b", "24"}, -90, PCM},
		{"s32", []string{"-e", "signed-integer", "-b", "32"}, -90, PCM},
		{"f32", []string{"-e", "floating-point", "-b", "32"}, -80, Float},
		{"ulaw", []string{"-e", "u-law"}, -30, ULaw},
		{"alaw", []string{"-e", "a-law"}, -30, ALaw},
		{"extensible", []string{"-e", "signed-integer", "-b", "24", "-c", "3"}, -80, PCM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, tt.name+".wav")
			args := append([]string{ref}, tt.args...)
			args = append(args, out)
			if tt.name == "extensible" {
				args = append(args, "remix", "1", "2", "0") // 3 channels forces WAVE_FORMAT_EXTENSIBLE
			}
			if msg, err := exec.Command(sox, args...).CombinedOutput(); err != nil {
				t.Fatalf("sox %v: %v\n%s", args, err, msg)
			}
			got, f, err := DecodeMono(mustOpen(t, out), 0)
			if err != nil {
				t.Fatal(err)
			}
			if f.Encoding != tt.enc || f.Rate != 16000 || len(got) != len(want) {
				t.Fatalf("format %+v, %d samples; want %v at 16000 Hz, %d samples", f, len(got), tt.enc, len(want))
			}
			if tt.name == "extensible" {
				for i := range want { // third channel is silence: mono is 2/3 of the stereo average
					want[i] = int16(int32(want[i]) * 2 / 3)
				}
				defer func() { want, _, _ = DecodeMono(bytes.NewReader(b.Bytes()), 0) }()
			}
			var e, s float64
			for i := range want {
				d := float64(got[i]) - float64(want[i])
				e += d * d
				s += float64(want[i]) * float64(want[i])
			}
			if r := 10 * math.Log10(e/s+1e-20); r > tt.tol {
				t.Errorf("decoded differs by %.1f dB, want ≤ %.0f", r, tt.tol)
			}
		})
	}
}

func TestBadFiles(t *testing.T) {
	var good bytes.Buffer
	Write(&good, 8000, 1, ramp(100, 1))
	g := good.Bytes()
	adpcm := slices.Clone(g)
	adpcm[20] = 2 // MS ADPCM
	float16 := slices.Clone(g)
	float16[20] = 3
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotWAV},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"), ErrNotWAV},
		{"short header", g[:20], ErrTruncated},
		{"no data chunk", g[:36], ErrTruncated},
		{"truncated data", g[:44+50], ErrTruncated},
		{"adpcm", adpcm, ErrUnsupported},
		{"16-bit float", float16, ErrUnsupported},
	}
	for _, tt := range tests {
		_, _, err := DecodeMono(bytes.NewReader(tt.data), 0)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		} else {
			t.Logf("%s: %v", tt.name, err)
		}
	}
	if _, _, err := DecodeMono(bytes.NewReader(g), 50); !errors.Is(err, ErrTooLong) {
		t.Errorf("100 samples with a limit of 50: err = %v, want ErrTooLong", err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	for _, ch := range []int{1, 2} {
		var b bytes.Buffer
		Write(&b, 8000, ch, ramp(64, ch))
		f.Add(b.Bytes())
		f.Add(b.Bytes()[:50])
	}
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x03\x00\x02\x00\x40\x1f\x00\x00\x00\xfa\x00\x00\x08\x00\x20\x00data\xff\xff\xff\xff\x00\x00\xc0\x7f"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, fm, err := DecodeMono(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		// Every sample comes from the input: at most one per channel-frame.
		if fm.Channels < 1 || len(pcm)*fm.Channels*fm.Bits/8 > len(data) {
			t.Fatalf("%d samples of %+v from %d bytes", len(pcm), fm, len(data))
		}
	})
}

// BenchmarkWriter measures writing one 20 ms stereo 8 kHz frame, as the
// call recorder does.
func BenchmarkWriter(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "b.wav"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w, _ := NewWriter(f, 8000, 2)
	frame := ramp(160, 2)
	b.ReportAllocs()
	for b.Loop() {
		w.Write(frame)
	}
}

// TestG711TablesMatchCodec checks the reader's G.711 expansion against
// audio/g711, the codec the rest of Ringbox uses.
func TestG711TablesMatchCodec(t *testing.T) {
	for i := range 256 {
		if u := g711.DecodeUlawSample(uint8(i)); ulaw[i] != u {
			t.Errorf("µ-law %#x: %d, g711 says %d", i, ulaw[i], u)
		}
		if a := g711.DecodeAlawSample(uint8(i)); alaw[i] != a {
			t.Errorf("A-law %#x: %d, g711 says %d", i, alaw[i], a)
		}
	}
}
