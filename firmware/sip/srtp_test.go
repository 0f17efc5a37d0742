package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ringbox/firmware/call"
	"ringbox/firmware/media"
	"ringbox/firmware/site"
	"ringbox/firmware/tlscert"
)

// carrierInvite is an INVITE from the trunk at 127.0.0.2 over transport,
// offering body.
func carrierInvite(box, me, transport, callID, body string) string {
	return fmt.Sprintf("INVITE sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%s\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=%s\r\n"+
		"To: <sip:+15551230000@%s>\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\nContact: <sip:c@%s;transport=%s>\r\nMax-Forwards: 70\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		box, transport, me, callID, callID, box, callID, me, strings.ToLower(transport), len(body), body)
}

// carrierAck acknowledges the 200 r to carrierInvite's INVITE.
func carrierAck(box, me, transport, callID string, r rawRes) string {
	return fmt.Sprintf("ACK sip:+15551230000@%s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK%sack\r\nFrom: <sip:+12125550100@127.0.0.2>;tag=%s\r\n"+
		"To: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
		box, transport, me, callID, callID, r.get("To"), callID)
}

func offerSDP(proto, key string) string {
	s := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29990 " + proto + " 0\r\na=rtpmap:0 PCMU/8000\r\n"
	if key != "" {
		s += "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\n"
	}
	return s
}

// answering is a handler that answers every call and reports the leg.
func answering(legs chan<- call.Leg) HandlerFunc {
	return func(ctx context.Context, in call.Leg, info CallInfo) {
		if err := in.Answer(ctx); err == nil {
			legs <- in
		}
		<-in.Done()
	}
}

func answered(t *testing.T, legs <-chan call.Leg) call.Leg {
	t.Helper()
	select {
	case l := <-legs:
		return l
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's Answer did not succeed")
		return nil
	}
}

// TestNoSRTPKeysOverPlainSignalling: over UDP an RTP/SAVP offer is refused
// (488) and an RTP/AVP offer's a=crypto is ignored: the answer is plain
// RTP and carries no key of the box's.
func TestNoSRTPKeysOverPlainSignalling(t *testing.T) {
	legs := make(chan call.Leg, 2)
	env := newEnv(t, answering(legs))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5060"}}})
	// From the trunk's address: its calls need no authentication.
	uc, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { uc.Close() })
	u := &rawUA{t: t, conn: uc, server: env.addr}
	me := u.conn.LocalAddr().String()
	key := base64.StdEncoding.EncodeToString(media.NewKey())

	r := u.roundTrip(carrierInvite(env.addr, me, "UDP", "savp-over-udp", offerSDP("RTP/SAVP", key)))
	if r.code != 488 {
		t.Errorf("RTP/SAVP over UDP answered %d, want 488", r.code)
	}
	r = u.roundTrip(carrierInvite(env.addr, me, "UDP", "crypto-over-udp", offerSDP("RTP/AVP", key)))
	if r.code != 200 {
		t.Fatalf("RTP/AVP with a=crypto over UDP answered %d, want 200", r.code)
	}
	u.send(carrierAck(env.addr, me, "UDP", "crypto-over-udp", r))
	if strings.Contains(r.raw, "a=crypto") || strings.Contains(r.raw, "SAVP") || !strings.Contains(r.raw, "RTP/AVP") {
		t.Errorf("the answer over UDP is not plain RTP:\n%s", r.raw)
	}
	l := answered(t, legs)
	if _, st, _ := streamOf(l); st.Secure() {
		t.Error("the stream speaks SRTP after a plain answer")
	}
	l.Hangup(call.Normal)
}

// tlsEnv is a server with SIP over TLS whose certificate the test can
// swap, as an upload or a renewal does.
func tlsEnv(t *testing.T, handler Handler) (*testEnv, string, *atomic.Pointer[tls.Certificate]) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var cert atomic.Pointer[tls.Certificate]
	cert.Store(testCert(t, "first.example"))
	env := newEnv(t, handler, func(c *Config) {
		c.TLSListener = ln
		c.TLSCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert.Load(), nil }
	})
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5061", Transport: "tls"}}})
	return env, ln.Addr().String(), &cert
}

