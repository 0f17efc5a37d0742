package si3050

import (
	"math"
	"ringbox/board/chipio"
	"sync"
	"time"

	"periph.io/x/conn/v3/spi"
)

// Write is one register write seen by a [Fake].
type Write struct{ Reg, Val byte }

// Fake is an Si3050 with an Si3018 line side on the other end of an
// spi.Conn, and the telephone line behind it: the exchange's battery,
// ringing and polarity, a parallel phone on the pair and the loop
// current. It decodes the SPI framing byte by byte, keeps the chip's
// reset values and read-only registers, and brings the line side up a
// little after it is powered. It is safe for concurrent use and uses only
// package time, so tests run it under testing/synctest.
type Fake struct {
	chipio.ByteBus // the SPI side: each byte to byteLocked

	mu       sync.Mutex // protects following
	reg      [64]byte
	writes   []Write
	state    int // SPI decoder: 0 control, 1 register, 2 data
	read     bool
	addr     byte
	lineUpAt time.Time // when the line side answers; zero: powered down
	absent   bool
	stall    bool

	battery   float64 // exchange battery, volts
	reversed  bool
	ringing   bool
	ringSince time.Time
	parallel  bool
	loopmA    float64
}

// NewFake returns a DAA just out of reset on a healthy idle line: 48 V
// battery, normal polarity, 25 mA of loop current when seized.
func NewFake() *Fake {
	f := &Fake{battery: 48, loopmA: 25}
	f.ByteBus = chipio.ByteBus{Name: "si3050.Fake", Lock: &f.mu, Exchange: f.byteLocked}
	f.resetLocked()
	return f
}

func (f *Fake) resetLocked() {
	f.reg = [64]byte{}
	f.reg[regControl2] = resetControl2
	f.reg[regDAACtl2] = 0x10 // line side powered down
	f.reg[regRevision] = 0x05
	f.lineUpAt = time.Time{}
}

// SetAbsent makes the bus float: every read returns 0xff.
func (f *Fake) SetAbsent(v bool) { f.do(func() { f.absent = v }) }

// StallLineSide keeps the line side from ever answering.
func (f *Fake) StallLineSide() { f.do(func() { f.stall = true }) }

// SetBattery sets the exchange's battery voltage (0: no battery).
func (f *Fake) SetBattery(volts float64) { f.do(func() { f.battery = volts }) }

// Ring switches the exchange's ringing voltage (20 Hz) on or off.
func (f *Fake) Ring(on bool) {
	f.do(func() {
		if on && !f.ringing {
			f.ringSince = time.Now()
		}
		f.ringing = on
	})
}

// ReversePolarity swaps tip and ring.
func (f *Fake) ReversePolarity() { f.do(func() { f.reversed = !f.reversed }) }

// SetParallelOffHook lifts or hangs up another phone on the pair.
func (f *Fake) SetParallelOffHook(v bool) { f.do(func() { f.parallel = v }) }

// SetLoopCurrent sets the current the exchange feeds a seized line; 0 is
// an open loop.
func (f *Fake) SetLoopCurrent(mA float64) { f.do(func() { f.loopmA = mA }) }

// OffHook reports whether the box holds the line.
func (f *Fake) OffHook() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.offHookLocked()
}

// Writes returns the register writes so far, in order.
func (f *Fake) Writes() []Write {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Write(nil), f.writes...)
}

func (f *Fake) do(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func (f *Fake) upLocked() bool {
	return !f.lineUpAt.IsZero() && !f.stall && !time.Now().Before(f.lineUpAt)
}

func (f *Fake) offHookLocked() bool { return f.reg[regDAACtl1]&daaOH != 0 && f.upLocked() }

// voltsLocked is the tip-ring voltage the line side measures now.
func (f *Fake) voltsLocked() float64 {
	if !f.upLocked() || f.battery == 0 {
		return 0
	}
	sign := 1.0
	if f.reversed {
		sign = -1
	}
	switch {
	case f.ringing && !f.offHookLocked():
		// 20 Hz ringing on top of the battery: the measurement swings
		// both ways, as the RDTP/RDTN bits do.
		if f.ringPositiveLocked() {
			return 90
		}
		return -90
	case f.offHookLocked() && f.loopmA > 0:
		return sign * 7 // across the DAA's DC termination
	case f.parallel && !f.offHookLocked():
		return sign * 8 // the other phone's off-hook voltage
	}
	return sign * f.battery
}

func (f *Fake) ringPositiveLocked() bool {
	const period = 50 * time.Millisecond // 20 Hz
	return time.Since(f.ringSince)%period < period/2
}

func (f *Fake) readLocked(reg byte) byte {
	if f.absent {
		return 0xff
	}
	switch reg {
	case regRevision:
		if f.upLocked() {
			return 0x10 | f.reg[regRevision]&0x0f // Si3018
		}
		return f.reg[regRevision] & 0x0f
	case regLineStat:
		if f.upLocked() {
			return 0x40 // frame detect
		}
		return 0
	case regDAACtl1:
		v := f.reg[regDAACtl1] &^ (daaRing | 0x04)
		if f.ringing && f.upLocked() && !f.offHookLocked() && f.battery > 0 {
			v |= 0x04 // RDT
			if f.ringPositiveLocked() {
				v |= 0x20
			} else {
				v |= 0x40
			}
		}
		return v
	case regLineVolt:
		v := math.Round(max(-127, min(127, f.voltsLocked())))
		return byte(int8(v))
	case regLoopCur:
		if !f.offHookLocked() || f.battery == 0 {
			return 0
		}
		return byte(min(255, math.Round(f.loopmA/mAPerLSB)))
	}
	return f.reg[reg]
}

func (f *Fake) writeLocked(reg, val byte) {
	f.writes = append(f.writes, Write{reg, val})
	switch reg {
	case regRevision, regLineStat, regLoopCur, regLineVolt:
		return // read only
	case regControl1:
		if val&0x80 != 0 {
			f.resetLocked() // SR clears itself
			return
		}
	case regDAACtl1:
		val &^= daaRing | 0x04 // status bits
	case regDAACtl2:
		if val&0x10 == 0 && f.lineUpAt.IsZero() {
			f.lineUpAt = time.Now().Add(20 * time.Millisecond)
		} else if val&0x10 != 0 {
			f.lineUpAt = time.Time{}
		}
	}
	f.reg[reg] = val
}

func (f *Fake) byteLocked(b byte) byte {
	switch f.state {
	case 0:
		if b&0xb3 != 0x20 { // not a control byte: stay in sync
			return 0
		}
		f.read, f.state = b&0x40 != 0, 1
	case 1:
		f.addr, f.state = b&0x7f, 2
	case 2:
		f.state = 0
		if f.read {
			return f.readLocked(f.addr)
		}
		f.writeLocked(f.addr, b)
	}
	return 0
}

var _ spi.Conn = (*Fake)(nil)
