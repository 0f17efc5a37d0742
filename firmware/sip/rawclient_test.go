package sip

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"ringbox/firmware/sip/digest"
)

// rawUA sends hand-written SIP over UDP, for registrar cases no ordinary
// client produces.
type rawUA struct {
	t      testing.TB
	conn   *net.UDPConn
	server string
	seq    int
}

func newRawUA(t testing.TB, server string) *rawUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUA{t: t, conn: c, server: server}
}

func (u *rawUA) port() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }

type rawRes struct {
	code int
	hdrs map[string][]string
	raw  string
}

func (r rawRes) get(name string) string {
	v := r.hdrs[strings.ToLower(name)]
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// send sends msg as is.
func (u *rawUA) send(msg string) {
	u.t.Helper()
	dst, _ := net.ResolveUDPAddr("udp", u.server)
	if _, err := u.conn.WriteToUDP([]byte(msg), dst); err != nil {
		u.t.Fatal(err)
	}
}

// roundTrip sends msg (unless empty) and returns the first final response.
func (u *rawUA) roundTrip(msg string) rawRes {
	u.t.Helper()
	if msg != "" {
		if !strings.Contains(msg, "\r\n") {
			msg = strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n")
		}
		u.send(msg)
	}
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			u.t.Fatalf("no response to:\n%s\n(%v)", msg, err)
		}
		r := parseRaw(string(buf[:n]))
		if r.code >= 200 {
			return r
		}
	}
}

func parseRaw(s string) rawRes {
	r := rawRes{hdrs: map[string][]string{}, raw: s}
	head, _, _ := strings.Cut(s, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if len(f) > 1 {
		r.code, _ = strconv.Atoi(f[1])
	}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			k = strings.ToLower(strings.TrimSpace(k))
			r.hdrs[k] = append(r.hdrs[k], strings.TrimSpace(v))
		}
	}
	return r
}

var nonceRe = regexp.MustCompile(`nonce="([^"]+)"`)

type regOpts struct {
	ext, user, pass string
	alg             string
	contacts        []string // full header values
	expires         string   // Expires header value, "" for none
	callID          string
	cseq            int
	nonce           string // answer this nonce (else unauthenticated)
	nc              int
	requestURI      string  // default sip:SERVER
	digestURI       string  // the uri the answer signs; default the Request-URI
	sent            *string // set to the response hash sent
}

func (u *rawUA) register(o regOpts) rawRes {
	if o.user == "" {
		o.user = o.ext
	}
	if o.callID == "" {
		o.callID = fmt.Sprintf("reg-%d@test", u.port())
	}
	uri := "sip:" + u.server
	if o.requestURI != "" {
		uri = o.requestURI
	}
	duri := uri
	if o.digestURI != "" {
		duri = o.digestURI
	}
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER %s SIP/2.0\n", uri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%d%d\n", u.port(), o.cseq, time.Now().UnixNano())
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=t%d\n", o.ext, u.server, u.port())
	fmt.Fprintf(&b, "To: <sip:%s@%s>\n", o.ext, u.server)
	fmt.Fprintf(&b, "Call-ID: %s\nCSeq: %d REGISTER\nMax-Forwards: 70\nUser-Agent: rawua\n", o.callID, o.cseq)
	for _, c := range o.contacts {
		fmt.Fprintf(&b, "Contact: %s\n", c)
	}
	if o.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\n", o.expires)
	}
	if o.nonce != "" {
		alg := o.alg
		if alg == "" {
			alg = digest.MD5
		}
		nc := fmt.Sprintf("%08x", max(o.nc, 1))
		ha1 := digest.HA1(alg, o.user, testRealm, o.pass)
		resp := digest.Response(alg, ha1, "REGISTER", duri, o.nonce, nc, "abc123", "auth")
		if o.sent != nil {
			*o.sent = resp
		}
		fmt.Fprintf(&b, "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=%s, qop=auth, nc=%s, cnonce=\"abc123\"\n",
			o.user, testRealm, o.nonce, duri, resp, alg, nc)
	}
	b.WriteString("Content-Length: 0\n\n")
	return u.roundTrip(b.String())
}

// authRegister does the challenge round trip and returns the final answer.
func (u *rawUA) authRegister(o regOpts) rawRes {
	u.t.Helper()
	r := u.register(o)
	if r.code != 401 {
		u.t.Fatalf("unauthenticated REGISTER got %d, want 401", r.code)
	}
	m := nonceRe.FindStringSubmatch(r.get("WWW-Authenticate"))
	if m == nil {
		u.t.Fatalf("no nonce in %q", r.get("WWW-Authenticate"))
	}
	o.nonce = m[1]
	o.cseq++
	return u.register(o)
}

func newRawUAOn(t *testing.T, server string, port int) *rawUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawUA{t: t, conn: c, server: server}
}
