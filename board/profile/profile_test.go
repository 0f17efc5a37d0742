package profile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"ringbox/board/line"
)

func TestBuiltinProfiles(t *testing.T) {
	tests := []struct {
		name               string
		buttons, queueLEDs int
		service, status    bool
		ports              []string
	}{
		{"pbx-a", 4, 4, true, true, []string{"fxs:1", "fxs:2", "fxo:1"}},
		{"rpi", 2, 1, true, true, []string{"fxs:1", "fxo:1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Load(tt.name, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.name || p.Source != "built in" {
				t.Errorf("Load(%q) = %q from %q", tt.name, p.Name, p.Source)
			}
			if len(p.Buttons) != tt.buttons || len(p.LEDs) != tt.buttons || len(p.QueueLEDs) != tt.queueLEDs {
				t.Errorf("%d buttons, %d LEDs, %d queue LEDs; want %d, %d, %d",
					len(p.Buttons), len(p.LEDs), len(p.QueueLEDs), tt.buttons, tt.buttons, tt.queueLEDs)
			}
			if (p.ServiceButton != nil) != tt.service || (p.StatusLED != nil) != tt.status {
				t.Errorf("service button %v, status LED %v", p.ServiceButton, p.StatusLED)
			}
			var ports []string
			for _, l := range p.Lines {
				k, n := l.Kind()
				ports = append(ports, l.Port)
				if name := k.String() + ":" + string(rune('0'+n)); name != l.Port {
					t.Errorf("line %s parsed as %s", l.Port, name)
				}
			}
			if strings.Join(ports, " ") != strings.Join(tt.ports, " ") {
				t.Errorf("ports %v, want %v", ports, tt.ports)
			}
		})
	}
}

