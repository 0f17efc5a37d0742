package main

import "testing"

func TestSIPTLSAddress(t *testing.T) {
	for _, c := range []struct {
		flag, sip, want string
		explicit, bad   bool
	}{
		{flag: "", sip: ":5060", want: ":5061"},
		{flag: "", sip: "192.168.1.20:5060", want: "192.168.1.20:5061"},
		{flag: "", sip: "127.0.0.1:15060", want: "127.0.0.1:15061"},
		{flag: "off", sip: ":5060", want: ""},
		{flag: ":5071", sip: ":5060", want: ":5071", explicit: true},
		{flag: "5061", sip: ":5060", bad: true},
		{flag: "", sip: ":65535", bad: true},
	} {
		got, explicit, err := sipTLSAddr(c.flag, c.sip)
		if (err != nil) != c.bad || got != c.want || explicit != c.explicit {
			t.Errorf("--sip-tls %q --sip %q = %q explicit %v err %v; want %q explicit %v, error %v", c.flag, c.sip, got, explicit, err, c.want, c.explicit, c.bad)
		}
	}
}
