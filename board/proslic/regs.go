package proslic

// Direct registers of the Si3210/Si3215 (the map DAHDI's proslic.h and
// wctdm.c use; numbers are decimal as there). Sources per register:
// D = asterisk/dahdi-linux drivers/dahdi/wctdm.c, H = drivers/dahdi/proslic.h,
// X = drivers/dahdi/wctdm24xxp/base.c.
const (
	regID        = 0   // part number (bits 5:4) and revision (3:0); D wctdm_proslic_insane
	regPCMMode   = 1   // PCM format; bit 7 reads 1 on an Si3215 (D "ProSLIC 3215, not a 3210")
	regTxStartLo = 2   // PCM transmit start count, in PCLKs after FSYNC (D "Tx Start count")
	regTxStartHi = 3   //
	regRxStartLo = 4   // PCM receive start count (D "Rx Start count")
	regRxStartHi = 5   //
	regLoopback  = 8   // audio loopback; resets to 0x02 (D insane (1): "should be 2")
	regHybrid    = 11  // hybrid; resets to 0x33 (D insane (3))
	regPowerDown = 14  // power-down control 1; 0x10 turns the DC-DC converter off (D powerleak_test)
	regIntStat1  = 18  // interrupt status 1..3, write 1 to clear (D "clear all interrupt")
	regIntStat2  = 19  // bit 0 ring trip, bit 1 loop closure, bits 2-7 power alarms Q1-Q6 (X PAQ_DEBUG "Transistor interrupts", res &= ~0x3)
	regIntStat3  = 20  //
	regIntMask1  = 21  // interrupt enables (D, #if 0 block: 22 = loop detection)
	regIntMask2  = 22  //
	regIntMask3  = 23  //
	regIDALo     = 28  // indirect data, low byte (H IDA_LO)
	regIDAHi     = 29  // indirect data, high byte (H IDA_HI)
	regIAA       = 30  // indirect address; writing it starts the access (H IAA)
	regIAS       = 31  // indirect access status, bit 0 busy (H ID_ACCES_STATUS, IAS_BIT)
	regRingOsc   = 34  // ringing oscillator control; 0: continuous, cadence in software (D init_ring_generator_mode)
	regLinefeed  = 64  // linefeed control: bits 2:0 set, bits 6:4 read back the state (H LINE_STATE, SLIC_LF_*)
	regBatFeed   = 66  // battery feed control; 1 turns Q7 off (D "Turn off Q7")
	regAutoCtl   = 67  // automatic/manual control (H AUTO_STATE); 0x07 per D: automatic ring trip, loop closure and power-alarm handling, no automatic battery switching (bit 4)
	regLoopStat  = 68  // bit 0 loop closure (LCR), bit 1 ring trip (RTP) (H LOOP_STAT; D check_hook "hook = res & 1")
	regLoopLimit = 71  // loop current limit, (mA-20)/3 (D powerup_proslic, H LOOP_I_LIMIT)
	regCommonV   = 73  // common-mode voltage; D writes 0x04
	regVBATH     = 74  // high battery voltage, 1.5 V/bit: 0x32 = 75 V, 0x3f = 94.5 V (D set_ring_generator_mode)
	regVBATSense = 82  // battery voltage sense, 376 mV/bit (D powerup_proslic "vbat * 376 / 1000")
	regDCPeriod  = 92  // DC-DC converter PWM period; 0xff (D powerup_proslic)
	regDCCtl     = 93  // DC-DC converter control: 0x19 engage, 0x99 calibrate, bit 7 busy (D)
	regCal1      = 96  // calibration control/status 1: 0x5f starts all, reads 0 when done (D proslic_calibrate)
	regCal2      = 97  // calibration enables 2: 0x1f all (D proslic_calibrate)
	regDCCal     = 107 // DC-DC calibration result; 2..0x0d is sane, else 0x08 (D init_proslic)
	regEnhance   = 108 // revision C enhancement enable; 0xeb (D "Revision C optimization")
)

// Linefeed codes, register 64 bits 2:0 (H SLIC_LF_*).
const (
	lfOpen       = 0x0
	lfForward    = 0x1
	lfOHTForward = 0x2 // forward on-hook transmission (caller ID between rings)
	lfRinging    = 0x4
	lfReverse    = 0x5
	lfOHTReverse = 0x6
)

const (
	stLoopClosure = 0x01 // register 68 LCR
	stRingTrip    = 0x02 // register 68 RTP
	intPowerAlarm = 0xfc // register 19, Q1..Q6
)

// Reset values the driver checks to find the chip (D wctdm_proslic_insane).
const (
	resetLoopback = 0x02
	resetHybrid   = 0x33
)

// indirect is one indirect register the init sequence sets: its Si3210
// address, its Si3215 address (0xff: absent on the Si3215) and value.
// Values are the ones wctdm.c's indirect_regs table loads (D), which
// Silicon Labs' application note gives for these parts.
type indirect struct {
	addr, addr3215 byte
	val            uint16
	name           string
}

// Ring oscillator indirect registers (D indirect_regs: RING_OSC, RING_X,
// RING_Y, RING_TRIP_TRES) as Si3210 addresses; translated for the Si3215.
const (
	irRingOsc  = 20
	irRingX    = 21
	irRingY    = 22
	irRingTrip = 29
)

var indirects = []indirect{
	{13, 0, 0x7b30, "OSC1_COEF"},
	{14, 1, 0x0063, "OSC1X"},
	{15, 2, 0x0000, "OSC1Y"},
	{16, 3, 0x7870, "OSC2_COEF"},
	{17, 4, 0x007d, "OSC2X"},
	{18, 5, 0x0000, "OSC2Y"},
	{19, 6, 0x0000, "RING_V_OFF"},
	{26, 13, 0x2000, "RECV_DIGITAL_GAIN"},
	{27, 14, 0x4000, "XMIT_DIGITAL_GAIN"},
	{28, 15, 0x1000, "LOOP_CLOSE_TRES"},
	{29, 16, 0x3600, "RING_TRIP_TRES"},
	{30, 17, 0x1000, "COMMON_MIN_TRES"},
	{31, 18, 0x0200, "COMMON_MAX_TRES"},
	{32, 19, 0x07c0, "PWR_ALARM_Q1Q2"},
	{33, 20, 0x2600, "PWR_ALARM_Q3Q4"},
	{34, 21, 0x1b80, "PWR_ALARM_Q5Q6"},
	{35, 22, 0x8000, "LOOP_CLOSURE_FILTER"},
	{36, 23, 0x0320, "RING_TRIP_FILTER"},
	{37, 24, 0x008c, "TERM_LP_POLE_Q1Q2"},
	{38, 25, 0x0100, "TERM_LP_POLE_Q3Q4"},
	{39, 26, 0x0010, "TERM_LP_POLE_Q5Q6"},
	{40, 27, 0x0c00, "CM_BIAS_RINGING"},
	{41, 64, 0x0c00, "DCDC_MIN_V"},
	{43, 66, 0x1000, "LOOP_CLOSE_TRES_LOW"},
}

// addr3215 is the Si3215 address of Si3210 indirect register a (D
// translate_3215); ok is false if the Si3215 has no such register.
func addr3215(a byte) (byte, bool) {
	switch a {
	case irRingOsc:
		return 7, true
	case irRingX:
		return 8, true
	case irRingY:
		return 9, true
	}
	for _, r := range indirects {
		if r.addr == a {
			return r.addr3215, r.addr3215 != 0xff
		}
	}
	return 0, false
}
