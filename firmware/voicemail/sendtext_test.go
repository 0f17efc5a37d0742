package voicemail

import (
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/site"
	"ringbox/firmware/voicemail/smtptest"
)

// SendText (the toll-fraud alerts) goes through the voicemail relay as a
// plain-text message.
func TestSendTextIsPlainText(t *testing.T) {
	addr, got := smtptest.Sink(t)
	err := SendText(t.Context(), site.SMTP{Host: addr, From: "pbx@example.com"}, "admin@example.com",
		"[Acme] toll fraud alert: international_burst", "extension 101 tried 6 international numbers\nin 10m")
	if err != nil {
		t.Fatal(err)
	}
	var data string
	select {
	case data = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the sink got no message")
	}
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if subj != "[Acme] toll fraud alert: international_burst" || msg.Header.Get("To") != "admin@example.com" ||
		!strings.HasPrefix(msg.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("headers %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "tried 6 international numbers\r\nin 10m") {
		t.Errorf("body %q", body)
	}
}
