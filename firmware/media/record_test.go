package media

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"ringbox/audio/wav"
)

// share is the fraction of the energy of pcm (at rate) that lies at hz,
// by Goertzel.
func share(pcm []int16, hz, rate float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	w := 2 * math.Pi * hz / rate
	c := 2 * math.Cos(w)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+c*s1-s2, s1
		total += x * x
	}
	if total == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - c*s1*s2
	return 2 * power / (float64(len(pcm)) * total)
}

// talk sends frames of a tone at hz from p to s's port every 20 ms until
// ctx ends.
func talk(ctx context.Context, p *peer, s *Stream, c Codec, hz float64) {
	cio := newCodecIO(c)
	n := int(cio.rate / 50)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for i := 0; ; i++ {
		pl := cio.encode(tone(n, i*n, hz, cio.rate))
		p.conn.WriteToUDPAddrPort(rtpPacket(c.PT, i == 0, uint16(i), uint32(160*i), uint32(hz), pl), s.Local())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// readStereo reads a WAV file the recorder wrote.
func readStereo(t *testing.T, data []byte) (left, right []int16) {
	t.Helper()
	r, err := wav.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("recording is not a WAV file: %v", err)
	}
	if r.Rate != 8000 || r.Channels != 2 || r.Bits != 16 {
		t.Fatalf("recording format = %+v, want 8 kHz 16-bit stereo", r.Format)
	}
	frames := r.Frames()
	if frames < 0 {
		t.Errorf("recording header has no size: not closed cleanly")
	}
	buf := make([]int16, 1024)
	for {
		n, err := r.Read(buf)
		for i := 0; i+1 < n; i += 2 {
			left = append(left, buf[i])
			right = append(right, buf[i+1])
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("read recording: %v", err)
		}
	}
	if int64(len(left)) != frames {
		t.Errorf("recording has %d frames, header says %d", len(left), frames)
	}
	return left, right
}

func TestBridgeRecorded(t *testing.T) {
	// The last case has legs in different codecs: the recording is 8 kHz
	// all the same, and the bridge transcodes.
	for _, c := range [][2]Codec{{PCMU, PCMU}, {G722, G722}, {G722, PCMA}} {
		t.Run(c[0].Name+"-"+c[1].Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "call.wav")
			e := newEngine(t, Config{})
			runEngine(t, e)
			a, b := open(t, e), open(t, e)
			pa, pb := newPeer(t), newPeer(t)
			a.SetRemote(desc(pa.addr(), c[0], &TelephoneEvent))
			b.SetRemote(desc(pb.addr(), c[1], &TelephoneEvent))
			ctx, cancel := context.WithTimeout(t.Context(), 600*time.Millisecond)
			defer cancel()
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); talk(ctx, pa, a, c[0], 440) }()
			go func() { defer wg.Done(); talk(ctx, pb, b, c[1], 1000) }()
			start := time.Now()
			got, err := BridgeRecorded(ctx, a, b, path)
			took := time.Since(start)
			wg.Wait()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("BridgeRecorded = %v, want the context's end", err)
			}
			if got.Err != nil || got.Path != path {
				t.Fatalf("recording = %+v, want %s without error", got, path)
			}
			if got.Duration < took-150*time.Millisecond || got.Duration > took+50*time.Millisecond {
				t.Errorf("recording lasts %v, the bridge %v", got.Duration, took)
			}
			if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("%s.tmp left behind (%v)", path, err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			left, right := readStereo(t, data)
			if d := time.Duration(len(left)) * time.Second / 8000; d != got.Duration {
				t.Errorf("file holds %v, Recording.Duration says %v", d, got.Duration)
			}
			mid := func(x []int16) []int16 { return x[len(x)/4 : len(x)/2] }
			if s := share(mid(left), 440, 8000); s < 0.8 {
				t.Errorf("left channel: 440 Hz holds %.2f of the energy, want a's tone", s)
			}
			if s := share(mid(right), 1000, 8000); s < 0.8 {
				t.Errorf("right channel: 1000 Hz holds %.2f of the energy, want b's tone", s)
			}
			if a.Stats().PacketsOut == 0 || b.Stats().PacketsOut == 0 {
				t.Errorf("nothing relayed while recording")
			}
		})
	}
}

// memFile is an in-memory RecordFile that fails every write once limit
// bytes were written (a full disk).
type memFile struct {
	mu     sync.Mutex
	data   []byte
	pos    int64
	limit  int
	closed bool
}

var errDiskFull = errors.New("no space left on device")

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit > 0 && int(f.pos)+len(p) > f.limit {
		return 0, errDiskFull
	}
	if int(f.pos) == len(f.data) {
		f.data = append(f.data, p...) // appending: no garbage once grown
	} else {
		if end := int(f.pos) + len(p); end > len(f.data) {
			f.data = append(f.data, make([]byte, end-len(f.data))...)
		}
		copy(f.data[f.pos:], p)
	}
	f.pos += int64(len(p))
	return len(p), nil
}

