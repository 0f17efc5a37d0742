package voicemail

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net"
	"net/smtp"
	"net/textproto"
	"strings"
	"time"

	"ringbox/firmware/site"
)

// SendMail e-mails m to `to` through relay, with the WAV attached. It uses
// STARTTLS when the relay offers it and authenticates (PLAIN) when relay
// has a username; net/smtp refuses PLAIN without TLS except to localhost.
func SendMail(ctx context.Context, relay site.SMTP, to string, m Message) error {
	body, err := compose(relay.From, to, m)
	if err != nil {
		return err
	}
	return deliver(ctx, relay, to, body)
}

// SendText e-mails a plain-text message through relay: the box's alerts
// (toll fraud) share the voicemail relay and its TLS and auth handling.
func SendText(ctx context.Context, relay site.SMTP, to, subject, text string) error {
	hdr := []string{
		"From: " + relay.From,
		"To: " + to,
		"Subject: " + mime.QEncoding.Encode("utf-8", subject),
		"Date: " + time.Now().Format(time.RFC1123Z),
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=utf-8",
	}
	body := strings.Join(hdr, "\r\n") + "\r\n\r\n" + strings.ReplaceAll(text, "\n", "\r\n")
	return deliver(ctx, relay, to, []byte(body))
}

// deliver hands a composed message to the relay.
func deliver(ctx context.Context, relay site.SMTP, to string, body []byte) error {
	host, _, err := net.SplitHostPort(relay.Host)
	if err != nil {
		return fmt.Errorf("voicemail mail: relay %q: %w", relay.Host, err)
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", relay.Host)
	if err != nil {
		return fmt.Errorf("voicemail mail: dial %s: %w", relay.Host, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// A stop of the box ends a relay's stalled exchange now, not at the
	// deadline: the outbox's sender is waited for on shutdown.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("voicemail mail: %s: %w", relay.Host, err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(tlsConfig(host)); err != nil {
			return fmt.Errorf("voicemail mail: starttls %s: %w", relay.Host, err)
		}
	}
	if relay.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", relay.Username, relay.Password, host)); err != nil {
			return fmt.Errorf("voicemail mail: auth %s: %w", relay.Host, err)
		}
	}
	if err := c.Mail(relay.From); err != nil {
		return fmt.Errorf("voicemail mail: from %s: %w", relay.From, err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("voicemail mail: to %s: %w", to, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("voicemail mail: data: %w", err)
	}
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("voicemail mail: data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("voicemail mail: data: %w", err)
	}
	return c.Quit()
}

// compose builds the MIME message: a short text and the WAV attachment.
func compose(from, to string, m Message) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	who := m.Caller
	if m.CallerName != "" {
		who = fmt.Sprintf("%s <%s>", m.CallerName, m.Caller)
	}
	box := m.Box
	if m.BoxName != "" {
		box = m.BoxName + " (" + m.Box + ")"
	}
	hdr := []string{
		"From: " + from,
		"To: " + to,
		"Subject: " + mime.QEncoding.Encode("utf-8", fmt.Sprintf("New voicemail from %s (%s)", who, m.Duration.Round(time.Second))),
		"Date: " + m.Time.Format(time.RFC1123Z),
		"MIME-Version: 1.0",
		"Content-Type: multipart/mixed; boundary=" + mw.Boundary(),
	}
	head := strings.Join(hdr, "\r\n") + "\r\n\r\n"
	tw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(tw, "Mailbox: %s\r\nFrom: %s\r\nWhen: %s\r\nLength: %s\r\n", box, who,
		m.Time.Format("Mon 2 Jan 2006 15:04 MST"), m.Duration.Round(time.Second))
	aw, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"audio/wav"},
		"Content-Transfer-Encoding": {"base64"},
		"Content-Disposition":       {`attachment; filename="voicemail-` + safeName(m.Box) + ".wav\""},
	})
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding.EncodeToString(m.WAV)
	for len(enc) > 76 {
		fmt.Fprintf(aw, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	fmt.Fprintf(aw, "%s\r\n", enc)
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return append([]byte(head), b.Bytes()...), nil
}
