// Package proslic drives a ProSLIC-class FXS line interface chip (Silicon
// Labs Si3210/Si3215, the register map DAHDI's wctdm driver documents)
// over SPI and gives its channel to the line engine as a [line.FXSPort].
//
// The driver does signalling only: it reads the loop-closure and
// ring-trip status, debounces hook changes, sets the linefeed (open,
// forward, reverse, on-hook transmission, ringing) and reports power
// alarms. Ring cadence, pulse digits, flash and caller ID are the line
// engine's (board/analog).
//
// # SPI framing
//
// A direct register access is two bytes, each in its own chip-select
// cycle, as wctdm.c's __write_8bits raises CS after every byte: a control
// byte (bit 7 set to read, bits 6:0 the register) and the data byte,
// clocked out by the host for a write and by the chip for a read.
// Indirect registers (the ring oscillator, thresholds) go through
// registers 28-31.
//
// # Si32178 and dual parts
//
// The Si3217x/Si3226x families (the Si32178 is a single-channel Si3217x)
// are not register compatible: they take a three-byte frame (a control
// byte with broadcast, read/write, register/RAM and channel bits, then
// address and data), have 16-bit-addressed RAM instead of indirect
// registers, an on-chip DC-DC controller that needs a board-specific
// converter profile (a wrong one can destroy the board), and their own
// linefeed and status registers. This package supports the Si3210/Si3215
// only; [Open] refuses more than one channel.
//
// # Time
//
// One goroutine per chip polls every Config.Poll and does all debouncing;
// Close stops and joins it. Tests run it under testing/synctest with
// [Fake].
package proslic

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/chipio"
	"ringbox/board/line"
)

// Config is a chip's setup.
type Config struct {
	Channels int           // channels on the chip (1 for Si3215/Si32178; 2 for dual parts)
	RingHz   int           // 20 or 25 (ring oscillator)
	RingVrms float64       // 0: 45
	Poll     time.Duration // hook polling period when no IRQ; 0: 5 ms
	Debounce time.Duration // 0: 20 ms (short enough for 60 ms pulse-dial breaks)
	Slot     int           // the channel's PCM slot (16-bit linear); the start count is Slot*16
	Logger   *slog.Logger  // nil: slog.Default()
}

// Timeouts of the init sequence (wctdm.c: 500 ms for the battery, 2 s
// for calibration).
const (
	batteryTimeout = 500 * time.Millisecond
	calTimeout     = 2 * time.Second
	minVBAT        = 0xc0 // register 82: 72 V, wctdm.c's power-up threshold
)

// ErrNotFound means no ProSLIC answered with its reset values.
var ErrNotFound = errors.New("proslic: no ProSLIC found")

// Chip is an open ProSLIC.
type Chip struct {
	conn spi.Conn
	cfg  Config
	log  *slog.Logger
	part string // "si3210" or "si3215"

	mu   sync.Mutex // protects following: the SPI bus and the channel
	pk   [2]spi.Packet
	wb   [2]byte
	rb   [2]byte
	port *port

	poll *chipio.Poller
}