func (f *memFile) Seek(off int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch whence {
	case io.SeekStart:
		f.pos = off
	case io.SeekEnd:
		f.pos = int64(len(f.data)) + off
	default:
		f.pos += off
	}
	return f.pos, nil
}

func (f *memFile) Close() error { f.closed = true; return nil }

// TestRecordingFailureKeepsBridge: a full disk or an uncreatable file stops
// the recording, says why, and the call goes on being relayed.
func TestRecordingFailureKeepsBridge(t *testing.T) {
	tests := []struct {
		name      string
		create    func(*memFile) func(string) (RecordFile, error)
		wantPath  bool
		wantBytes int // at most, in the file
	}{
		{"disk full after 40 kB", func(f *memFile) func(string) (RecordFile, error) {
			f.limit = 40000
			return func(string) (RecordFile, error) { return f, nil }
		}, true, 40000},
		{"cannot create", func(*memFile) func(string) (RecordFile, error) {
			return func(string) (RecordFile, error) { return nil, errDiskFull }
		}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &memFile{}
			var renamed []string
			rec := &Recorder{
				Create: tt.create(f),
				Rename: func(o, n string) error { renamed = append(renamed, o, n); return nil },
				Logger: slog.New(slog.DiscardHandler),
			}
			e := newEngine(t, Config{})
			runEngine(t, e)
			a, b := open(t, e), open(t, e)
			pa, pb := newPeer(t), newPeer(t)
			a.SetRemote(desc(pa.addr(), PCMU, nil))
			b.SetRemote(desc(pb.addr(), PCMU, nil))
			// 40 kB is 1.25 s of stereo audio; the call lasts 3 s.
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			go talk(ctx, pa, a, PCMU, 440)
			got, err := rec.Bridge(ctx, a, b, "/rec/call.wav")
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Bridge = %v, want it to last until the context ended", err)
			}
			if !errors.Is(got.Err, errDiskFull) {
				t.Errorf("Recording.Err = %v, want the disk-full error", got.Err)
			}
			if out := a.Stats().PacketsIn; out < 120 {
				t.Errorf("a received %d packets in 3 s", out)
			}
			if b.Stats().PacketsOut < a.Stats().PacketsIn-5 {
				t.Errorf("relayed %d of %d packets: the bridge stopped with the recording", b.Stats().PacketsOut, a.Stats().PacketsIn)
			}
			if (got.Path != "") != tt.wantPath {
				t.Errorf("Recording.Path = %q, want a path: %v", got.Path, tt.wantPath)
			}
			if !tt.wantPath {
				return
			}
			if len(renamed) != 2 || renamed[0] != "/rec/call.wav.tmp" || renamed[1] != "/rec/call.wav" {
				t.Errorf("renamed %q, want call.wav.tmp to call.wav", renamed)
			}
			if !f.closed || len(f.data) > tt.wantBytes || len(f.data) < tt.wantBytes/2 {
				t.Errorf("file closed %v with %d bytes, want closed with up to %d", f.closed, len(f.data), tt.wantBytes)
			}
			if got.Duration > 1300*time.Millisecond {
				t.Errorf("recording says %v, more than the 40 kB written", got.Duration)
			}
		})
	}
}

func TestBridgeRecordedAlreadyBridged(t *testing.T) {
	e := newEngine(t, Config{})
	a, _, _, _, _ := bridged(t, e, pcmu, pcmu)
	c := open(t, e)
	c.SetRemote(pcmu(netip.MustParseAddrPort("127.0.0.1:9")))
	path := filepath.Join(t.TempDir(), "x.wav")
	_, err := BridgeRecorded(t.Context(), a, c, path)
	if !errors.Is(err, ErrBridged) {
		t.Errorf("BridgeRecorded of a bridged stream = %v, want ErrBridged", err)
	}
	if m, _ := filepath.Glob(path + "*"); len(m) != 0 {
		t.Errorf("files left: %v", m)
	}
}

// BenchmarkRecordFrame measures one 20 ms frame of a recorded call: both
// sides' sinks queue a frame, and the writer interleaves it and writes it
// to a buffered in-memory file (the disk write itself is not counted).
func BenchmarkRecordFrame(b *testing.B) {
	for _, n := range []int{160, 320} {
		name := "8kHz"
		if n == 320 {
			name = "G722-16kHz"
		}
		b.Run(name, func(b *testing.B) {
			f := &memFile{}
			rec := newRecording(func(string) (RecordFile, error) { return f, nil }, "x")
			frame := tone(n, 0, 440, float64(n*50))
			b.ReportAllocs()
			for b.Loop() {
				rec.left.push(frame)
				rec.right.push(frame)
				rec.write(false)
				if len(f.data) > 1<<20 { // keep the memory file small
					f.data, f.pos = f.data[:0], 0
				}
			}
		})
	}
}
