package fsk

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"ringbox/audio/tone"
)

var when = time.Date(2026, time.March, 7, 9, 5, 0, 0, time.Local)

func TestStandardFor(t *testing.T) {
	for _, z := range tone.Zones() {
		want := V23
		switch z {
		case "us", "ca":
			want = Bell202
		case "nl":
			want = DTMFCLIP
		}
		if got := StandardFor(z); got != want {
			t.Errorf("StandardFor(%q) = %v, want %v", z, got, want)
		}
	}
	if got := StandardFor("atlantis"); got != V23 {
		t.Errorf("StandardFor(unknown) = %v, want v23", got)
	}
}

func TestEncode(t *testing.T) {
	got := Encode(Message{Time: when, Number: "+4930123", Name: "Bob"})
	want := []byte{0x80, 28,
		0x01, 8, '0', '3', '0', '7', '0', '9', '0', '5',
		0x02, 8, '+', '4', '9', '3', '0', '1', '2', '3',
		0x07, 3, 'B', 'o', 'b'}
	want[1] = byte(len(want) - 2)
	want = append(want, checksum(want))
	if !bytes.Equal(got, want) {
		t.Errorf("Encode = % x\nwant     % x", got, want)
	}
	var sum byte
	for _, c := range got {
		sum += c
	}
	if sum != 0 {
		t.Errorf("bytes sum to %d mod 256, want 0", sum)
	}
}

func sameMessage(a, b Message) bool {
	if a.Time.IsZero() != b.Time.IsZero() {
		return false
	}
	if !a.Time.IsZero() && (a.Time.Month() != b.Time.Month() || a.Time.Day() != b.Time.Day() ||
		a.Time.Hour() != b.Time.Hour() || a.Time.Minute() != b.Time.Minute()) {
		return false
	}
	return a.Number == b.Number && a.Name == b.Name && a.NumberAbsent == b.NumberAbsent && a.NameAbsent == b.NameAbsent
}

func fmtMsg(m Message) string {
	return fmt.Sprintf("{%s %q %q absent %q/%q}", m.Time.Format("01-02 15:04"), m.Number, m.Name, m.NumberAbsent, m.NameAbsent)
}

func TestEncodeDecode(t *testing.T) {
	tests := []struct {
		name string
		in   Message
		want Message // zero: same as in
	}{
		{"all", Message{Time: when, Number: "0301234567", Name: "ACME Corp"}, Message{}},
		{"leap day", Message{Time: time.Date(2028, 2, 29, 23, 59, 0, 0, time.Local), Number: "1"}, Message{}},
		{"private", Message{Time: when, NumberAbsent: 'P', NameAbsent: 'P'}, Message{}},
		{"unavailable, no date", Message{NumberAbsent: 'O', NameAbsent: 'O'}, Message{}},
		{"number only", Message{Number: "911"}, Message{}},
		{"number cleaned", Message{Number: "+1 (555) 010-9999"}, Message{Number: "+15550109999"}},
		{"long number cut", Message{Number: "123456789012345678901234"}, Message{Number: "12345678901234567890"}},
		{"name cleaned", Message{Name: "  Zoë\tMüller "}, Message{Name: "Zo Mller"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == (Message{}) {
				want = tt.in
			}
			got, err := Decode(Encode(tt.in))
			if err != nil || !sameMessage(got, want) {
				t.Errorf("Decode(Encode(%s)) = %s, %v; want %s", fmtMsg(tt.in), fmtMsg(got), err, fmtMsg(want))
			}
		})
	}
}

func frame(typ byte, body ...byte) []byte {
	b := append([]byte{typ, byte(len(body))}, body...)
	return append(b, checksum(b))
}

func TestDecodeSDMF(t *testing.T) {
	got, err := Decode(frame(0x04, []byte("030709055551234")...))
	if err != nil || got.Number != "5551234" || got.Time.Month() != 3 || got.Time.Day() != 7 || got.Time.Hour() != 9 || got.Time.Minute() != 5 {
		t.Errorf("Decode(sdmf) = %s, %v", fmtMsg(got), err)
	}
	got, err = Decode(frame(0x04, []byte("03070905P")...))
	if err != nil || got.NumberAbsent != 'P' || got.Number != "" {
		t.Errorf("Decode(sdmf private) = %s, %v", fmtMsg(got), err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := Encode(Message{Time: when, Number: "123"})
	bad := bytes.Clone(good)
	bad[5]++
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShort},
		{"type", frame(0x82, 0x0b, 1, 1), ErrType},
		{"checksum", bad, ErrChecksum},
		{"truncated", good[:len(good)-2], ErrFormat},
		{"param overrun", frame(0x80, 0x02, 9, '1'), ErrFormat},
		{"bad absence", frame(0x80, 0x04, 1, 'X'), ErrFormat},
		{"short sdmf", frame(0x04, '1', '2'), ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("Decode(% x) error %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	// A bad date is dropped, the number kept.
	m, err := Decode(frame(0x80, 0x01, 8, '1', '3', '0', '1', '0', '0', '0', '0', 0x02, 1, '7'))
	if err != nil || !m.Time.IsZero() || m.Number != "7" {
		t.Errorf("month 13: %s, %v; want no date, number 7", fmtMsg(m), err)
	}
	// Unknown parameters are skipped.
	m, err = Decode(frame(0x80, 0x03, 2, 'x', 'y', 0x02, 1, '7'))
	if err != nil || m.Number != "7" {
		t.Errorf("unknown parameter: %s, %v; want number 7", fmtMsg(m), err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(Message{Time: when, Number: "123", Name: "x"}))
	f.Add(frame(0x04, []byte("030709055551234")...))
	f.Add(frame(0x80, 0x04, 1, 'P'))
	f.Add([]byte{0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		// What decodes is clean and encodes back to the same message
		// (SDMF becomes MDMF).
		if len(m.Number) > maxNumber || cleanNumber(m.Number) != m.Number || cleanName(m.Name) != m.Name {
			t.Fatalf("Decode(% x) gave unclean %s", b, fmtMsg(m))
		}
		m2, err := Decode(Encode(m))
		if err != nil || m2.Number != m.Number || m2.NumberAbsent != m.NumberAbsent && m.Number == "" {
			t.Fatalf("re-encode of %s gave %s, %v", fmtMsg(m), fmtMsg(m2), err)
		}
	})
}