func testCert(t *testing.T, name string) *tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := tlscert.Generate([]string{name}, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// tlsConn is a carrier's TLS connection from 127.0.0.2.
type tlsConn struct {
	*tls.Conn
	rd *bufio.Reader
}

func dialTLS(t *testing.T, addr string) *tlsConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 3 * time.Second}
	c, err := tls.DialWithDialer(&d, "tcp", addr, &tls.Config{InsecureSkipVerify: true}) // the test checks which certificate it got
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &tlsConn{Conn: c, rd: bufio.NewReader(c)}
}

// final sends msg and reads responses up to the first final one.
func (c *tlsConn) final(t *testing.T, msg string) rawRes {
	t.Helper()
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	for {
		if r := readStreamMsg(t, c.Conn, c.rd); r.code >= 200 {
			return r
		}
	}
}

// readStreamMsg reads one SIP message from a stream.
func readStreamMsg(t *testing.T, c net.Conn, rd *bufio.Reader) rawRes {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var head strings.Builder
	n := 0
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("no SIP message over TLS: %v", err)
		}
		if head.Len() == 0 && line == "\r\n" {
			continue // a keep-alive
		}
		head.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(strings.ToLower(line), "content-length:"); ok {
			n, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(rd, body); err != nil {
		t.Fatal(err)
	}
	return parseRaw(head.String() + string(body))
}

// TestSRTPOverTLS: a carrier on TLS offering RTP/SAVP gets an RTP/SAVP
// answer with the box's own key under the offer's tag, and the leg's
// stream speaks SRTP; a new certificate is served from the next
// connection without a restart.
func TestSRTPOverTLS(t *testing.T) {
	legs := make(chan call.Leg, 2)
	env, addr, cert := tlsEnv(t, answering(legs))
	c := dialTLS(t, addr)
	if got := c.ConnectionState().PeerCertificates[0].DNSNames; len(got) == 0 || got[0] != "first.example" {
		t.Fatalf("TLS certificate names %v, want first.example", got)
	}
	me := c.LocalAddr().String()
	offerKey := media.NewKey()
	r := c.final(t, carrierInvite(addr, me, "TLS", "savp-over-tls", offerSDP("RTP/SAVP", base64.StdEncoding.EncodeToString(offerKey))))
	if r.code != 200 {
		t.Fatalf("RTP/SAVP over TLS answered %d, want 200:\n%s", r.code, r.raw)
	}
	if _, err := io.WriteString(c, carrierAck(addr, me, "TLS", "savp-over-tls", r)); err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(r.raw, "\r\n\r\n")
	ans, err := media.ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !ans.Secure || len(ans.Crypto) != 1 || ans.Crypto[0].Tag != 7 || ans.Crypto[0].Suite != media.SuiteAES80 || string(ans.Crypto[0].Key) == string(offerKey) {
		t.Errorf("answer over TLS: secure=%v crypto=%+v, want RTP/SAVP with a key of the box's own under tag 7", ans.Secure, ans.Crypto)
	}
	if ct := r.get("Contact"); !strings.Contains(ct, "transport=tls") || !strings.Contains(ct, addr) {
		t.Errorf("Contact %q over TLS, want the TLS address %s with transport=tls", ct, addr)
	}
	l := answered(t, legs)
	if _, st, _ := streamOf(l); !st.Secure() {
		t.Error("the leg's stream does not speak SRTP")
	}
	l.Hangup(call.Normal)

	cert.Store(testCert(t, "uploaded.example"))
	if got := dialTLS(t, addr).ConnectionState().PeerCertificates[0].DNSNames; len(got) == 0 || got[0] != "uploaded.example" {
		t.Errorf("after the swap the TLS certificate names %v, want uploaded.example", got)
	}
	_ = env
}

