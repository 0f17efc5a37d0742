// Package si3050 drives a Silicon Labs Si3050 DAA (with its Si3018/19
// line side) over SPI and gives the telephone line to the line engine as
// a [line.FXOPort].
//
// The driver seizes and releases the line, and watches it: ringing from
// the ring-detect bits, the line voltage (battery, polarity, another
// phone off hook on the same pair) and, while it holds the line, the loop
// current. The on-hook line monitor stays on so the voice path hears
// caller ID between rings. Cadence validation, caller ID decoding and
// dialling are the line engine's (board/analog).
//
// # SPI framing
//
// Every access is three bytes, each in its own chip-select cycle as
// wctdm.c's __write_8bits does: a control byte (0x20 write, 0x60 read),
// the register, and the data (from the host for a write, from the chip
// for a read).
//
// # Time
//
// One goroutine polls every Config.Poll and does all debouncing; Close
// stops and joins it. Tests run it under testing/synctest with [Fake].
package si3050

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/chipio"
	"ringbox/board/line"
)

// Config is a DAA's setup.
type Config struct {
	Country        string        // "us" (FCC) or "ctr21" (European); DC termination / AC impedance per DAHDI fxo_modes.h
	Poll, Debounce time.Duration // 0: 5 ms and 64 ms (DAHDI battdebounce)
	Slot           int           // the port's PCM slot (16-bit linear); the start count is Slot*16
	Logger         *slog.Logger  // nil: slog.Default()
}

// Line thresholds.
const (
	// BatteryVolts: below it the line has no battery (fxo_modes.h
	// battthresh = 3).
	BatteryVolts = 3
	// ParallelVolts: an idle line sits at 40-52 V and an off-hook phone
	// pulls it to 5-12 V; below this, with the box on hook and no
	// ringing, another phone on the pair holds the line.
	ParallelVolts = 20
	// LoopLostMA: while the box holds the line, a loop current under
	// this is an open loop (the exchange disconnected). An off-hook DAA
	// draws 20-60 mA; 5 mA is clear of noise and of any real loop.
	LoopLostMA = 5
	// loopArmMA: the loop current must first reach this after seizing
	// (it takes a few ms to build up).
	loopArmMA = 10
	// mAPerLSB is register 28's scale.
	mAPerLSB = 1.1
)

const lineSideTimeout = 2 * time.Second // wctdm.c waits 2 s for the ISO link

// ErrNotFound means no Si3050 answered with its reset values.
var ErrNotFound = errors.New("si3050: no Si3050 found")

// Chip is an open DAA.
type Chip struct {
	conn spi.Conn
	cfg  Config
	mode mode
	log  *slog.Logger

	mu   sync.Mutex // protects following: the SPI bus and the port
	pk   [3]spi.Packet
	wb   [3]byte
	rb   [3]byte
	port *port

	poll *chipio.Poller
}

