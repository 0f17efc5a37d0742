package proslic

import (
	"sync"
	"time"

	"periph.io/x/conn/v3/spi"

	"ringbox/board/chipio"
	"ringbox/board/line"
)

// Write is one direct register write seen by a [Fake].
type Write struct{ Reg, Val byte }

// Fake is an Si3215 on the other end of an spi.Conn: a register file with
// the chip's reset values, the SPI framing decoded byte by byte, and a
// model of the line: the phone's hook switch, the linefeed the chip
// drives, ringing and ring trip, the battery converter and calibration.
// It is safe for concurrent use and uses only package time, so tests run
// it under testing/synctest.
type Fake struct {
	chipio.ByteBus // the SPI side: each byte to byteLocked

	mu        sync.Mutex // protects following
	reg       [128]byte
	ind       [128]uint16
	writes    []Write
	state     int  // SPI decoder: 0 control byte, 1 read data, 2 write data
	addr      byte // register of the access in progress
	idaWrote  bool // IDA written since the last IAA access: an indirect write
	iasBusy   int  // reads of register 31 still returning busy
	offHook   bool
	tripped   bool
	powerUpAt time.Time // when the converter was switched on
	calDoneAt time.Time
	dcCalAt   time.Time
	calStuck  bool
	id        byte
}

// NewFake returns an Si3215 (revision E) just out of reset, its phone on
// hook.
func NewFake() *Fake {
	f := &Fake{id: 0x05}
	f.ByteBus = chipio.ByteBus{Name: "proslic.Fake", Lock: &f.mu, Exchange: f.byteLocked}
	f.resetLocked()
	return f
}

func (f *Fake) resetLocked() {
	f.reg = [128]byte{}
	f.reg[regID] = f.id
	f.reg[regPCMMode] = 0x80 // Si3215
	f.reg[regLoopback] = resetLoopback
	f.reg[regHybrid] = resetHybrid
	f.reg[regPowerDown] = 0x10
	f.reg[regAutoCtl] = 0x1f
	f.reg[regVBATH] = 0x32
	f.reg[regDCCal] = 0x08
}

// SetID makes the fake answer register 0 with id (0 or 0x0f: no chip).
func (f *Fake) SetID(id byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.id, f.reg[regID] = id, id
}

// StallCalibration makes calibration never finish.
func (f *Fake) StallCalibration() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calStuck = true
}

// SetOffHook lifts (true) or hangs up (false) the phone.
func (f *Fake) SetOffHook(off bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offHook = off
	f.lineLocked()
}

// PowerAlarm makes the chip see a line transistor overheat: it latches a
// power-alarm interrupt and opens the linefeed, as with automatic power
// alarm handling on.
func (f *Fake) PowerAlarm() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reg[regIntStat2] |= 0x04
	f.reg[regLinefeed] = lfOpen
	f.lineLocked()
}

// Ringing reports whether ringing voltage is on the line: linefeed
// ringing and not tripped.
func (f *Fake) Ringing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reg[regLinefeed]&0x07 == lfRinging && f.poweredLocked()
}

// Feed is the DC feed the chip drives (FeedForward while ringing: the
// ring signal rides on forward battery).
func (f *Fake) Feed() line.Feed {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.poweredLocked() {
		return line.FeedOpen
	}
	switch f.reg[regLinefeed] & 0x07 {
	case lfForward, lfRinging:
		return line.FeedForward
	case lfReverse:
		return line.FeedReverse
	case lfOHTForward, lfOHTReverse:
		return line.FeedOnHookTx
	}
	return line.FeedOpen
}

// Reversed reports reverse polarity on the line.
func (f *Fake) Reversed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	lf := f.reg[regLinefeed] & 0x07
	return lf == lfReverse || lf == lfOHTReverse
}

// Writes returns the direct register writes so far, in order.
func (f *Fake) Writes() []Write {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Write(nil), f.writes...)
}

// Indirect returns indirect register a (the chip's own address).
func (f *Fake) Indirect(a byte) uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ind[a&0x7f]
}

func (f *Fake) poweredLocked() bool {
	return f.reg[regPowerDown]&0x10 == 0 && !f.powerUpAt.IsZero()
}

