package sound

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
)

// wavTone is a WAV file of a tone at amplitude amp (of full scale).
func wavTone(t testing.TB, rate, channels int, hz, amp float64, d time.Duration) []byte {
	n := int(int64(rate) * int64(d) / int64(time.Second))
	s := make([]int16, n*channels)
	for i := range n {
		v := int16(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
		for c := range channels {
			s[i*channels+c] = v
		}
	}
	var b bytes.Buffer
	if err := wav.Write(&b, rate, channels, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// toneLevel measures the level (dB relative to full-scale sine) of a
// frequency in s with the Goertzel algorithm over the middle of the clip.
func toneLevel(s []int16, rate int, hz float64) float64 {
	s = s[len(s)/4 : len(s)*3/4]
	k := 2 * math.Cos(2*math.Pi*hz/float64(rate))
	var s1, s2 float64
	for _, v := range s {
		s0 := float64(v) + k*s1 - s2
		s2, s1 = s1, s0
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	amp := 2 * math.Sqrt(p) / float64(len(s))
	return 20 * math.Log10(amp/32767)
}

func peak(s []int16) int {
	var p int
	for _, v := range s {
		p = max(p, abs(int(v)))
	}
	return p
}

func checkClip(t *testing.T, c *Clip, want time.Duration, hz float64) {
	t.Helper()
	if d := c.Duration - want; d < -50*time.Millisecond || d > 100*time.Millisecond {
		t.Errorf("duration %v, want %v", c.Duration, want)
	}
	for _, x := range []struct {
		pcm  []int16
		rate int
	}{{c.PCM8k, 8000}, {c.PCM16k, 16000}} {
		wantN := int(int64(x.rate) * int64(c.Duration) / int64(time.Second))
		if d := len(x.pcm) - wantN; d < -2 || d > 2 {
			t.Errorf("%d Hz: %d samples for %v, want %d", x.rate, len(x.pcm), c.Duration, wantN)
		}
		if l := toneLevel(x.pcm, x.rate, hz); l < -4 || l > -2.5 {
			t.Errorf("%d Hz: %.0f Hz tone at %.1f dBFS, want about −3", x.rate, hz, l)
		}
	}
	if p := max(peak(c.PCM8k), peak(c.PCM16k)); p > targetPeak+1 || p < targetPeak-1 {
		t.Errorf("peak %d, want %d (−3 dBFS)", p, targetPeak)
	}
}

func TestImportWAV(t *testing.T) {
	tests := []struct {
		rate, channels int
		amp            float64
	}{
		{44100, 2, 0.05}, {48000, 1, 1}, {22050, 2, 0.3}, {16000, 1, 0.5}, {8000, 1, 0.1}, {11025, 2, 0.9},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dHz-%dch", tt.rate, tt.channels), func(t *testing.T) {
			data := wavTone(t, tt.rate, tt.channels, 1000, tt.amp, 2*time.Second)
			c, err := Import(bytes.NewReader(data), "tone.wav", 0)
			if err != nil {
				t.Fatal(err)
			}
			checkClip(t, c, 2*time.Second, 1000)
		})
	}
}

func sox(t *testing.T) string {
	p, err := exec.LookPath("sox")
	if err != nil {
		t.Fatal("sox with MP3 support is required (apt-get install sox libsox-fmt-all; make test installs it)")
	}
	return p
}

// mp3Tone makes an MP3 with sox from a WAV tone.
func mp3Tone(t *testing.T, rate, channels int, d time.Duration) []byte {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.mp3")
	os.WriteFile(in, wavTone(t, rate, channels, 1000, 0.5, d), 0o644)
	// 64 kbit/s: go-mp3 v0.3.4 garbles some low-bitrate MPEG-2 streams
	// (22.05 kHz mono at sox's default 32 kbit/s; go-mp3 issue #39).
	if msg, err := exec.Command(sox(t), in, "-C", "64", out).CombinedOutput(); err != nil {
		t.Fatalf("sox cannot write MP3 (install libsox-fmt-mp3 or libsox-fmt-all): %v\n%s", err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportMP3(t *testing.T) {
	for _, tt := range []struct{ rate, channels int }{{44100, 2}, {48000, 1}, {22050, 1}, {16000, 2}, {32000, 1}} {
		t.Run(fmt.Sprintf("%dHz-%dch", tt.rate, tt.channels), func(t *testing.T) {
			data := mp3Tone(t, tt.rate, tt.channels, 2*time.Second)
			c, err := Import(bytes.NewReader(data), "tone.mp3", 0)
			if err != nil {
				t.Fatal(err)
			}
			checkClip(t, c, 2*time.Second, 1000)
		})
	}
}

func TestImportErrors(t *testing.T) {
	good := wavTone(t, 8000, 1, 1000, 0.5, time.Second)
	mp3_8k := mp3Tone(t, 8000, 1, time.Second)
	mp3_44 := mp3Tone(t, 44100, 1, time.Second)
	odd := wavTone(t, 7919, 1, 1000, 0.5, time.Second)
	tests := []struct {
		name  string
		data  []byte
		lim   Limits
		want  error
		words string // the message must say this
	}{
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00"), Limits{}, ErrUnknownFormat, "PNG"},
		{"text", []byte("hello, this is not audio at all"), Limits{}, ErrUnknownFormat, "WAV or MP3"},
		{"empty", nil, Limits{}, ErrUnknownFormat, ""},
		{"truncated wav header", good[:30], Limits{}, wav.ErrTruncated, "truncated"},
		{"truncated wav data", good[:1000], Limits{}, wav.ErrTruncated, "ends"},
		{"mpeg-2.5", mp3_8k, Limits{}, ErrUnsupported, "MPEG-2.5"},
		{"mp3 garbage", append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0x12}, 500)...), Limits{}, ErrCorrupt, ""},
		{"too big", good, Limits{MaxBytes: 8000}, ErrTooBig, "8000 bytes"},
		{"too long wav", good, Limits{MaxDuration: 500 * time.Millisecond}, ErrTooLong, "500ms"},
		{"too long mp3", mp3_44, Limits{MaxDuration: 500 * time.Millisecond}, ErrTooLong, "500ms"},
		{"silent", wavTone(t, 8000, 1, 1000, 0.001, time.Second), Limits{}, ErrSilent, "dBFS"},
		{"odd rate", odd, Limits{}, ErrUnsupported, "7919 Hz"},
	}
	for _, tt := range tests {
		_, err := tt.lim.Import(bytes.NewReader(tt.data), "upload.bin")
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.words) || !strings.Contains(err.Error(), "upload.bin") {
			t.Errorf("%s: err = %v, want %v naming the file and saying %q", tt.name, err, tt.want, tt.words)
			continue
		}
		t.Logf("%s: %v", tt.name, err)
	}
}

func FuzzImport(f *testing.F) {
	f.Add(wavTone(f, 8000, 1, 1000, 0.5, 50*time.Millisecond))
	f.Add(wavTone(f, 44100, 2, 440, 0.5, 20*time.Millisecond))
	if p, err := exec.LookPath("sox"); err == nil {
		dir := f.TempDir()
		in, out := filepath.Join(dir, "in.wav"), filepath.Join(dir, "out.mp3")
		os.WriteFile(in, wavTone(f, 22050, 1, 1000, 0.5, 100*time.Millisecond), 0o644)
		if exec.Command(p, in, out).Run() == nil {
			b, _ := os.ReadFile(out)
			f.Add(b)
		}
	}
	f.Add([]byte("ID3\x03\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Bounded: at most 64 KiB in and 2 s out (32 k samples at 16 kHz).
		c, err := Limits{MaxBytes: 64 << 10, MaxDuration: 2 * time.Second}.Import(bytes.NewReader(data), "fuzz")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(c.PCM16k) > 32000+2 || len(c.PCM8k) > 16000+1 {
			t.Fatalf("%d/%d samples from a 2 s limit", len(c.PCM8k), len(c.PCM16k))
		}
	})
}

// BenchmarkImport measures importing 10 s of 44.1 kHz stereo WAV.
func BenchmarkImport(b *testing.B) {
	data := wavTone(b, 44100, 2, 1000, 0.5, 10*time.Second)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Import(bytes.NewReader(data), "b.wav", 0); err != nil {
			b.Fatal(err)
		}
	}
}

// A long upload is resampled as it is decoded: importing it allocates
// about what the clip holds, not the whole file at its own rate (a
// ten-minute 48 kHz file took hundreds of megabytes, on a box with 512).
func TestImportMemoryFollowsTheClip(t *testing.T) {
	data := wavTone(t, 48000, 2, 1000, 0.5, 60*time.Second)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	c, err := Import(bytes.NewReader(data), "long.wav", 0)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	clip := uint64(len(c.PCM8k)+len(c.PCM16k)) * 2
	// The clip, its 8 and 16 kHz slices each sized once from the header,
	// and reading and resampling buffers of a few hundred kilobytes.
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KB for a clip of %d KB", got>>10, clip>>10)
	if got > clip+1<<20 {
		t.Errorf("importing 60 s of 48 kHz stereo allocated %d KB for a clip of %d KB", got>>10, clip>>10)
	}
}
