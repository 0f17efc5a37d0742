package main

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ringbox/firmware/store"
)

// TestHealth: `ringbox health`, which S90health runs before marking a slot
// good, passes only with the database migrated, SIP answering 200 and the
// web answering.
func TestHealth(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(t.Context(), dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
	}))
	defer web.Close()
	sip, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sip.Close()
	answering := make(chan struct{})
	go func() {
		defer close(answering)
		buf := make([]byte, 4096)
		for {
			n, from, err := sip.ReadFrom(buf)
			if err != nil {
				return
			}
			if bytes.HasPrefix(buf[:n], []byte("OPTIONS ")) {
				sip.WriteTo([]byte("SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), from)
			}
		}
	}()
	var out, errb bytes.Buffer
	args := []string{"--data", dir, "--sip", sip.LocalAddr().String(), "--http", web.URL}
	if err := cmdHealth(t.Context(), args, &out, &errb); err != nil {
		t.Fatalf("healthy box: %v", err)
	}

	// No SIP and no database: both named.
	sip.Close()
	<-answering
	args = []string{"--data", t.TempDir(), "--sip", sip.LocalAddr().String(), "--http", web.URL}
	err = cmdHealth(t.Context(), args, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "sip:") || !strings.Contains(err.Error(), "database:") || strings.Contains(err.Error(), "web:") {
		t.Errorf("unhealthy box: %v", err)
	}
}

func TestUpdateCommandsHelp(t *testing.T) {
	for _, c := range [][]string{{"update", "--help"}, {"health", "--help"}} {
		stdout, stderr, code := ringbox(t, c...)
		if code != 0 || !strings.HasPrefix(stdout, "usage: ringbox "+c[0]) {
			t.Errorf("ringbox %s: exit %d\n%s%s", strings.Join(c, " "), code, stdout, stderr)
		}
	}
	if _, stderr, code := ringbox(t, "update"); code != 2 || !strings.Contains(stderr, "mark-good") {
		t.Errorf("ringbox update without a command: exit %d, %q", code, stderr)
	}
}
