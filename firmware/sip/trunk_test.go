package sip

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/site"
)

func TestTrunkRegistration(t *testing.T) {
	env := newEnv(t, nil)
	dir := t.TempDir()
	csv, err := os.ReadFile(filepath.Join("testdata", "users.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), csv, 0o644); err != nil {
		t.Fatal(err)
	}
	regPort := freePort(t, 15000, 19990)
	p := startSippIn(t, dir, "-sf", scenario(t, "uas_registrar_auth.xml"), "-inf", "users.csv", "-infindex", "users.csv", "0",
		"-i", "127.0.0.1", "-p", itoa(regPort), "-m", "2")
	time.Sleep(300 * time.Millisecond) // SIPp binds its socket

	host := "127.0.0.1:" + itoa(regPort)
	st := &site.Site{Trunks: []site.Trunk{
		{ID: "carrier", Host: host, Username: "1001", Password: "secret1001", Register: true},
		{ID: "bad", Host: host, Username: "1002", Password: "WRONG", Register: true},
		{ID: "static", Host: "127.0.0.1:9", Register: false},
		{ID: "pstn", FXO: 1},
	}}
	env.setSite(st)
	env.s.Reload(st)

	state := func(id string) TrunkState {
		for _, s := range env.s.TrunkStates() {
			if s.ID == id {
				return s
			}
		}
		return TrunkState{}
	}
	waitFor(t, 10*time.Second, "carrier registered and bad failed", func() bool {
		return state("carrier").State == TrunkRegistered && state("bad").State == TrunkFailed
	})
	c := state("carrier")
	if d := time.Until(c.Expires); d < 290*time.Second || d > 300*time.Second {
		t.Errorf("carrier expires in %v, want ~300s (granted by the registrar)", d)
	}
	if b := state("bad"); !strings.Contains(b.LastError, "403") {
		t.Errorf("bad trunk error %q, want the 403", b.LastError)
	}
	if s := state("static"); s.State != TrunkDisabled {
		t.Errorf("non-registering trunk state %q, want disabled", s.State)
	}
	if len(env.s.TrunkStates()) != 3 {
		t.Errorf("TrunkStates = %+v, want 3 SIP trunks (FXO excluded)", env.s.TrunkStates())
	}
	if rc := p.wait(t, 20*time.Second); rc != 0 && rc != 1 {
		// rc 1 would only count the refused trunk; anything else is SIPp trouble.
		t.Errorf("sipp registrar rc %d, want 0 or 1", rc)
	}

	// Removing the trunk from the site stops it.
	env.s.Reload(&site.Site{})
	if n := len(env.s.TrunkStates()); n != 0 {
		t.Errorf("after reload without trunks: %d states", n)
	}
}

func TestTrunkSchedule(t *testing.T) {
	fail := errors.New("register: 503")
	tests := []struct {
		name               string
		err                error
		granted, backoff   time.Duration
		wantWait, wantNext time.Duration
	}{
		{"refresh at 85%", nil, 3600 * time.Second, 2 * time.Minute, 3060 * time.Second, 30 * time.Second},
		{"first failure", fail, 0, 30 * time.Second, 30 * time.Second, time.Minute},
		{"doubling", fail, 0, 4 * time.Minute, 4 * time.Minute, 8 * time.Minute},
		{"capped", fail, 0, 8 * time.Minute, 8 * time.Minute, 10 * time.Minute},
		{"retry-after honoured", &errRetryAfter{err: fail, after: 90 * time.Second}, 0, 30 * time.Second, 90 * time.Second, time.Minute},
	}
	for _, tt := range tests {
		wait, next := trunkSchedule(tt.err, tt.granted, tt.backoff, 30*time.Second, 10*time.Minute)
		if wait != tt.wantWait || next != tt.wantNext {
			t.Errorf("%s: wait %v next %v, want %v %v", tt.name, wait, next, tt.wantWait, tt.wantNext)
		}
	}
}