// lineLocked updates the status the chip derives from the line.
func (f *Fake) lineLocked() {
	lf := f.reg[regLinefeed] & 0x07
	if lf == lfRinging && f.offHook && f.poweredLocked() {
		// Ring trip; with automatic ring trip (register 67 bit 1) the
		// chip switches to forward active itself.
		f.tripped = true
		f.reg[regIntStat2] |= 0x01
		if f.reg[regAutoCtl]&0x02 != 0 {
			f.reg[regLinefeed] = lfForward
			lf = lfForward
		}
	}
	if !f.offHook {
		f.tripped = false
	}
	loop := f.offHook && f.poweredLocked() && lf != lfOpen && lf != lfRinging
	old := f.reg[regLoopStat]&stLoopClosure != 0
	st := byte(0)
	if loop {
		st |= stLoopClosure
	}
	if f.tripped {
		st |= stRingTrip
	}
	f.reg[regLoopStat] = st
	if loop != old {
		f.reg[regIntStat2] |= 0x02
	}
}

// readLocked is what the chip answers for reg now.
func (f *Fake) readLocked(reg byte) byte {
	now := time.Now()
	switch reg {
	case regLinefeed:
		lf := f.reg[regLinefeed] & 0x07
		return lf<<4 | lf // the state follows the setting at once
	case regVBATSense:
		if f.reg[regPowerDown]&0x10 != 0 || f.powerUpAt.IsZero() {
			return 0
		}
		// The converter ramps the battery to -75 V in about 40 ms.
		ramp := min(now.Sub(f.powerUpAt), 40*time.Millisecond)
		return byte(0xc8 * int64(ramp) / int64(40*time.Millisecond))
	case regCal1:
		if f.reg[regCal1] != 0 && (f.calStuck || now.Before(f.calDoneAt)) {
			return f.reg[regCal1]
		}
		f.reg[regCal1] = 0
		return 0
	case regDCCtl:
		if f.reg[regDCCtl]&0x80 != 0 && !now.Before(f.dcCalAt) {
			f.reg[regDCCtl] &^= 0x80
		}
	case regIAS:
		if f.iasBusy > 0 {
			f.iasBusy--
			return 0x01
		}
		return 0
	}
	return f.reg[reg]
}

func (f *Fake) writeLocked(reg, val byte) {
	f.writes = append(f.writes, Write{reg, val})
	now := time.Now()
	switch reg {
	case regID, regLoopStat, regVBATSense, regIAS:
		return // read only
	case regIntStat1, regIntStat2, regIntStat3:
		f.reg[reg] &^= val // write 1 to clear
		return
	case regPowerDown:
		if val&0x10 == 0 && f.reg[regPowerDown]&0x10 != 0 {
			f.powerUpAt = now
		}
		if val&0x10 != 0 {
			f.powerUpAt = time.Time{}
		}
	case regCal1:
		if val&0x40 != 0 {
			f.calDoneAt = now.Add(200 * time.Millisecond)
		}
	case regDCCtl:
		if val&0x80 != 0 {
			f.dcCalAt = now.Add(20 * time.Millisecond)
		}
	case regIDALo, regIDAHi:
		f.idaWrote = true
	case regIAA:
		a := val & 0x7f
		if f.idaWrote {
			f.ind[a] = uint16(f.reg[regIDAHi])<<8 | uint16(f.reg[regIDALo])
		} else {
			f.reg[regIDALo], f.reg[regIDAHi] = byte(f.ind[a]), byte(f.ind[a]>>8)
		}
		f.idaWrote = false
		f.iasBusy = 1
	case regLinefeed:
		val &= 0x07
		f.tripped = false
	}
	f.reg[reg] = val
	if reg == regLinefeed || reg == regPowerDown {
		f.lineLocked()
	}
}

// byteLocked decodes one byte of the SPI framing and returns the byte
// the chip drives on SDO meanwhile.
func (f *Fake) byteLocked(b byte) byte {
	switch f.state {
	case 1:
		f.state = 0
		return f.readLocked(f.addr)
	case 2:
		f.state = 0
		f.writeLocked(f.addr, b)
		return 0
	}
	f.addr = b & 0x7f
	if b&0x80 != 0 {
		f.state = 1
	} else {
		f.state = 2
	}
	return 0
}

var _ spi.Conn = (*Fake)(nil)