// Open checks the chip's ID, runs its init sequence (DC-DC converter and
// battery, calibration, ring oscillator, linefeed forward active) and
// starts polling.
func Open(conn spi.Conn, cfg Config) (*Chip, error) {
	if cfg.Channels == 0 {
		cfg.Channels = 1
	}
	if cfg.Channels != 1 {
		return nil, fmt.Errorf("proslic: %d channels: only single-channel Si3210/Si3215 parts are supported", cfg.Channels)
	}
	if cfg.RingHz == 0 {
		cfg.RingHz = 20
	}
	if cfg.RingHz != 20 && cfg.RingHz != 25 {
		return nil, fmt.Errorf("proslic: ring frequency %d Hz: want 20 or 25", cfg.RingHz)
	}
	if cfg.RingVrms == 0 {
		cfg.RingVrms = 45
	}
	if cfg.Poll == 0 {
		cfg.Poll = 5 * time.Millisecond
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = 20 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Chip{conn: conn, cfg: cfg, log: cfg.Logger.With("pkg", "proslic")}
	c.pk[0].W, c.pk[1].W, c.pk[1].R = c.wb[:1], c.wb[1:], c.rb[1:]
	c.port = &port{c: c, events: chipio.NewEvents(16), feed: line.FeedForward}
	if err := c.init(); err != nil {
		// Leave the line dead and the converter off.
		c.writeReg(regLinefeed, lfOpen)
		c.writeReg(regPowerDown, 0x10)
		return nil, err
	}
	c.poll = chipio.Poll(c.cfg.Poll, func(now time.Time) {
		c.mu.Lock()
		c.pollLocked(now)
		c.mu.Unlock()
	})
	return c, nil
}

// init is the init sequence, in wctdm.c's order (wctdm_init_proslic).
func (c *Chip) init() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, err := c.read(regID)
	if err != nil {
		return err
	}
	if rev := id & 0x0f; rev == 0 || rev == 0x0f {
		return fmt.Errorf("%w: register 0 (ID) reads 0x%02x", ErrNotFound, id)
	}
	for _, chk := range []struct{ reg, want byte }{
		{regLoopback, resetLoopback}, {regLinefeed, lfOpen}, {regHybrid, resetHybrid},
	} {
		v, err := c.read(chk.reg)
		if err != nil {
			return err
		}
		if v != chk.want {
			return fmt.Errorf("%w: register %d reads 0x%02x, want its reset value 0x%02x", ErrNotFound, chk.reg, v, chk.want)
		}
	}
	pcm, err := c.read(regPCMMode)
	if err != nil {
		return err
	}
	c.part = "si3210"
	if pcm&0x80 != 0 {
		c.part = "si3215"
	}
	c.log.Info("found", "part", c.part, "revision", id&0x0f)

	steps := []struct{ reg, val byte }{
		{regPowerDown, 0x10}, // converter off while the indirect registers load
	}
	if err := c.writeAll(steps); err != nil {
		return err
	}
	for _, r := range indirects {
		if err := c.writeIndirect(r.addr, r.val); err != nil {
			return fmt.Errorf("proslic: indirect register %s: %w", r.name, err)
		}
	}
	if err := c.writeAll([]struct{ reg, val byte }{
		{regLoopback, 0},
		{regEnhance, 0xeb},
		{regAutoCtl, 0x07},
		{regBatFeed, 0x01},
		// Power up: converter period, out of power-down; wait for VBAT.
		{regDCPeriod, 0xff},
		{regPowerDown, 0x00},
	}); err != nil {
		return err
	}
	if err := c.waitReg(regVBATSense, batteryTimeout, func(v byte) bool { return v >= minVBAT }); err != nil {
		return fmt.Errorf("proslic: battery did not come up (register 82, VBAT sense, %s): check the converter supply", err)
	}
	if err := c.writeAll([]struct{ reg, val byte }{
		{regLoopLimit, 0x00}, // 20 mA
		{regDCCtl, 0x19},
		// Calibrate everything (wctdm_proslic_calibrate).
		{regCal2, 0x1f},
		{regCal1, 0x5f},
	}); err != nil {
		return err
	}
	if err := c.waitReg(regCal1, calTimeout, func(v byte) bool { return v == 0 }); err != nil {
		return fmt.Errorf("proslic: calibration failed (register 96 %s)", err)
	}
	if err := c.write(regDCCtl, 0x99); err != nil {
		return err
	}
	if err := c.waitReg(regDCCtl, calTimeout, func(v byte) bool { return v&0x80 == 0 }); err != nil {
		return fmt.Errorf("proslic: DC-DC calibration failed (register 93 %s)", err)
	}
	if v, err := c.read(regDCCal); err != nil {
		return err
	} else if v < 0x02 || v > 0x0d {
		c.log.Warn("dc-dc calibration out of range, using 0x08", "reg107", v)
		if err := c.write(regDCCal, 0x08); err != nil {
			return err
		}
	}
	start := uint16(c.cfg.Slot * 16)
	coef, x, vbath, err := ringCoefficients(c.cfg.RingHz, c.cfg.RingVrms)
	if err != nil {
		return err
	}
	if err := c.writeAll([]struct{ reg, val byte }{
		{regPCMMode, 0x38}, // PCM on, 16-bit linear
		{regTxStartLo, byte(start)}, {regTxStartHi, byte(start >> 8)},
		{regRxStartLo, byte(start)}, {regRxStartHi, byte(start >> 8)},
		{regIntStat1, 0xff}, {regIntStat2, 0xff}, {regIntStat3, 0xff},
		{regCommonV, 0x04},
		{regIntMask1, 0x00}, {regIntMask2, 0xff}, {regIntMask3, 0x00},
		{regRingOsc, 0x00}, // continuous: the engine plays the cadence
		{regVBATH, vbath},
	}); err != nil {
		return err
	}
	for _, r := range []struct {
		a byte
		v uint16
	}{{irRingY, 0}, {irRingTrip, 0x3600}, {irRingOsc, coef}, {irRingX, x}} {
		if err := c.writeIndirect(r.a, r.v); err != nil {
			return fmt.Errorf("proslic: ring oscillator: %w", err)
		}
	}
	return c.write(regLinefeed, lfForward)
}