// Open checks the DAA's ID, brings up the line side with the country's
// settings and the on-hook line monitor, and starts polling.
func Open(conn spi.Conn, cfg Config) (*Chip, error) {
	if cfg.Country == "" {
		cfg.Country = "us"
	}
	m, ok := modes[strings.ToLower(cfg.Country)]
	if !ok {
		names := make([]string, 0, len(modes))
		for n := range modes {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, fmt.Errorf("si3050: unknown country %q (have %s)", cfg.Country, strings.Join(names, ", "))
	}
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 64 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Chip{conn: conn, cfg: cfg, mode: m, log: cfg.Logger.With("pkg", "si3050")}
	for i := range c.pk {
		c.pk[i].W, c.pk[i].R = c.wb[i:i+1], c.rb[i:i+1]
	}
	c.port = &port{c: c, events: chipio.NewEvents(16)}
	c.mu.Lock()
	err := c.initLocked()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	c.poll = chipio.Poll(c.cfg.Poll, func(now time.Time) {
		c.mu.Lock()
		c.pollLocked(now)
		c.mu.Unlock()
	})
	return c, nil
}

// initLocked is wctdm.c's wctdm_init_voicedaa with the country's mode.
func (c *Chip) initLocked() error {
	v, err := c.read(regControl2)
	if err != nil {
		return err
	}
	if v != resetControl2 {
		return fmt.Errorf("%w: register 2 reads 0x%02x, want its reset value 0x%02x", ErrNotFound, v, resetControl2)
	}
	if err := c.write(regControl1, 0x80); err != nil { // soft reset
		return err
	}
	time.Sleep(100 * time.Millisecond) // wctdm.c: "Wait just a bit" (HZ/10)
	start := uint16(c.cfg.Slot * 16)
	for _, w := range []struct{ reg, val byte }{
		// Start counts before enabling PCM (A: "Set reg34~37 before set reg33").
		{regTxStart, byte(start)}, {regTxStart + 1, byte(start >> 8)},
		{regRxStart, byte(start)}, {regRxStart + 1, byte(start >> 8)},
		{regPCMMode, 0x38}, // PCM on, 16-bit linear
		{regIntl1, c.mode.reg16()},
		{regIntl3, 0x00}, {regRingVal3, 0x19}, // device-default ring detector
		{regDCTerm, c.mode.reg26()},
		{regACTerm, c.mode.acim},
		{regDAACtl5, c.mode.reg31()},
		{regDAACtl2, 0x00}, // power up the line side over the isolation link
	} {
		if err := c.write(w.reg, w.val); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(lineSideTimeout)
	for {
		v, err := c.read(regRevision)
		if err != nil {
			return err
		}
		if v&0xf0 != 0 {
			c.log.Info("found", "line_side", lineSide(v>>4), "revision", v&0x0f)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("si3050: the line side did not come up (register 11 reads 0x%02x after %v): check the isolation capacitors and the Si3018/19", v, lineSideTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.write(regDAACtl1, daaONHM); err != nil {
		return err
	}
	// Start from the line as it is now; report a missing battery or a
	// parallel phone at once.
	lv, err := c.read(regLineVolt)
	if err != nil {
		return err
	}
	p, volts, now := c.port, int8(lv), time.Now()
	p.volts = volts
	p.battery.Force(abs(volts) >= BatteryVolts)
	p.negative.Force(volts < 0)
	if !p.battery.State {
		p.sendLocked(line.Event{Type: line.BatteryLost, At: now})
	} else if abs(volts) < ParallelVolts {
		p.parallel.Force(true)
		p.sendLocked(line.Event{Type: line.ParallelOffHook, At: now})
	}
	return nil
}

func lineSide(id byte) string {
	switch id {
	case 1:
		return "si3018"
	case 3:
		return "si3019"
	}
	return fmt.Sprintf("unknown(%d)", id)
}

func abs(v int8) int {
	if v < 0 {
		return -int(v)
	}
	return int(v)
}

// Port returns the DAA's line as the FXO port numbered n, with a as its
// voice path.
func (c *Chip) Port(n int, a line.Audio) line.FXOPort {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.port.n, c.port.audio = n, a
	return c.port
}

// Close puts the line on hook and stops polling.
func (c *Chip) Close() error {
	if !c.poll.Stop() {
		return nil // closed already
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.port.closeLocked()
	if err := c.write(regDAACtl1, daaONHM); err != nil {
		return fmt.Errorf("si3050: release the line: %w", err)
	}
	return nil
}

func (c *Chip) read(reg byte) (byte, error) {
	c.wb[0], c.wb[1], c.wb[2] = ctlRead, reg, 0
	if err := c.conn.TxPackets(c.pk[:]); err != nil {
		return 0, fmt.Errorf("si3050: read register %d: %w", reg, err)
	}
	return c.rb[2], nil
}

func (c *Chip) write(reg, val byte) error {
	c.wb[0], c.wb[1], c.wb[2] = ctlWrite, reg, val
	if err := c.conn.TxPackets(c.pk[:]); err != nil {
		return fmt.Errorf("si3050: write register %d: %w", reg, err)
	}
	return nil
}

// pollLocked reads the ring bits, the line voltage and (off hook) the
// loop current once and updates every detector.
func (c *Chip) pollLocked(now time.Time) {
	p := c.port
	if p.events.Closed() {
		return
	}
	r5, err := c.read(regDAACtl1)
	var lv, lc byte
	if err == nil {
		lv, err = c.read(regLineVolt)
	}
	if err == nil && p.offHook {
		lc, err = c.read(regLoopCur)
	}
	if err != nil {
		if !p.spiFault {
			p.spiFault = true
			p.sendLocked(line.Event{Type: line.Fault, At: now, Detail: "DAA not answering: " + err.Error()})
		}
		return
	}
	p.spiFault = false
	want := byte(daaONHM)
	if p.offHook {
		want |= daaOH
	}
	if r5&(daaOH|daaONHM) != want {
		// The DAA lost its settings (a brown-out reset): put the hook
		// back as wctdm.c's voicedaa_check_hook does.
		c.write(regDAACtl1, want)
	}
	volts := int8(lv)
	p.volts, p.loopmA = volts, float64(lc)*mAPerLSB
	d := c.cfg.Debounce

	// Battery.
	if changed, at := p.battery.Update(abs(volts) >= BatteryVolts, now, d); changed {
		typ := line.BatteryLost
		if p.battery.State {
			typ = line.BatteryRestored
		}
		p.sendLocked(line.Event{Type: typ, At: at})
	}

	// Ringing: an integrator as wctdm.c's (ring bits add four times what
	// their absence takes away), so the alternating RDTP/RDTN bits of a
	// 15-68 Hz ring make a steady RingOn within Debounce/4 and RingOff
	// comes Debounce after the last ring bit.
	if !p.offHook {
		raw := r5&daaRing != 0 && p.battery.State
		if raw {
			if p.ringLevel == 0 {
				p.ringFrom = now
			}
			p.ringLevel = min(p.ringLevel+4*c.cfg.Poll, d)
			p.ringLast = now
		} else {
			p.ringLevel = max(p.ringLevel-c.cfg.Poll, 0)
		}
		if !p.ringing && p.ringLevel >= d {
			p.ringing = true
			p.sendLocked(line.Event{Type: line.RingOn, At: p.ringFrom})
		} else if p.ringing && p.ringLevel == 0 {
			p.ringing = false
			p.sendLocked(line.Event{Type: line.RingOff, At: p.ringLast})
		}
	}
	quietLine := p.ringLevel == 0 && abs(volts) >= BatteryVolts

	// Polarity, debounced as wctdm.c's POLARITY_DEBOUNCE (64 ms); the
	// ring signal swings both ways and is not a reversal.
	if quietLine {
		if changed, at := p.negative.Update(volts < 0, now, d); changed {
			p.sendLocked(line.Event{Type: line.PolarityReversal, At: at})
		}
	} else {
		p.negative.Update(p.negative.State, now, d)
	}

	// Another phone on the pair.
	if quietLine && !p.offHook && p.battery.State {
		if changed, at := p.parallel.Update(abs(volts) < ParallelVolts, now, d); changed {
			typ := line.ParallelOnHook
			if p.parallel.State {
				typ = line.ParallelOffHook
			}
			p.sendLocked(line.Event{Type: typ, At: at})
		}
	} else {
		p.parallel.Update(p.parallel.State, now, d)
	}

	// Loop current while the box holds the line.
	if p.offHook {
		if p.loopmA >= loopArmMA {
			p.loopArmed = true
		}
		if changed, at := p.loopLow.Update(p.loopArmed && p.loopmA < LoopLostMA, now, d); changed && p.loopLow.State {
			p.loopArmed = false
			p.loopLow.Force(false)
			p.sendLocked(line.Event{Type: line.LoopCurrentLost, At: at})
		}
	}
}

// port is the DAA's line as a line.FXOPort.
type port struct {
	c      *Chip
	n      int
	audio  line.Audio
	events *chipio.Events

	// Guarded by c.mu.
	offHook   bool
	volts     int8
	loopmA    float64
	battery   chipio.Debounce // state: battery present
	negative  chipio.Debounce // state: tip negative (reversed)
	parallel  chipio.Debounce // state: another phone off hook
	loopLow   chipio.Debounce
	loopArmed bool
	ringLevel time.Duration
	ringFrom  time.Time
	ringLast  time.Time
	ringing   bool
	spiFault  bool
}

func (p *port) Kind() line.Kind           { return line.FXO }
func (p *port) N() int                    { return p.n }
func (p *port) Events() <-chan line.Event { return p.events.C() }
func (p *port) Audio() line.Audio         { return p.audio }

func (p *port) SetHook(off bool) error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.events.Closed() {
		return line.ErrClosed
	}
	v := byte(daaONHM)
	if off {
		v |= daaOH
	}
	if err := p.c.write(regDAACtl1, v); err != nil {
		return err
	}
	p.offHook = off
	p.loopArmed = false
	p.loopLow.Force(false)
	if off {
		// Answering ends the ringing; the engine knows, so no RingOff.
		p.ringing, p.ringLevel = false, 0
	}
	return nil
}

func (p *port) Status() line.FXOStatus {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	st := line.FXOStatus{OffHook: p.offHook, Voltage: float64(p.volts), LoopCurrent: p.loopmA}
	if p.events.Closed() {
		return st
	}
	if v, err := p.c.read(regLineVolt); err == nil {
		st.Voltage = float64(int8(v))
	}
	if p.offHook {
		if v, err := p.c.read(regLoopCur); err == nil {
			st.LoopCurrent = math.Round(float64(v)*mAPerLSB*10) / 10
		}
	} else {
		st.LoopCurrent = 0
	}
	return st
}

// Close releases the line and ends Events.
func (p *port) Close() error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.events.Closed() {
		return nil
	}
	p.closeLocked()
	p.offHook = false
	return p.c.write(regDAACtl1, daaONHM)
}

func (p *port) closeLocked() { p.events.Close() }

// sendLocked delivers ev without blocking (chipio.Events).
func (p *port) sendLocked(ev line.Event) { p.events.Send(ev) }
