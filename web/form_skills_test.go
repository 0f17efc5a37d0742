package web

import (
	"reflect"
	"testing"
)

// FuzzSkillsFormValue: whatever is typed in a skills box is read without a
// panic, and what was read is shown back as text that reads the same.
func FuzzSkillsFormValue(f *testing.F) {
	f.Add("fr=3, en=2")
	f.Add("5")
	f.Add("fr=, =3,,x=y=1")
	f.Add(" fr = +3 ")
	f.Fuzz(func(t *testing.T, s string) {
		for _, typ := range []reflect.Type{reflect.TypeFor[int](), reflect.TypeFor[map[string]int]()} {
			v, err := mapValueFrom(typ, s)
			if err != nil {
				continue
			}
			again, err := mapValueFrom(typ, mapValueText(v))
			if err != nil || !reflect.DeepEqual(v.Interface(), again.Interface()) {
				t.Errorf("%s %q read as %v, shown as %q, read back as %v (%v)", typ, s, v, mapValueText(v), again, err)
			}
		}
	})
}

func TestSkillsFormValue(t *testing.T) {
	v, err := mapValueFrom(reflect.TypeFor[map[string]int](), " fr=3, en = 2 ,")
	if err != nil || !reflect.DeepEqual(v.Interface(), map[string]int{"fr": 3, "en": 2}) {
		t.Fatalf("read %v, %v", v, err)
	}
	if got := mapValueText(v); got != "en=2, fr=3" {
		t.Errorf("shown as %q", got)
	}
	for _, bad := range []string{"fr", "fr=high", "fr=3, en"} {
		if _, err := mapValueFrom(reflect.TypeFor[map[string]int](), bad); err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}
