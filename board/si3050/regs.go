package si3050

// Registers of the Si3050 system side (with its Si3018/19 line side).
// Sources: D = asterisk/dahdi-linux drivers/dahdi/wctdm.c, X =
// drivers/dahdi/wctdm24xxp/base.c, M = drivers/dahdi/fxo_modes.h, B = a
// Broadcom "Si3050 definitions" header in public GPL firmware drops
// (register and field names), A = an "_DAA_H_" init table of another
// public firmware (initial values).
const (
	regControl1 = 1  // bit 7 SR: soft reset, self-clearing (D "Software reset"; B FIELD_SR)
	regControl2 = 2  // resets to 0x03; the driver's ID check (D wctdm_voicedaa_insane; A INIT_R2)
	regDAACtl1  = 5  // bit 0 OH off hook, bit 3 ONHM on-hook line monitor, bit 2 RDT, bits 5/6 RDTP/RDTN ring detect (B; D 0x08/0x09, "res & 0x60")
	regDAACtl2  = 6  // bit 4 PDL: line side powered down (reset), 0x00 powers it up (D "Enable ISO-Cap"; B)
	regRevision = 11 // bits 7:4 LSID line-side ID (1 Si3018, 3 Si3019; 0 while the link is down), 3:0 REVA (B; D "ISO link")
	regLineStat = 12 // line-side status: bit 6 FDT frame detect (B)
	regIntl1    = 16 // international control 1: OHS bit 6, RZ bit 1, RT bit 0 (D reg16; M)
	regIntl3    = 18 // international control 3: 0 with the device-default ring detector (D)
	regRingVal3 = 24 // ring validation control 3: 0x19 device default (D)
	regDCTerm   = 26 // DC termination: DCV bits 7:6, MINI 5:4, ILIM bit 1 (D reg26; M; B)
	regLoopCur  = 28 // LCS2 loop current status (B REG_LOOPCURRENTSTATUS); 1.1 mA/bit per the Si3050 data sheet, not cross-checked in public code
	regLineVolt = 29 // LVS line voltage status, signed, 1 V/bit: the sign is the polarity (D "abs(b) < battthresh"; X "(s8)... * 1000" mV)
	regACTerm   = 30 // AC termination ACIM bits 3:0 (D reg30; M acim)
	regDAACtl5  = 31 // DAA control 5: 0xa3 plus OHS2 bit 3 (D reg31)
	regPCMMode  = 33 // PCM/SPI mode: 0x20 enable; format bits 4:3 (0x28 µ-law, 0x38 16-bit linear) (D; B SI3050_LINEAR); set 34-37 first (A)
	regTxStart  = 34 // PCM transmit start count, low (35 high) (D; B)
	regRxStart  = 36 // PCM receive start count, low (37 high) (D; B)
)

// Register 5 bits (B FIELD_*).
const (
	daaOH   = 0x01
	daaONHM = 0x08
	daaRing = 0x60 // RDTP | RDTN
)

// SPI control bytes: 0x20 write, 0x60 read, plus the daisy-chain
// sub-address in bits 3:2 (X ADDRS {0x00, 0x08, 0x04, 0x0c}; B
// SPI_CONTROL_WRITE/READ).
const (
	ctlWrite = 0x20
	ctlRead  = 0x60
)

const resetControl2 = 0x03

// mode is a country's line interface settings (M fxo_modes).
type mode struct {
	ohs, ohs2, rz, rt, ilim byte
	dcv, mini, acim         byte
}

// modes: FCC (US, Canada) and TBR21 (CTR21: most of Europe) from
// fxo_modes.h.
var modes = map[string]mode{
	"us":    {rt: 1, dcv: 3},
	"ctr21": {ilim: 1, dcv: 3, acim: 2},
}

func (m mode) reg16() byte { return m.ohs<<6 | m.rz<<1 | m.rt }
func (m mode) reg26() byte { return m.dcv<<6 | m.mini<<4 | m.ilim<<1 }
func (m mode) reg31() byte { return 0xa3 | m.ohs2<<3 }
