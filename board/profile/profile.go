// Package profile reads board profiles: which GPIO line is which button
// and LED, which chip on which SPI device drives each analog port, and
// the PCM bus that carries their voice. docs/board-profile.md describes
// the format and the reference board's wiring.
//
// The profiles of the boards Ringbox ships on (pbx-a, rpi) are built in;
// an installer may override one with <data>/boards/<name>.yaml, and
// --board may name any profile file.
package profile

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"ringbox/board/line"
)

// Profile is a board's wiring.
type Profile struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`

	Buttons       []Button `yaml:"buttons,omitempty"`
	LEDs          []LED    `yaml:"leds,omitempty"`       // LED n is button n's
	QueueLEDs     []LED    `yaml:"queue_leds,omitempty"` // shown by site queues[].led
	ServiceButton *Input   `yaml:"service_button,omitempty"`
	StatusLED     *Output  `yaml:"status_led,omitempty"`

	Lines []Line `yaml:"lines,omitempty"`
	PCM   PCM    `yaml:"pcm,omitempty"`
	// RingHz is the FXS ringing frequency, 20 or 25; 0 takes it from the
	// site's tone zone when the box starts.
	RingHz int `yaml:"ring_hz,omitempty"`

	// Source says where the profile was read from: "built in" or a path.
	Source string `yaml:"-"`
}

// Input is a GPIO input.
type Input struct {
	Pin       string `yaml:"pin"`                  // the GPIO line's name
	ActiveLow bool   `yaml:"active_low,omitempty"` // pressed pulls it low
	line      int
}

// Output is a GPIO output.
type Output struct {
	Pin       string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low,omitempty"` // lit when low
	line      int
}

// Button is a queue-login button.
type Button struct {
	N     int    `yaml:"n"`
	Label string `yaml:"label,omitempty"`
	Input `yaml:",inline"`
}

// LED is a numbered LED.
type LED struct {
	N      int `yaml:"n"`
	Output `yaml:",inline"`
}

// Line is an analog port and the chip that drives it.
type Line struct {
	Port    string `yaml:"port"` // fxs:1, fxo:1
	Chip    string `yaml:"chip"` // si3215 (FXS) or si3050 (FXO)
	SPI     string `yaml:"spi"`  // SPI0.0
	Channel int    `yaml:"channel,omitempty"`
	Slot    int    `yaml:"slot"`
	Reset   string `yaml:"reset,omitempty"`
	IRQ     string `yaml:"irq,omitempty"`

	kind line.Kind // from Port, by Validate
	n    int
	line int
}

// PCM is the voice bus.
type PCM struct {
	Device   string `yaml:"device,omitempty"` // part of the ALSA card's name
	Channels int    `yaml:"channels,omitempty"`
}

// chips are the chips a profile may name: the port kind each drives and
// its channels.
var chips = map[string]struct {
	kind     line.Kind
	channels int
}{
	"si3210": {line.FXS, 1},
	"si3215": {line.FXS, 1},
	"si3050": {line.FXO, 1},
}

// MaxBytes bounds a profile file.
const MaxBytes = 64 << 10

// Parse reads a profile. Unknown keys are errors, as are duplicate pins
// and anything else Validate finds; each error names the field and its
// line in the file.
func Parse(data []byte) (*Profile, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("profile is %d bytes, over the %d allowed", len(data), MaxBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("profile is empty")
		}
		return nil, fmt.Errorf("profile: %w", err)
	}
	if err := dec.Decode(new(yaml.Node)); !errors.Is(err, io.EOF) {
		return nil, errors.New("profile: more than one YAML document")
	}
	markLines(&p, &doc)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// markLines notes the file line of each list item, for Validate's errors.
