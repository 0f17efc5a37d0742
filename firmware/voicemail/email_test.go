package voicemail

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"ringbox/audio/wav"
	"ringbox/firmware/site"
	"ringbox/firmware/voicemail/smtptest"
)

func TestSendMailAttachesWAV(t *testing.T) {
	addr, got := smtptest.Sink(t)
	var w bytes.Buffer
	samples := make([]int16, 8000)
	for i := range samples {
		samples[i] = int16(i * 7)
	}
	if err := wav.Write(&w, 8000, 1, samples); err != nil {
		t.Fatal(err)
	}
	ny, _ := time.LoadLocation("America/New_York")
	m := Message{Box: "101", BoxName: "Bob", Caller: "+15557770000", CallerName: "Alice Émile", CallID: "c1",
		Time: time.Date(2026, 11, 23, 9, 30, 0, 0, ny), Duration: time.Second, WAV: w.Bytes()}
	err := SendMail(t.Context(), site.SMTP{Host: addr, From: "pbx@example.com"}, "bob@example.com", m)
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
	if !strings.Contains(subj, "Alice Émile") || msg.Header.Get("To") != "bob@example.com" {
		t.Errorf("subject %q, to %q", subj, msg.Header.Get("To"))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var attached []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") == "audio/wav" {
			attached, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(p.Header.Get("Content-Disposition"), `filename="voicemail-101.wav"`) {
				t.Errorf("disposition %q", p.Header.Get("Content-Disposition"))
			}
		}
	}
	if !bytes.Equal(attached, w.Bytes()) {
		t.Errorf("attachment (%d bytes) differs from the WAV (%d bytes)", len(attached), w.Len())
	}
}

func FuzzCompose(f *testing.F) {
	f.Add("Alice", "+1555", "101")
	f.Add("\r\nBcc: x@y", "1\r\n", "b")
	f.Fuzz(func(t *testing.T, name, number, box string) {
		b, err := compose("pbx@example.com", "bob@example.com", Message{Box: box, Caller: number, CallerName: name, WAV: []byte("RIFF")})
		if err != nil {
			return
		}
		msg, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("composed message does not parse: %v", err)
		}
		if len(msg.Header["Bcc"]) != 0 || msg.Header.Get("To") != "bob@example.com" {
			t.Fatalf("caller-ID injected a header: %v", msg.Header)
		}
	})
}
