package picture

import (
	"fmt"
	"html/template"
	"strings"

	qrcode "github.com/skip2/go-qrcode"
)

// QR draws text as a QR code with medium error correction (15% of it may
// be lost), as one path of the dark modules inside a quiet zone of four
// modules. The viewBox counts modules, so it scales to any size and
// shape-rendering="crispEdges" keeps the modules sharp. Colours are set
// as attributes as well as by class: a QR code must stay black on white
// for a phone's camera whatever the page's stylesheet does.
//
// The console shows a phone's SIP account this way (a sip: URI with user,
// server and port). The description read out says what the code holds,
// with a password in the URI replaced by "…". It fails only when text is
// too long for a QR code (about 2,300 bytes).
func QR(text string) (template.HTML, error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", fmt.Errorf("qr code of %d bytes: %w", len(text), err)
	}
	bm := q.Bitmap() // includes the quiet zone
	n := len(bm)

	var d strings.Builder
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			// One rectangle per run of dark modules in a row.
			fmt.Fprintf(&d, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}

	var c canvas
	desc := qrDescription(text)
	e := esc(desc)
	fmt.Fprintf(&c.b, `<svg xmlns="http://www.w3.org/2000/svg" class="pic pic-qr" role="img" aria-label="%s" width="100%%" viewBox="0 0 %d %d" shape-rendering="crispEdges"><title>%s</title>`,
		e, n, n, e)
	fmt.Fprintf(&c.b, `<rect class="pic-qr-bg" fill="#fff" width="%d" height="%d"/>`, n, n)
	fmt.Fprintf(&c.b, `<path class="pic-qr-dark" fill="#000" d="%s"/>`, d.String())
	return c.close(), nil
}

// qrDescription says what a QR code holds, hiding the password of a URI
// such as sip:101:secret@pbx.example: the words show as a tooltip, where
// a bystander reads them more easily than the code.
func qrDescription(text string) string {
	s := text
	if at := strings.LastIndex(s, "@"); at > 0 {
		user, host := s[:at], s[at:]
		scheme := ""
		if i := strings.Index(user, ":"); i > 0 && isScheme(user[:i]) {
			scheme, user = user[:i+1], user[i+1:]
		}
		if strings.HasPrefix(user, "//") {
			scheme, user = scheme+"//", user[2:]
		}
		if i := strings.Index(user, ":"); i >= 0 {
			user = user[:i] + ":…"
		}
		s = scheme + user + host
	}
	return "QR code of " + short(s, 160)
}

// isScheme reports whether s can be a URI scheme (RFC 3986 3.1).
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}