func markLines(p *Profile, doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i].Value, m.Content[i+1]
		at := func(j int) int {
			if val.Kind == yaml.SequenceNode && j < len(val.Content) {
				return val.Content[j].Line
			}
			return val.Line
		}
		switch key {
		case "buttons":
			for j := range p.Buttons {
				p.Buttons[j].line = at(j)
			}
		case "leds":
			for j := range p.LEDs {
				p.LEDs[j].line = at(j)
			}
		case "queue_leds":
			for j := range p.QueueLEDs {
				p.QueueLEDs[j].line = at(j)
			}
		case "lines":
			for j := range p.Lines {
				p.Lines[j].line = at(j)
			}
		case "service_button":
			if p.ServiceButton != nil {
				p.ServiceButton.line = val.Line
			}
		case "status_led":
			if p.StatusLED != nil {
				p.StatusLED.line = val.Line
			}
		}
	}
}

// Validate checks the profile; the error lists every problem, each with
// its field and, for a parsed profile, its line.
func (p *Profile) Validate() error {
	var errs []error
	add := func(line int, field, format string, args ...any) {
		where := field
		if line > 0 {
			where = fmt.Sprintf("line %d: %s", line, field)
		}
		errs = append(errs, fmt.Errorf("%s: %s", where, fmt.Sprintf(format, args...)))
	}
	if p.Name == "" {
		add(0, "name", "required")
	}
	pins := map[string]string{} // GPIO line -> the field that uses it
	pin := func(line int, field, name string) {
		switch {
		case name == "":
			add(line, field, "pin is required")
		case pins[name] != "":
			add(line, field, "pin %s is already %s", name, pins[name])
		default:
			pins[name] = field
		}
	}
	buttons := map[int]bool{}
	for i, b := range p.Buttons {
		f := fmt.Sprintf("buttons[%d]", i)
		switch {
		case b.N < 1:
			add(b.line, f+".n", "buttons are numbered from 1, not %d", b.N)
		case buttons[b.N]:
			add(b.line, f+".n", "button %d twice", b.N)
		}
		buttons[b.N] = true
		pin(b.line, f, b.Pin)
	}
	leds := map[int]bool{}
	for i, l := range p.LEDs {
		f := fmt.Sprintf("leds[%d]", i)
		switch {
		case !buttons[l.N]:
			add(l.line, f+".n", "LED %d has no button %d (LED n is button n's)", l.N, l.N)
		case leds[l.N]:
			add(l.line, f+".n", "LED %d twice", l.N)
		}
		leds[l.N] = true
		pin(l.line, f, l.Pin)
	}
	qleds := map[int]bool{}
	for i, l := range p.QueueLEDs {
		f := fmt.Sprintf("queue_leds[%d]", i)
		switch {
		case l.N < 1:
			add(l.line, f+".n", "queue LEDs are numbered from 1, not %d", l.N)
		case qleds[l.N]:
			add(l.line, f+".n", "queue LED %d twice", l.N)
		}
		qleds[l.N] = true
		pin(l.line, f, l.Pin)
	}
	if s := p.ServiceButton; s != nil {
		pin(s.line, "service_button", s.Pin)
	}
	if s := p.StatusLED; s != nil {
		pin(s.line, "status_led", s.Pin)
	}

	switch p.RingHz {
	case 0, 20, 25:
	default:
		add(0, "ring_hz", "%d: want 20, 25, or 0 for the site's tone zone", p.RingHz)
	}
	if len(p.Lines) > 0 && p.PCM.Channels < 1 {
		add(0, "pcm.channels", "required with lines: how many slots the PCM bus has")
	}
	ports := map[string]bool{}
	slots := map[int]string{}
	chans := map[string]string{} // "SPI0.0/1" -> port
	for i := range p.Lines {
		l := &p.Lines[i]
		f := fmt.Sprintf("lines[%d]", i)
		kind, n, err := parsePort(l.Port)
		if err != nil {
			add(l.line, f+".port", "%v", err)
		} else if ports[l.Port] {
			add(l.line, f+".port", "%s twice", l.Port)
		}
		ports[l.Port] = true
		l.kind, l.n = kind, n
		ck, known := chips[l.Chip]
		switch {
		case !known:
			add(l.line, f+".chip", "unknown chip %q (known: si3210, si3215, si3050)", l.Chip)
		case err == nil && ck.kind != kind:
			add(l.line, f+".chip", "%s drives %s ports, not %s", l.Chip, ck.kind, kind)
		}
		if l.SPI == "" {
			add(l.line, f+".spi", "required: the chip's SPI device, e.g. SPI0.0")
		}
		if l.Channel < 0 || (known && l.Channel >= ck.channels) {
			add(l.line, f+".channel", "channel %d: %s has channels 0 to %d", l.Channel, l.Chip, ck.channels-1)
		}
		key := l.SPI + "/" + strconv.Itoa(l.Channel)
		if other := chans[key]; other != "" && l.SPI != "" {
			add(l.line, f+".channel", "channel %d of %s already drives %s", l.Channel, l.SPI, other)
		}
		chans[key] = l.Port
		switch {
		case l.Slot < 0 || (p.PCM.Channels > 0 && l.Slot >= p.PCM.Channels):
			add(l.line, f+".slot", "slot %d: the PCM bus has slots 0 to %d", l.Slot, p.PCM.Channels-1)
		case slots[l.Slot] != "":
			add(l.line, f+".slot", "slot %d already carries %s", l.Slot, slots[l.Slot])
		default:
			slots[l.Slot] = l.Port
		}
		// A dual chip shares its reset and interrupt lines: they may
		// repeat between lines on the same SPI device, nowhere else.
		for _, g := range []struct{ field, name string }{{"reset", l.Reset}, {"irq", l.IRQ}} {
			if g.name == "" {
				continue
			}
			owner := "lines " + l.SPI + " " + g.field
			if pins[g.name] != "" && pins[g.name] != owner {
				add(l.line, f+"."+g.field, "pin %s is already %s", g.name, pins[g.name])
				continue
			}
			pins[g.name] = owner
		}
	}
	return errors.Join(errs...)
}

