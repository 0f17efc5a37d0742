package sip

import (
	"testing"
	"time"
)

func TestRegisterSIPp(t *testing.T) {
	// SIPp 3.6.1 answers only the first challenge and only knows MD5; it
	// signs sip:BOX:PORT, not the Request-URI. Both work on the defaults.
	env := newEnv(t, nil)
	sub := env.bus.Subscribe(8, nil)
	defer sub.Close()
	uacPort := freePort(t, 15000, 19990)
	rc := runSipp(t, env.addr, "-sf", scenario(t, "uac_register_auth.xml"), "-s", "1001", "-au", "1001", "-ap", "secret1001",
		"-m", "1", "-i", "127.0.0.1", "-p", itoa(uacPort))
	if rc != 0 {
		t.Fatalf("sipp register with the right password: rc %d, want 0", rc)
	}
	regs := env.s.Registrations()
	if len(regs) != 1 || regs[0].Extension != "1001" || regs[0].Source != "127.0.0.1:"+itoa(uacPort) || regs[0].Transport != "UDP" {
		t.Fatalf("Registrations = %+v, want one binding of 1001 from port %d", regs, uacPort)
	}
	if d := time.Until(regs[0].Expires); d < 290*time.Second || d > 300*time.Second {
		t.Errorf("binding expires in %v, want ~300s", d)
	}
	select {
	case ev := <-sub.C():
		if ev.Type != "sip.registered" {
			t.Errorf("event %s, want sip.registered", ev.Type)
		}
	case <-time.After(time.Second):
		t.Error("no sip.registered event")
	}

	rc = runSipp(t, env.addr, "-sf", scenario(t, "uac_register_auth.xml"), "-s", "1002", "-au", "1002", "-ap", "WRONG",
		"-m", "1", "-i", "127.0.0.1", "-p", itoa(freePort(t, 15000, 19990)))
	if rc != 1 {
		t.Fatalf("sipp register with a wrong password: rc %d, want 1", rc)
	}
	if n := env.s.AuthFailures()[mustAddr("127.0.0.1")]; n < 1 {
		t.Errorf("AuthFailures[127.0.0.1] = %d, want >= 1", n)
	}
}
