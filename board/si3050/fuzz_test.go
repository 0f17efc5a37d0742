package si3050

import (
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
)

// garbage is a DAA that answers every read with the next byte of data: a
// broken or noisy chip, or one that reset under the driver.
type garbage struct {
	data []byte
	i    int
}

func (g *garbage) TxPackets(p []spi.Packet) error {
	for _, pk := range p {
		for k := range pk.R {
			if len(g.data) > 0 {
				pk.R[k] = g.data[g.i%len(g.data)]
				g.i++
			}
		}
	}
	return nil
}
func (g *garbage) Tx(w, r []byte) error { return g.TxPackets([]spi.Packet{{W: w, R: r}}) }
func (g *garbage) Duplex() conn.Duplex  { return conn.Full }
func (g *garbage) String() string       { return "garbage" }

// FuzzPoll feeds the detectors arbitrary register values: the driver must
// not panic and its reports must stay consistent (every lost has a
// restored before the next lost, and so on).
func FuzzPoll(f *testing.F) {
	f.Add([]byte{0x08, 48, 0x28, 90, 0x48, 0xa6})
	f.Add([]byte{0x08, 0, 0x08, 5, 0x08, 0xfb})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { fuzzPoll(t, data) })
	})
}

func fuzzPoll(t *testing.T, data []byte) {
	c, err := Open(NewFake(), Config{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := c.Port(1, nil)
	c.mu.Lock()
	c.conn = &garbage{data: data}
	now := time.Now()
	pairs := map[line.EvType]line.EvType{
		line.RingOff: line.RingOn, line.BatteryRestored: line.BatteryLost, line.ParallelOnHook: line.ParallelOffHook,
	}
	last := map[line.EvType]line.EvType{}
	for k := range 4 * len(data) {
		if k == len(data) {
			p.(*port).offHook = true // the second half off hook
		}
		now = now.Add(5 * time.Millisecond)
		c.pollLocked(now)
		for len(p.Events()) > 0 {
			ev := <-p.Events()
			for off, on := range pairs {
				if ev.Type == on || ev.Type == off {
					if last[on] == ev.Type {
						t.Fatalf("%v twice in a row", ev.Type)
					}
					if ev.Type == off && last[on] == 0 {
						t.Fatalf("%v before any %v", off, on)
					}
					last[on] = ev.Type
				}
			}
		}
	}
	c.conn = NewFake()
	c.mu.Unlock()
}
