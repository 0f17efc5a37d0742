package calltest

import (
	"context"
	"sync"
	"time"

	"ringbox/firmware/call"
)

// voices holds what each leg's far end says (see Speaks); a side table
// because Leg's fields are fixed in calltest.go.
var voices sync.Map // *Leg -> int16

// Speaks makes the far end of the leg "talk": Hear delivers frames whose
// every sample is level. Without it a leg is heard as silence.
func Speaks(level int16) Option {
	return func(l *Leg) { voices.Store(l, level) }
}

// Hear implements call.Hearer: one 160-sample frame per 20 ms of time,
// until ctx ends or the leg ends.
func (m *media) Hear(ctx context.Context, sink func(frame []int16)) error {
	l := (*Leg)(m)
	var level int16
	if v, ok := voices.Load(l); ok {
		level = v.(int16)
	}
	frame := make([]int16, 160)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-l.done:
			return l.Err()
		case <-t.C:
		}
		for i := range frame {
			frame[i] = level
		}
		sink(frame)
	}
}

var _ call.Hearer = (*media)(nil)

// RecordingBridger is a fake call.Bridger and call.RecordingBridger: it
// bridges like Bridger and remembers the paths it was asked to record to.
type RecordingBridger struct {
	Bridger
	// Fail, when set, is reported as why the recording stopped (a full
	// disk); the bridge itself goes on.
	Fail  error
	mu    sync.Mutex // protects paths
	paths []string
}

// BridgeRecorded implements call.RecordingBridger. It writes no file.
func (r *RecordingBridger) BridgeRecorded(ctx context.Context, a, b call.Leg, path string) (call.Recording, error) {
	r.mu.Lock()
	r.paths = append(r.paths, path)
	r.mu.Unlock()
	start := time.Now()
	err := r.Bridge(ctx, a, b)
	return call.Recording{Path: path, Duration: time.Since(start), Err: r.Fail}, err
}

// Paths lists the recordings asked for, in order.
func (r *RecordingBridger) Paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.paths...)
}