// tlsTrunk is a box with a TLS trunk to a carrier whose certificate it
// trusts, a call dialled to it, and the carrier's end of that call.
type tlsTrunk struct {
	env     *testEnv
	boxLn   net.Listener // the box's TLS listener
	carrier net.Listener
	leg     call.Leg
	c       net.Conn // the carrier's end of the box's connection
	rd      *bufio.Reader
	inv     rawRes // the INVITE the carrier read
}

// dialTLSTrunk sets the trunk up with srtp ("" for the default) and dials
// it.
func dialTLSTrunk(t *testing.T, srtp string) *tlsTrunk {
	carrierCert := testCert(t, "carrier.example")
	roots := x509.NewCertPool()
	roots.AddCert(carrierCert.Leaf)
	ln, err := tls.Listen("tcp", "127.0.0.2:0", &tls.Config{Certificates: []tls.Certificate{*carrierCert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	boxLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, nil, func(c *Config) {
		c.TLSListener = boxLn
		c.TLSCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return testCert(t, "box.example"), nil }
		c.TLSClient = &tls.Config{RootCAs: roots, ServerName: "carrier.example"}
	})
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: ln.Addr().String(), Transport: "tls", SRTP: srtp}}})
	conns := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			conns <- c
		}
	}()
	leg, err := env.s.Dialer().Dial(context.Background(), call.Target{Kind: call.TargetTrunk, Trunk: "carrier", Number: "+12125550142", From: call.Party{Number: "+15551230000"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { leg.Hangup(call.Normal) })
	var c net.Conn
	select {
	case c = <-conns:
	case <-time.After(5 * time.Second):
		t.Fatal("the box did not connect to the TLS trunk")
	}
	t.Cleanup(func() { c.Close() })
	rd := bufio.NewReader(c)
	return &tlsTrunk{env: env, boxLn: boxLn, carrier: ln, leg: leg, c: c, rd: rd, inv: readStreamMsg(t, c, rd)}
}

// answer sends the carrier's 200 with sdp and reads the box's ACK.
func (tt *tlsTrunk) answer(t *testing.T, sdp string) {
	t.Helper()
	inv := tt.inv
	ok := fmt.Sprintf("SIP/2.0 200 OK\r\nVia: %s\r\nFrom: %s\r\nTo: %s;tag=far\r\nCall-ID: %s\r\nCSeq: %s\r\nContact: <sip:far@%s;transport=tls>\r\n"+
		"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
		inv.get("Via"), inv.get("From"), inv.get("To"), inv.get("Call-ID"), inv.get("CSeq"), tt.carrier.Addr(), len(sdp), sdp)
	if _, err := io.WriteString(tt.c, ok); err != nil {
		t.Fatal(err)
	}
	if ack := readStreamMsg(t, tt.c, tt.rd); !strings.HasPrefix(ack.raw, "ACK ") {
		t.Errorf("after the 200: %q, want the ACK", ack.raw)
	}
	if err := tt.leg.Answer(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTLSTrunk: a trunk with transport tls is called over TLS on a
// certificate the box verifies, offered SRTP, and keyed from its answer;
// a trunk whose certificate the box does not trust gets no call.
func TestTLSTrunk(t *testing.T) {
	tt := dialTLSTrunk(t, "")
	env, inv, boxLn, ctx := tt.env, tt.inv, tt.boxLn, context.Background()
	_, body, _ := strings.Cut(inv.raw, "\r\n\r\n")
	offer, err := media.ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inv.raw, "INVITE ") || !offer.Secure || len(offer.Crypto) != 1 || offer.Crypto[0].Suite != media.SuiteAES80 {
		t.Fatalf("INVITE over TLS does not offer SRTP:\n%s", inv.raw)
	}
	if v := inv.get("Via"); !strings.Contains(v, "SIP/2.0/TLS") || !strings.Contains(v, boxLn.Addr().String()) {
		t.Errorf("Via %q, want TLS from the box's TLS address %s", v, boxLn.Addr())
	}
	if ct := inv.get("Contact"); !strings.Contains(ct, "transport=tls") {
		t.Errorf("Contact %q, want transport=tls", ct)
	}
	ansKey := base64.StdEncoding.EncodeToString(media.NewKey())
	tt.answer(t, "v=0\r\no=- 2 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29980 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n"+
		"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"+ansKey+"\r\n")
	if _, st, _ := streamOf(tt.leg); !st.Secure() {
		t.Error("the trunk leg's stream does not speak SRTP after an SRTP answer")
	}

	// Another carrier whose certificate the box cannot verify.
	untrusted, err := tls.Listen("tcp", "127.0.0.2:0", &tls.Config{Certificates: []tls.Certificate{*testCert(t, "other.example")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { untrusted.Close() })
	go func() {
		if c, err := untrusted.Accept(); err == nil {
			io.Copy(io.Discard, c) // the handshake fails on the box's side
			c.Close()
		}
	}()
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: untrusted.Addr().String(), Transport: "tls"}}})
	bad, err := env.s.Dialer().Dial(ctx, call.Target{Kind: call.TargetTrunk, Trunk: "carrier", Number: "+12125550142", From: call.Party{Number: "+15551230000"}})
	if err == nil {
		select {
		case <-bad.Done():
			err = bad.Err()
		case <-time.After(10 * time.Second):
			t.Fatal("a call to a trunk with an untrusted certificate did not fail")
		}
	}
	if !errors.Is(err, call.Congestion) {
		t.Errorf("call to a trunk with an untrusted certificate: %v, want congestion", err)
	}
}

