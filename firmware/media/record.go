package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"ringbox/audio/resample"
	"ringbox/audio/wav"
	"ringbox/firmware/call"
)

// RecordFile is where a recording is written; *os.File is one.
type RecordFile interface {
	io.WriteSeeker
	io.Closer
}

// Recorder records bridged conversations to stereo WAV files: 16-bit PCM
// at 8 kHz, the first stream on the left, the second on the right (G.722
// legs are resampled to 8 kHz). The file is written as path+".tmp" and
// renamed to path once complete, so a half-written file never has the
// final name. The zero value writes with os.Create and os.Rename.
type Recorder struct {
	Create func(name string) (RecordFile, error) // nil: os.Create
	Rename func(oldpath, newpath string) error   // nil: os.Rename
	Logger *slog.Logger                          // nil: slog.Default()
}

// BridgeRecorded is [Recorder.Bridge] with the zero Recorder.
func BridgeRecorded(ctx context.Context, a, b *Stream, path string) (call.Recording, error) {
	var r Recorder
	return r.Bridge(ctx, a, b, path)
}

const (
	recRate    = 8000
	recFrame   = 160          // samples per channel per 20 ms
	recBacklog = recRate * 2  // samples a channel may hold before the writer (2 s)
	recLag     = recRate / 2  // one channel this far ahead: the other is padded (0.5 s)
	recBuffer  = 32 << 10     // bytes buffered before a write to the file
	recTmp     = ".tmp"       // suffix of the file being written
	recPoll    = frameDur * 5 // the writer's pace: 100 ms of audio per write
)

// Bridge relays a and b like [Bridge] and records the conversation to path
// while the bridge lasts; it returns the recording and Bridge's error.
// Recording is best effort: when the file cannot be created or a write
// fails (disk full), recording stops, the bridge goes on, and
// Recording.Err says why; what was written before is kept. The file is
// complete (sizes in its header) when Bridge returns. When the bridge
// cannot start at all (ErrBridged, ErrCodecMismatch), nothing is recorded.
func (r *Recorder) Bridge(ctx context.Context, a, b *Stream, path string) (call.Recording, error) {
	if a == b {
		return call.Recording{}, errors.New("media: bridge a stream to itself")
	}
	if ca, cb := a.Codec(), b.Codec(); !bridgeable(ca.Name, cb.Name) {
		return call.Recording{}, fmt.Errorf("bridge %s to %s: %w", ca.Name, cb.Name, ErrCodecMismatch)
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	rec := newRecording(r.create, path)
	hctx, stop := context.WithCancel(context.Background())
	var hears sync.WaitGroup
	if rec.err == nil {
		hears.Add(3)
		go func() { defer hears.Done(); a.Hear(hctx, rec.left.push) }()
		go func() { defer hears.Done(); b.Hear(hctx, rec.right.push) }()
		go func() { defer hears.Done(); rec.run(hctx) }()
	}
	err := Bridge(ctx, a, b)
	stop()
	hears.Wait()
	if errors.Is(err, ErrBridged) {
		rec.abandon(r.remove)
		return call.Recording{}, err
	}
	res := rec.finish(r.rename)
	if res.Err != nil {
		log.Warn("recording failed", "path", path, "error", res.Err)
	}
	return res, err
}

func (r *Recorder) create(name string) (RecordFile, error) {
	if r.Create != nil {
		return r.Create(name)
	}
	return os.Create(name)
}

func (r *Recorder) rename(oldpath, newpath string) error {
	if r.Rename != nil {
		return r.Rename(oldpath, newpath)
	}
	return os.Rename(oldpath, newpath)
}

func (r *Recorder) remove(name string) {
	if r.Create == nil {
		os.Remove(name)
	}
}

// channel is one side's audio on its way to the file, at 8 kHz.
type channel struct {
	rec *recording

	mu      sync.Mutex // protects following
	buf     []int16    // waiting for the writer
	dropped int        // samples lost because the writer fell 2 s behind
	rs      *resample.Resampler
	scratch []int16
}

// push is a Hear sink: it queues one frame. It runs on the stream's reader
// goroutine, so it never touches the file.
func (c *channel) push(frame []int16) {
	if c.rec.failed.Load() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(frame) > recFrame { // G.722: 16 kHz
		if c.rs == nil {
			c.rs = resample.New(16000, recRate) // once per channel
			c.scratch = make([]int16, 0, 2*recFrame)
		}
		c.scratch = c.rs.Process(c.scratch[:0], frame)
		frame = c.scratch
	}
	room := cap(c.buf) - len(c.buf)
	if len(frame) > room {
		c.dropped += len(frame) - room
		frame = frame[:room]
	}
	c.buf = append(c.buf, frame...)
}

// take removes n samples into dst (zeros where the channel has fewer).
func (c *channel) take(dst []int16, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := copy(dst[:n], c.buf)
	clear(dst[k:n])
	c.buf = c.buf[:copy(c.buf, c.buf[k:])]
}

func (c *channel) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.buf)
}

