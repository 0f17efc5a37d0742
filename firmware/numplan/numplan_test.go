package numplan

import "testing"

func TestClassify(t *testing.T) {
	cases := []struct {
		country, number string
		want            Class
	}{
		// NANP.
		{"us", "911", Emergency},
		{"us", "5551234", Local},
		{"us", "411", Local},
		{"us", "2125550100", National},
		{"us", "12125550100", National},
		{"us", "+12125550100", National},
		{"us", "18005550100", National},
		{"us", "19005550100", Premium},
		{"us", "9005550100", Premium},
		{"us", "19765550100", Premium},
		{"us", "+19005550100", Premium},
		{"us", "011442071234567", International},
		{"us", "18095550100", International}, // Dominican Republic, dialled like a national number
		{"us", "8765550100", International},  // Jamaica
		{"us", "+442071234567", International},
		{"us", "+911", International}, // +91: India
		{"us", "*123", Unknown},
		{"us", "5551234#", Unknown},
		{"us", "011", Unknown},
		{"us", "0", Unknown},
		{"us", "", Unknown},
		{"ca", "16135550100", National},
		{"", "911", Emergency},
		// France.
		{"fr", "112", Emergency},
		{"fr", "15", Emergency},
		{"fr", "17", Emergency},
		{"fr", "18", Emergency},
		{"fr", "0144556677", National},
		{"fr", "0912345678", National},
		{"fr", "0612345678", Mobile},
		{"fr", "0712345678", Mobile},
		{"fr", "+33612345678", Mobile},
		{"fr", "+33144556677", National},
		{"fr", "0899123456", Premium},
		{"fr", "0800123456", National},
		{"fr", "3949", Premium},
		{"fr", "118712", Premium},
		{"fr", "0044207123456", International},
		{"fr", "+12125550100", International},
		{"fr", "+3317", Unknown}, // emergency numbers are not dialled in E.164
		{"fr", "014455667", Unknown},
		// United Kingdom.
		{"uk", "999", Emergency},
		{"uk", "112", Emergency},
		{"uk", "02071234567", National},
		{"uk", "07700900123", Mobile},
		{"uk", "07005555555", Premium},
		{"uk", "09095555555", Premium},
		{"uk", "0033144556677", International},
		{"uk", "+442071234567", National},
		// Germany.
		{"de", "110", Emergency},
		{"de", "030123456", National},
		{"de", "015112345678", Mobile},
		{"de", "09001234567", Premium},
		{"de", "0044207123456", International},
		// Netherlands.
		{"nl", "112", Emergency},
		{"nl", "0201234567", National},
		{"nl", "0612345678", Mobile},
		{"nl", "09001234567", Premium},
		{"nl", "0044207123456", International},
		// Australia.
		{"au", "000", Emergency},
		{"au", "0212345678", National},
		{"au", "0412345678", Mobile},
		{"au", "1900123456", Premium},
		{"au", "001144207123456", International},
		{"au", "0044207123456", Unknown}, // 00 is not Australia's international prefix
		// Italy and Spain: no trunk prefix, E.164 keeps the 0.
		{"it", "112", Emergency},
		{"it", "0612345678", National},
		{"it", "+390612345678", National},
		{"it", "3123456789", Mobile},
		{"it", "899123456", Premium},
		{"it", "0033144556677", International},
		{"es", "112", Emergency},
		{"es", "912345678", National},
		{"es", "+34612345678", Mobile},
		{"es", "806123456", Premium},
		{"es", "0033144556677", International},
		// Japan.
		{"jp", "110", Emergency},
		{"jp", "119", Emergency},
		{"jp", "0312345678", National},
		{"jp", "09012345678", Mobile},
		{"jp", "0990123456", Premium},
		{"jp", "01033144556677", International},
	}
	for _, c := range cases {
		p, ok := For(c.country)
		if !ok {
			t.Fatalf("no plan for %q", c.country)
		}
		if got := p.Classify(c.number); got != c.want {
			t.Errorf("%s: %q is %v, want %v", c.country, c.number, got, c.want)
		}
	}
}

// Every example of every plan is of its rule's class: the examples are
// what `ringbox check` shows an installer.
func TestExamplesAreOfTheirClass(t *testing.T) {
	for _, country := range Countries() {
		p, _ := For(country)
		for _, r := range p.Rules {
			if r.Example == "" {
				continue
			}
			if got := p.Classify(r.Example); got != r.Class {
				t.Errorf("%s: example %q of rule %q is %v, want %v", country, r.Example, r.Prefix, got, r.Class)
			}
		}
	}
	if _, ok := For("zz"); ok {
		t.Error("a plan for zz")
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"911", "+33612345678", "011", "9*1#", "+", ""} {
		f.Add("fr", s)
		f.Add("us", s)
	}
	f.Fuzz(func(t *testing.T, country, number string) {
		p, ok := For(country)
		if !ok {
			return
		}
		c := p.Classify(number)
		if c < Emergency || c > Unknown {
			t.Fatalf("class %d", c)
		}
		for i := 0; i < len(number); i++ {
			if (number[i] < '0' || number[i] > '9') && !(i == 0 && number[i] == '+') && c != Unknown {
				t.Fatalf("%q with a symbol is %v", number, c)
			}
		}
	})
}
