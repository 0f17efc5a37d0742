package fsk

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message types (first byte of a frame) and MDMF parameter types, from
// Telcordia GR-30 and ETSI EN 300 659-3.
const (
	typeSDMF = 0x04 // single data message: MMDDHHMM + number
	typeMDMF = 0x80 // multiple data message: parameters

	paramDate         = 0x01 // MMDDHHMM
	paramNumber       = 0x02 // calling line identity
	paramNumberAbsent = 0x04 // 'O' or 'P'
	paramName         = 0x07 // calling party name
	paramNameAbsent   = 0x08 // 'O' or 'P'
)

// Field limits Encode applies (ETSI EN 300 659-3: up to 20 digits of
// number and 50 characters of name), so a frame always fits its one-byte
// length.
const (
	maxNumber = 20
	maxName   = 50
)

// Errors Decode returns, wrapped with detail.
var (
	ErrShort    = errors.New("fsk: message too short")
	ErrType     = errors.New("fsk: unknown message type")
	ErrChecksum = errors.New("fsk: bad checksum")
	ErrFormat   = errors.New("fsk: malformed message")
)

// Encode returns m as an MDMF frame: 0x80, the length, the parameters
// (date, number or its absence, name or its absence) and the checksum,
// which makes the sum of all bytes 0 mod 256. A zero Time sends no date.
// The number keeps only digits, '+', '*' and '#' and at most 20 of them;
// the name keeps printable ASCII, at most 50 characters.
func Encode(m Message) []byte {
	b := []byte{typeMDMF, 0}
	if !m.Time.IsZero() {
		t := m.Time
		b = append(b, paramDate, 8)
		b = fmt.Appendf(b, "%02d%02d%02d%02d", int(t.Month()), t.Day(), t.Hour(), t.Minute())
	}
	if n := cleanNumber(m.Number); n != "" {
		b = append(b, paramNumber, byte(len(n)))
		b = append(b, n...)
	} else if m.NumberAbsent != 0 {
		b = append(b, paramNumberAbsent, 1, m.NumberAbsent)
	}
	if n := cleanName(m.Name); n != "" {
		b = append(b, paramName, byte(len(n)))
		b = append(b, n...)
	} else if m.NameAbsent != 0 {
		b = append(b, paramNameAbsent, 1, m.NameAbsent)
	}
	b[1] = byte(len(b) - 2)
	return append(b, checksum(b))
}

func cleanNumber(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxNumber; i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == '+' || c == '*' || c == '#' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func cleanName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < maxName; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		}
	}
	return strings.TrimSpace(b.String())
}

// checksum is the two's complement of the byte sum (GR-30).
func checksum(b []byte) byte {
	var s byte
	for _, c := range b {
		s += c
	}
	return -s
}

// Decode parses one caller-ID frame, MDMF (0x80) or SDMF (0x04), with its
// checksum; b must hold exactly the frame. Unknown MDMF parameters are
// skipped, as GR-30 asks of receivers. A date that is not a valid
// MMDDHHMM is dropped (the number is worth more than a failed message);
// the decoded Time is in the box's local time zone with year 0 (leap, so
// 29 February survives), since the message carries no year. Number keeps
// only digits, '+', '*' and '#'; Name only printable ASCII.
func Decode(b []byte) (Message, error) {
	var m Message
	if len(b) < 3 {
		return m, fmt.Errorf("%w: %d bytes", ErrShort, len(b))
	}
	if b[0] != typeMDMF && b[0] != typeSDMF {
		return m, fmt.Errorf("%w 0x%02x", ErrType, b[0])
	}
	n := int(b[1])
	if len(b) != n+3 {
		return m, fmt.Errorf("%w: length byte says %d, frame has %d", ErrFormat, n, len(b)-3)
	}
	if checksum(b[:len(b)-1]) != b[len(b)-1] {
		return m, ErrChecksum
	}
	body := b[2 : 2+n]
	if b[0] == typeSDMF {
		if len(body) < 8 {
			return m, fmt.Errorf("%w: sdmf of %d bytes, want at least 8", ErrFormat, len(body))
		}
		m.Time = parseDate(body[:8])
		num := body[8:]
		if len(num) == 1 && (num[0] == 'O' || num[0] == 'P') {
			m.NumberAbsent = num[0]
		} else {
			m.Number = cleanNumber(string(num))
		}
		return m, nil
	}
	for len(body) > 0 {
		if len(body) < 2 || int(body[1]) > len(body)-2 {
			return Message{}, fmt.Errorf("%w: parameter 0x%02x overruns the message", ErrFormat, body[0])
		}
		typ, val := body[0], body[2:2+int(body[1])]
		body = body[2+len(val):]
		switch typ {
		case paramDate:
			m.Time = parseDate(val)
		case paramNumber:
			m.Number = cleanNumber(string(val))
		case paramName:
			m.Name = cleanName(string(val))
		case paramNumberAbsent, paramNameAbsent:
			if len(val) != 1 || (val[0] != 'O' && val[0] != 'P') {
				return Message{}, fmt.Errorf("%w: absence reason %q", ErrFormat, val)
			}
			if typ == paramNumberAbsent {
				m.NumberAbsent = val[0]
			} else {
				m.NameAbsent = val[0]
			}
		}
	}
	return m, nil
}

// parseDate reads MMDDHHMM; anything else gives the zero Time.
func parseDate(v []byte) time.Time {
	if len(v) != 8 {
		return time.Time{}
	}
	var f [4]int
	for i := range f {
		hi, lo := v[2*i], v[2*i+1]
		if hi < '0' || hi > '9' || lo < '0' || lo > '9' {
			return time.Time{}
		}
		f[i] = int(hi-'0')*10 + int(lo-'0')
	}
	mon, day, hour, min := f[0], f[1], f[2], f[3]
	if mon < 1 || mon > 12 || day < 1 || day > daysIn(mon) || hour > 23 || min > 59 {
		return time.Time{}
	}
	return time.Date(0, time.Month(mon), day, hour, min, 0, 0, time.Local)
}

func daysIn(mon int) int {
	return [...]int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[mon-1]
}