// recording is one file being written.
type recording struct {
	path        string
	failed      atomic.Bool // the sinks stop queueing
	left, right channel
	f           RecordFile
	bw          *bufferedFile
	w           *wav.Writer
	l, r, out   []int16 // the writer's buffers
	frames      int     // stereo frames written
	err         error   // first error; the file is no longer written
}

func newRecording(create func(string) (RecordFile, error), path string) *recording {
	rec := &recording{path: path}
	rec.left = channel{rec: rec, buf: make([]int16, 0, recBacklog)}
	rec.right = channel{rec: rec, buf: make([]int16, 0, recBacklog)}
	f, err := create(path + recTmp)
	if err != nil {
		rec.fail(fmt.Errorf("create recording: %w", err))
		return rec
	}
	rec.f = f
	rec.bw = &bufferedFile{f: f, buf: make([]byte, 0, recBuffer)}
	w, err := wav.NewWriter(rec.bw, recRate, 2)
	if err != nil {
		rec.fail(err)
		return rec
	}
	rec.w = w
	rec.l = make([]int16, recBacklog)
	rec.r = make([]int16, recBacklog)
	rec.out = make([]int16, 2*recBacklog)
	return rec
}

func (rec *recording) fail(err error) {
	if rec.err == nil {
		rec.err = err
		rec.failed.Store(true)
	}
}

// run writes the queued audio every 100 ms until ctx ends.
func (rec *recording) run(ctx context.Context) {
	t := time.NewTicker(recPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rec.write(false)
		}
	}
}

// write interleaves what both channels have and writes it. While the call
// goes on it writes whole frames both channels have, or pads the one that
// fell recLag behind; at the end (final) it pads the shorter to the longer.
func (rec *recording) write(final bool) {
	if rec.err != nil {
		return
	}
	nl, nr := rec.left.len(), rec.right.len()
	n := min(nl, nr)
	if final || max(nl, nr)-n >= recLag {
		n = max(nl, nr)
	}
	if !final {
		n -= n % recFrame
	}
	if n == 0 {
		return
	}
	rec.left.take(rec.l, n)
	rec.right.take(rec.r, n)
	out := rec.out[:2*n]
	for i := range n {
		out[2*i], out[2*i+1] = rec.l[i], rec.r[i]
	}
	if err := rec.w.Write(out); err != nil {
		rec.fail(fmt.Errorf("write recording: %w", err))
		// What reached the file, not what was buffered, is the recording.
		rec.frames = max(0, int(rec.bw.written-wavHeader)/4)
		return
	}
	rec.frames += n
}

// finish writes what is left, completes the header, closes the file and
// gives it its name.
func (rec *recording) finish(rename func(string, string) error) call.Recording {
	res := call.Recording{}
	if rec.f == nil {
		res.Err = rec.err
		return res
	}
	rec.write(true)
	if rec.w != nil {
		if err := rec.w.Close(); err != nil {
			rec.fail(fmt.Errorf("finish recording: %w", err))
		}
	}
	if err := rec.bw.flush(); err != nil {
		rec.fail(fmt.Errorf("finish recording: %w", err))
	}
	if err := rec.f.Close(); err != nil {
		rec.fail(fmt.Errorf("close recording: %w", err))
	}
	if err := rename(rec.path+recTmp, rec.path); err != nil {
		rec.fail(fmt.Errorf("rename recording: %w", err))
	} else {
		res.Path = rec.path
	}
	res.Duration = time.Duration(rec.frames) * time.Second / recRate
	res.Err = rec.err
	return res
}

// abandon deletes a recording that never started.
func (rec *recording) abandon(remove func(string)) {
	if rec.f != nil {
		rec.f.Close()
		remove(rec.path + recTmp)
	}
}

// bufferedFile gathers writes into blocks of recBuffer bytes, so a call's
// recording costs a write system call every 2 s rather than every frame.
// Seek (the WAV header patch) writes the block out first.
type bufferedFile struct {
	f       RecordFile
	buf     []byte
	err     error
	written int64 // bytes the file took, header included
}

const wavHeader = 44

func (b *bufferedFile) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flush(); err != nil {
			return 0, err
		}
		if len(p) > cap(b.buf) {
			n, err := b.f.Write(p)
			b.written += int64(n)
			b.err = err
			return n, err
		}
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *bufferedFile) flush() error {
	if b.err != nil || len(b.buf) == 0 {
		return b.err
	}
	n, err := b.f.Write(b.buf)
	b.written += int64(n)
	b.buf = b.buf[:0]
	b.err = err
	return err
}

func (b *bufferedFile) Seek(off int64, whence int) (int64, error) {
	if err := b.flush(); err != nil {
		return 0, err
	}
	return b.f.Seek(off, whence)
}
