package proslic

import (
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/spi"

	"ringbox/board/line"
)

// garbage is a chip that answers every read with the next byte of data.
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

// FuzzPoll feeds the hook detector arbitrary status: no panic, and off
// and on hook strictly alternate, starting with off hook.
func FuzzPoll(f *testing.F) {
	f.Add([]byte{0x01, 0x00, 0x01, 0x02, 0x00, 0x04})
	f.Add([]byte{0x03, 0xff, 0x00, 0x00})
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
	p := c.Port(0, 1, nil)
	c.mu.Lock()
	c.conn = &garbage{data: data}
	now := time.Now()
	want := line.OffHook
	for k := range 4 * len(data) {
		if k == len(data) {
			c.port.ringing = true
		}
		now = now.Add(5 * time.Millisecond)
		c.pollLocked(now)
		for len(p.Events()) > 0 {
			ev := <-p.Events()
			switch ev.Type {
			case line.OffHook, line.OnHook:
				if ev.Type != want {
					t.Fatalf("%v, want %v", ev.Type, want)
				}
				if want == line.OffHook {
					want = line.OnHook
				} else {
					want = line.OffHook
				}
			}
		}
	}
	c.conn = NewFake()
	c.mu.Unlock()
}