func parsePort(s string) (line.Kind, int, error) {
	k, num, ok := strings.Cut(s, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 1 || n > 64 {
		return 0, 0, fmt.Errorf("%q: want fxs:N or fxo:N, N from 1", s)
	}
	switch k {
	case "fxs":
		return line.FXS, n, nil
	case "fxo":
		return line.FXO, n, nil
	}
	return 0, 0, fmt.Errorf("%q: want fxs:N or fxo:N", s)
}

// Kind returns the port's kind and number. The profile must have been
// validated.
func (l *Line) Kind() (line.Kind, int) { return l.kind, l.n }

//go:embed boards/*.yaml
var builtin embed.FS

// Builtin lists the built-in profiles' names.
func Builtin() []string {
	ents, _ := fs.ReadDir(builtin, "boards")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// OverrideDir is where, under the data directory, an installer's
// profiles override the built-in ones of the same name.
const OverrideDir = "boards"

// Load finds a profile by name: a built-in name reads
// <dataDir>/boards/<name>.yaml when there is one, else the built-in
// profile; anything containing a "/" or ending in .yaml is a path.
func Load(name, dataDir string) (*Profile, error) {
	if strings.Contains(name, "/") || strings.HasSuffix(name, ".yaml") {
		return loadFile(name)
	}
	data, err := builtin.ReadFile("boards/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("no board profile %q (built in: %s; or give a .yaml path)", name, strings.Join(Builtin(), ", "))
	}
	if dataDir != "" {
		override := filepath.Join(dataDir, OverrideDir, name+".yaml")
		if _, err := os.Stat(override); err == nil {
			return loadFile(override)
		}
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("built-in profile %s: %w", name, err)
	}
	p.Source = "built in"
	return p, nil
}

func loadFile(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	p.Source = path
	return p, nil
}