// ringCoefficients computes the ring oscillator's RCO and RNGX and the
// high battery (register 74) for a sine of hz at vrms. The oscillator runs
// at 1 kHz: RCO = 2^15 cos(2 pi f / 1000), and RNGX = 2^15/4 *
// sqrt((1-c)/(1+c)) * Vpk / 98 V. Both reproduce wctdm.c's tables (25 Hz:
// 0x7e6d; RNGX 0x01b9 for ~67 Vpk, 0x0247 "89V peak", 0x014b "50V
// peak"; 20 Hz: 0x0160, 0x01d1 "89V peak") within 2%.
func ringCoefficients(hz int, vrms float64) (coef, x uint16, vbath byte, err error) {
	vpk := vrms * math.Sqrt2
	const headroom = 6 // volts between the ring peak and VBATH, as wctdm's 67 Vpk on 75 V
	vb := math.Ceil((vpk + headroom) / 1.5)
	if vb > 0x3f {
		return 0, 0, 0, fmt.Errorf("proslic: ring voltage %.0f Vrms is above the chip's %.0f Vrms", vrms, (0x3f*1.5-headroom)/math.Sqrt2)
	}
	vbath = byte(max(vb, 0x32))
	c := math.Cos(2 * math.Pi * float64(hz) / 1000)
	coef = uint16(math.Round(32768 * c))
	x = uint16(math.Round(32768 / 4 * math.Sqrt((1-c)/(1+c)) * vpk / 98))
	return coef, x, vbath, nil
}

// Port returns channel ch as the FXS port numbered n, with a as its voice
// path. Only channel 0 exists.
func (c *Chip) Port(ch, n int, a line.Audio) line.FXSPort {
	if ch != 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.port.n, c.port.audio = n, a
	return c.port
}

// Part is the chip found: "si3210" or "si3215".
func (c *Chip) Part() string { return c.part }

