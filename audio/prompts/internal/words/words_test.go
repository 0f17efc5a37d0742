package words

import "testing"

func TestFrench(t *testing.T) {
	tests := []struct {
		n    int
		fem  bool
		want string
	}{
		{1, false, "un"}, {1, true, "une"}, {16, false, "seize"}, {17, false, "dix-sept"},
		{20, false, "vingt"}, {21, false, "vingt et un"}, {21, true, "vingt et une"}, {22, false, "vingt-deux"},
		{61, false, "soixante et un"}, {70, false, "soixante-dix"}, {71, false, "soixante et onze"},
		{72, false, "soixante-douze"}, {77, false, "soixante-dix-sept"}, {80, false, "quatre-vingts"},
		{81, false, "quatre-vingt-un"}, {81, true, "quatre-vingt-une"}, {90, false, "quatre-vingt-dix"},
		{91, false, "quatre-vingt-onze"}, {97, false, "quatre-vingt-dix-sept"}, {99, false, "quatre-vingt-dix-neuf"},
	}
	for _, tt := range tests {
		if got := French(tt.n, tt.fem); got != tt.want {
			t.Errorf("French(%d, %v) = %q, want %q", tt.n, tt.fem, got, tt.want)
		}
	}
}

func TestEnglish(t *testing.T) {
	for n, want := range map[int]string{1: "one", 13: "thirteen", 20: "twenty", 42: "forty-two", 99: "ninety-nine"} {
		if got := English(n); got != want {
			t.Errorf("English(%d) = %q, want %q", n, got, want)
		}
	}
}
