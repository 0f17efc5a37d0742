package site

import (
	"errors"
	"strings"
	"testing"
)

func TestDaysAsList(t *testing.T) {
	tests := []struct {
		yaml, want string
	}{
		{"[mon, wed, fri]", "mon,wed,fri"},
		{"[mon-wed, sat]", "mon-wed,sat"},
		{"\n        - tue\n        - thu", "tue,thu"},
		{"mon-fri", "mon-fri"},
		{`"mon,wed,fri"`, "mon,wed,fri"},
	}
	for _, tt := range tests {
		y := "version: 1\nsystem: {name: x}\nschedules:\n  - id: open\n    open:\n      - days: " + tt.yaml + "\n        from: \"09:00\"\n        to: \"17:00\"\n"
		s, err := Parse([]byte(y), "days.yaml")
		if err != nil {
			t.Errorf("days: %s: %v", tt.yaml, err)
			continue
		}
		if got := s.Schedules[0].Open[0].Days; got != tt.want {
			t.Errorf("days: %s = %q, want %q", tt.yaml, got, tt.want)
		}
		// Export writes the one string, which reads back the same.
		out, err := Marshal(s, false)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(out, "export.yaml")
		if err != nil || again.Schedules[0].Open[0].Days != tt.want {
			t.Errorf("days: %s: export does not read back: %v\n%s", tt.yaml, err, out)
		}
	}
}

func TestDaysListProblems(t *testing.T) {
	tests := []struct {
		yaml, says string
		line       int
	}{
		{"[]", "no days given", 6},
		{"[mon, funday]", `unknown day "funday"`, 6},
		{"[mon, {x: 1}]", "item 2 must be a day", 6},
		{`[mon, "tue,wed"]`, "one day or range per list item", 6},
		{"[mon, ~]", "item 2 must be a day like mon or a range like mon-fri, not nothing", 6},
	}
	for _, tt := range tests {
		y := "version: 1\nsystem: {name: x}\nschedules:\n  - id: open\n    open:\n      - {days: " + tt.yaml + ", from: \"09:00\", to: \"17:00\"}\n"
		_, err := Parse([]byte(y), "days.yaml")
		var probs Errors
		if !errors.As(err, &probs) || len(probs) != 1 || !strings.Contains(probs[0].Msg, tt.says) || probs[0].Line != tt.line {
			t.Errorf("days: %s: %v, want one problem at line %d saying %q", tt.yaml, err, tt.line, tt.says)
		}
	}
}

func TestLocateNamesTheLine(t *testing.T) {
	y := `version: 1
system: {name: x}
prompts:
  - {id: welcome, file: welcome.mp3}
  - id: sorry
    file: sorry.wav
hold_music:
  - id: jazz
    files:
      - a.mp3
      - b.mp3
`
	f, err := ParseFile([]byte(y), "site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	probs := f.Locate(Errors{
		{Field: "hold_music[0].files[1]", Msg: "b"},
		{Field: "prompts[1].file", Msg: "sorry"},
		{Field: "prompts[0].file", Msg: "welcome"},
	})
	want := "site.yaml:4: prompts[0].file: welcome\nsite.yaml:6: prompts[1].file: sorry\nsite.yaml:11: hold_music[0].files[1]: b"
	if probs.Error() != want {
		t.Errorf("located:\n%s\nwant\n%s", probs, want)
	}
}

func TestParseFileKeepsWhatItReadWhenInvalid(t *testing.T) {
	y := "version: 1\nsystem: {name: x}\nivrs:\n  - {id: main, greeting: nope, options: {\"1\": hangup}}\nprompts:\n  - {id: welcome, file: welcome.mp3}\n"
	f, err := ParseFile([]byte(y), "site.yaml")
	if err == nil || f == nil || !f.Partial || len(f.Site.Prompts) != 1 {
		t.Fatalf("ParseFile of an invalid site = %+v, %v; want the partial site and its problems", f, err)
	}
	if f, err := ParseFile([]byte("version: [1"), "site.yaml"); err == nil || f != nil {
		t.Errorf("ParseFile of broken YAML = %+v, %v; want no file", f, err)
	}
}