// TestTLSTrunkPlainMedia: a TLS trunk with srtp: off (a carrier that
// encrypts its signalling only) is offered plain RTP, its plain answer
// makes a plain stream, and its own RTP/SAVP offers are refused with 488
// while plain ones are answered without keys, a=crypto or not.
func TestTLSTrunkPlainMedia(t *testing.T) {
	tt := dialTLSTrunk(t, site.SRTPOff)
	_, body, _ := strings.Cut(tt.inv.raw, "\r\n\r\n")
	offer, err := media.ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if v := tt.inv.get("Via"); !strings.Contains(v, "SIP/2.0/TLS") {
		t.Errorf("Via %q, want the call over TLS still", v)
	}
	if offer.Secure || len(offer.Crypto) != 0 || strings.Contains(body, "a=crypto") {
		t.Fatalf("the box offered SRTP to a trunk with srtp: off:\n%s", body)
	}
	tt.answer(t, "v=0\r\no=- 2 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 29980 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
	if _, st, _ := streamOf(tt.leg); st.Secure() {
		t.Error("the trunk leg's stream speaks SRTP after a plain answer")
	}

	// Calls from the carrier (127.0.0.2 over TLS).
	legs := make(chan call.Leg, 2)
	env, addr, _ := tlsEnv(t, answering(legs))
	env.setSite(&site.Site{Trunks: []site.Trunk{{ID: "carrier", Host: "127.0.0.2:5061", Transport: "tls", SRTP: site.SRTPOff}}})
	c := dialTLS(t, addr)
	me := c.LocalAddr().String()
	key := base64.StdEncoding.EncodeToString(media.NewKey())
	if r := c.final(t, carrierInvite(addr, me, "TLS", "savp-plain-trunk", offerSDP("RTP/SAVP", key))); r.code != 488 {
		t.Errorf("RTP/SAVP from a trunk with srtp: off answered %d, want 488", r.code)
	}
	r := c.final(t, carrierInvite(addr, me, "TLS", "avp-plain-trunk", offerSDP("RTP/AVP", key)))
	if r.code != 200 {
		t.Fatalf("RTP/AVP with a=crypto from a trunk with srtp: off answered %d, want 200:\n%s", r.code, r.raw)
	}
	if _, err := io.WriteString(c, carrierAck(addr, me, "TLS", "avp-plain-trunk", r)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.raw, "a=crypto") || strings.Contains(r.raw, "SAVP") {
		t.Errorf("the answer to a trunk with srtp: off carries keys:\n%s", r.raw)
	}
	l := answered(t, legs)
	if _, st, _ := streamOf(l); st.Secure() {
		t.Error("the inbound leg's stream speaks SRTP")
	}
	l.Hangup(call.Normal)
}