func TestLoadOverrideAndPath(t *testing.T) {
	dir := t.TempDir()
	custom := strings.Replace(minimal, "name: test", "name: pbx-a\ndescription: installer's", 1)
	os.MkdirAll(filepath.Join(dir, OverrideDir), 0o755)
	if err := os.WriteFile(filepath.Join(dir, OverrideDir, "pbx-a.yaml"), []byte(custom), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Load("pbx-a", dir)
	if err != nil {
		t.Fatal(err)
	}
	if p.Description != "installer's" || len(p.Buttons) != 1 {
		t.Errorf("the data directory's pbx-a.yaml was not used: %+v", p)
	}
	// rpi has no override: built in.
	if p, err := Load("rpi", dir); err != nil || p.Source != "built in" {
		t.Errorf("Load(rpi) = %v, %v; want the built-in one", p, err)
	}
	path := filepath.Join(dir, "mine.yaml")
	os.WriteFile(path, []byte(minimal), 0o644)
	if p, err := Load(path, ""); err != nil || p.Name != "test" || p.Source != path {
		t.Errorf("Load(%s) = %v, %v", path, p, err)
	}
	if _, err := Load("pbx-b", dir); err == nil || !strings.Contains(err.Error(), "pbx-a") {
		t.Errorf("Load(pbx-b) = %v, want an error listing the built-in profiles", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml"), ""); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

const minimal = `name: test
buttons:
  - {n: 1, pin: B1, active_low: true}
leds:
  - {n: 1, pin: L1}
pcm: {channels: 2}
lines:
  - {port: "fxs:1", chip: si3215, spi: SPI0.0, slot: 0}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // in the error
	}{
		{"unknown key", minimal + "leds_extra: 1\n", "line 9: field leds_extra not found"},
		{"unknown key in a button", strings.Replace(minimal, "active_low: true", "activelow: true", 1), "line 3: field activelow not found"},
		{"no name", strings.Replace(minimal, "name: test", "description: x", 1), "name: required"},
		{"duplicate pin", minimal + "queue_leds:\n  - {n: 1, pin: B1}\n", "line 10: queue_leds[0]: pin B1 is already buttons[0]"},
		{"LED without button", strings.Replace(minimal, "{n: 1, pin: L1}", "{n: 2, pin: L1}", 1), "line 5: leds[0].n: LED 2 has no button 2"},
		{"button 0", strings.Replace(minimal, "{n: 1, pin: B1", "{n: 0, pin: B1", 1), "buttons[0].n: buttons are numbered from 1"},
		{"button without pin", strings.Replace(minimal, "pin: B1, ", "", 1), "line 3: buttons[0]: pin is required"},
		{"slot past the bus", strings.Replace(minimal, "slot: 0", "slot: 2", 1), "line 8: lines[0].slot: slot 2: the PCM bus has slots 0 to 1"},
		{"unknown chip", strings.Replace(minimal, "si3215", "le9641", 1), `lines[0].chip: unknown chip "le9641"`},
		{"chip of the wrong kind", strings.Replace(minimal, "fxs:1", "fxo:1", 1), "lines[0].chip: si3215 drives fxs ports, not fxo"},
		{"bad port", strings.Replace(minimal, "fxs:1", "fxs1", 1), `lines[0].port: "fxs1"`},
		{"no spi", strings.Replace(minimal, "spi: SPI0.0, ", "", 1), "lines[0].spi: required"},
		{"no channels", strings.Replace(minimal, "pcm: {channels: 2}", "", 1), "pcm.channels: required"},
		{"ring hz", minimal + "ring_hz: 50\n", "ring_hz: 50"},
		{"port twice", minimal + "  - {port: \"fxs:1\", chip: si3215, spi: SPI0.1, slot: 1}\n", "lines[1].port: fxs:1 twice"},
		{"slot twice", minimal + "  - {port: \"fxs:2\", chip: si3215, spi: SPI0.1, slot: 0}\n", "slot 0 already carries fxs:1"},
		{"chip channel twice", minimal + "  - {port: \"fxs:2\", chip: si3215, spi: SPI0.0, slot: 1}\n", "channel 0 of SPI0.0 already drives fxs:1"},
		{"shared irq across devices", strings.Replace(minimal, "slot: 0}", "slot: 0, irq: I}", 1) + "  - {port: \"fxs:2\", chip: si3215, spi: SPI0.1, slot: 1, irq: I}\n", "lines[1].irq: pin I is already lines SPI0.0 irq"},
		{"irq shared across devices", strings.Replace(minimal, "slot: 0}", "slot: 0, irq: B1}", 1), "lines[0].irq: pin B1 is already buttons[0]"},
		{"wrong type", strings.Replace(minimal, "channels: 2", "channels: two", 1), "line 6"},
		{"empty", "", "empty"},
		{"two documents", minimal + "---\nname: x\n", "more than one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestResetIRQAndChannel(t *testing.T) {
	y := minimal + `  - {port: "fxo:1", chip: si3050, spi: SPI0.1, slot: 1, reset: RST2}
`
	y = strings.Replace(y, "slot: 0}", "slot: 0, reset: RST, irq: IRQ}", 1)
	p, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if k, n := p.Lines[1].Kind(); k != line.FXO || n != 1 {
		t.Errorf("lines[1] is %v:%d, want fxo:1", k, n)
	}
	y2 := strings.Replace(minimal, "slot: 0}", "slot: 0, channel: 1}", 1)
	if _, err := Parse([]byte(y2)); err == nil || !strings.Contains(err.Error(), "lines[0].channel: channel 1: si3215 has channels 0 to 0") {
		t.Errorf("channel 1 of an si3215: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	for _, name := range Builtin() {
		data, _ := builtin.ReadFile("boards/" + name + ".yaml")
		f.Add(data)
	}
	f.Add([]byte("name: x\nlines: [{port: 'fxo:0'}]\n"))
	f.Add([]byte("{name: [1, {a: *b}]}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			return
		}
		// A profile that parsed is one board/hw can open: every line has
		// a kind and a slot on the bus.
		for _, l := range p.Lines {
			if k, n := l.Kind(); k == 0 || n < 1 || l.Slot >= p.PCM.Channels {
				t.Fatalf("accepted line %+v with kind %v:%d, %d slots", l, k, n, p.PCM.Channels)
			}
		}
	})
}

// BenchmarkParse measures reading and validating the reference board's
// profile, which serve does once at start.
func BenchmarkParse(b *testing.B) {
	data, err := builtin.ReadFile("boards/pbx-a.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