// Close opens every channel's linefeed and stops polling.
func (c *Chip) Close() error {
	if !c.poll.Stop() {
		return nil // closed already
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.port.closeLocked()
	if err := c.write(regLinefeed, lfOpen); err != nil {
		return fmt.Errorf("proslic: open linefeed: %w", err)
	}
	return nil
}

// pollLocked reads the loop status and the power alarms once.
func (c *Chip) pollLocked(now time.Time) {
	p := c.port
	if p.events.Closed() {
		return
	}
	st, err := c.read(regLoopStat)
	if err == nil {
		var ints byte
		ints, err = c.read(regIntStat2)
		if err == nil && ints != 0 {
			err = c.write(regIntStat2, ints) // write 1 to clear
			if ints&intPowerAlarm != 0 {
				p.powerAlarmLocked(ints, now)
			}
		}
	}
	if err != nil {
		if !p.spiFault {
			p.spiFault = true
			p.sendLocked(line.Event{Type: line.Fault, At: now, Detail: "chip not answering: " + err.Error()})
		}
		return
	}
	p.spiFault = false
	if p.ringing && st&stRingTrip != 0 {
		// The phone was lifted while ringing: the chip's ring-trip
		// detector (debounced by the chip) saw it. Stop the ringing and
		// report the answer now, without waiting for the hook debounce.
		p.ringing = false
		p.answeredLocked()
		c.write(regLinefeed, feedCode(p.feed))
		if !p.hook.State {
			p.hook.Force(true)
			p.sendLocked(line.Event{Type: line.OffHook, At: now})
		}
		return
	}
	if changed, at := p.hook.Update(st&stLoopClosure != 0, now, c.cfg.Debounce); changed {
		typ := line.OnHook
		if p.hook.State {
			typ = line.OffHook
			if p.answeredLocked() {
				c.write(regLinefeed, feedCode(p.feed))
			}
		}
		p.sendLocked(line.Event{Type: typ, At: at})
	}
}

// answeredLocked leaves on-hook transmission for forward active when the
// phone goes off hook, as wctdm's proslic_check_hook does: on-hook
// transmission is for caller ID to an idle phone, and talking needs the
// normal feed. It reports whether the feed changed.
func (p *port) answeredLocked() bool {
	if p.feed != line.FeedOnHookTx {
		return false
	}
	p.feed = line.FeedForward
	return true
}

// read, write: one register access. Callers hold mu.
func (c *Chip) read(reg byte) (byte, error) {
	c.wb[0], c.wb[1] = reg|0x80, 0
	if err := c.conn.TxPackets(c.pk[:]); err != nil {
		return 0, fmt.Errorf("proslic: read register %d: %w", reg, err)
	}
	return c.rb[1], nil
}

func (c *Chip) write(reg, val byte) error {
	c.wb[0], c.wb[1] = reg&0x7f, val
	if err := c.conn.TxPackets(c.pk[:]); err != nil {
		return fmt.Errorf("proslic: write register %d: %w", reg, err)
	}
	return nil
}

// writeReg is write with the lock taken, for Open's error path.
func (c *Chip) writeReg(reg, val byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.write(reg, val)
}

func (c *Chip) writeAll(rs []struct{ reg, val byte }) error {
	for _, r := range rs {
		if err := c.write(r.reg, r.val); err != nil {
			return err
		}
	}
	return nil
}

// waitReg polls reg every millisecond until ok or timeout.
func (c *Chip) waitReg(reg byte, timeout time.Duration, ok func(byte) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		v, err := c.read(reg)
		if err != nil {
			return err
		}
		if ok(v) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reads 0x%02x after %v", v, timeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeIndirect writes an indirect register by its Si3210 address,
// translated for the Si3215 (wctdm_proslic_setreg_indirect).
func (c *Chip) writeIndirect(addr byte, val uint16) error {
	if c.part == "si3215" {
		a, ok := addr3215(addr)
		if !ok {
			return nil
		}
		addr = a
	}
	if err := c.waitIndirect(); err != nil {
		return err
	}
	if err := c.writeAll([]struct{ reg, val byte }{
		{regIDALo, byte(val)}, {regIDAHi, byte(val >> 8)}, {regIAA, addr},
	}); err != nil {
		return err
	}
	return c.waitIndirect()
}

func (c *Chip) waitIndirect() error {
	for range 100 {
		v, err := c.read(regIAS)
		if err != nil {
			return err
		}
		if v&0x01 == 0 {
			return nil
		}
	}
	return errors.New("indirect access still busy (register 31)")
}

func feedCode(f line.Feed) byte {
	switch f {
	case line.FeedForward:
		return lfForward
	case line.FeedReverse:
		return lfReverse
	case line.FeedOnHookTx:
		return lfOHTForward
	}
	return lfOpen
}

// port is the chip's channel as a line.FXSPort.
type port struct {
	c      *Chip
	n      int
	audio  line.Audio
	events *chipio.Events

	// Guarded by c.mu.
	feed     line.Feed // the DC feed asked for (restored after ringing)
	ringing  bool
	hook     chipio.Debounce
	spiFault bool // a Fault for SPI errors was sent
	alarms   int
}

func (p *port) Kind() line.Kind           { return line.FXS }
func (p *port) N() int                    { return p.n }
func (p *port) Events() <-chan line.Event { return p.events.C() }
func (p *port) Audio() line.Audio         { return p.audio }

// SetFeed sets the DC feed; while ringing it takes effect when ringing
// stops.
func (p *port) SetFeed(f line.Feed) error {
	if f > line.FeedOnHookTx {
		return fmt.Errorf("proslic: unknown feed %v", f)
	}
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.events.Closed() {
		return line.ErrClosed
	}
	p.feed = f
	if p.ringing {
		return nil // applied when ringing stops
	}
	return p.c.write(regLinefeed, feedCode(f))
}

// Ring switches the ringing linefeed on, or back to the feed set last.
// A phone already off hook is not rung (it would trip at once).
func (p *port) Ring(on bool) error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.events.Closed() {
		return line.ErrClosed
	}
	if on == p.ringing {
		return nil
	}
	if on && p.hook.State {
		return nil // off hook: ringing would trip at once
	}
	p.ringing = on
	if on {
		return p.c.write(regLinefeed, lfRinging)
	}
	return p.c.write(regLinefeed, feedCode(p.feed))
}

func (p *port) OffHook() bool {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	return p.hook.State
}

// Close opens the linefeed and ends Events.
func (p *port) Close() error {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.events.Closed() {
		return nil
	}
	p.closeLocked()
	return p.c.write(regLinefeed, lfOpen)
}

func (p *port) closeLocked() { p.events.Close() }

// powerAlarmLocked reports a power alarm and restores the linefeed, which
// the chip opened to protect its transistors (as wctdm's
// proslic_recheck_sanity does).
func (p *port) powerAlarmLocked(ints byte, now time.Time) {
	p.alarms++
	p.ringing = false
	p.c.write(regLinefeed, feedCode(p.feed))
	p.c.log.Warn("power alarm", "port", p.n, "reg19", ints)
	p.sendLocked(line.Event{Type: line.Fault, At: now,
		Detail: fmt.Sprintf("power alarm (register 19 = 0x%02x): a line transistor is overheating; check the line for a short", ints)})
}

// sendLocked delivers ev without blocking (chipio.Events).
func (p *port) sendLocked(ev line.Event) { p.events.Send(ev) }
