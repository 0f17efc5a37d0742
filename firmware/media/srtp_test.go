package media

import (
	"bytes"
	"encoding/base64"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/srtp/v3"
)

var testKey = bytes.Repeat([]byte{7}, 30)

func TestParseCrypto(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(testKey)
	for _, c := range []struct {
		in      string
		want    Crypto
		wantErr string
	}{
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key, want: Crypto{Tag: 1, Suite: SuiteAES80, Key: testKey}},
		{in: "2 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|2^31", want: Crypto{Tag: 2, Suite: SuiteAES32, Key: testKey, Lifetime: "2^31"}},
		{in: "3 AES_CM_128_HMAC_SHA1_80 inline:" + strings.TrimRight(key, "=") + "|1048576", want: Crypto{Tag: 3, Suite: SuiteAES80, Key: testKey, Lifetime: "1048576"}},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4", wantErr: "MKI"},
		{in: "1 AES_256_CM_HMAC_SHA1_80 inline:" + key, wantErr: "suite"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + " UNENCRYPTED_SRTP", wantErr: "session parameters"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + ";inline:" + key, wantErr: "more than one key"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA", wantErr: "bytes, want 30"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:!!!", wantErr: "base64"},
		{in: "x AES_CM_128_HMAC_SHA1_80 inline:" + key, wantErr: "tag"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 uri:" + key, wantErr: "not inline"},
		{in: "1 AES_CM_128_HMAC_SHA1_80", wantErr: "want tag, suite"},
		{in: "1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^99", wantErr: "lifetime"},
	} {
		got, err := ParseCrypto(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseCrypto(%q) error %v, want one saying %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCrypto(%q): %v", c.in, err)
			continue
		}
		if got.Tag != c.want.Tag || got.Suite != c.want.Suite || !bytes.Equal(got.Key, c.want.Key) || got.Lifetime != c.want.Lifetime {
			t.Errorf("ParseCrypto(%q) = %+v, want %+v", c.in, got, c.want)
		}
	}
}

// TestSDPCarriesCrypto: an RTP/SAVP offer parses with its keys, refused
// attributes left out, and the box's SDP writes them back.
func TestSDPCarriesCrypto(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(testKey)
	body := "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n" +
		"m=audio 4000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:" + key + key + "\r\n" +
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" + key + "\r\n"
	d, err := ParseSDP([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Secure || len(d.Crypto) != 1 || d.Crypto[0].Tag != 2 {
		t.Fatalf("parsed Secure=%v Crypto=%+v, want SAVP with tag 2 only", d.Secure, d.Crypto)
	}
	ans, err := Answer(d, netip.MustParseAddrPort("10.0.0.1:20000"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(ans.Marshal(Origin{})), "SAVP") {
		t.Error("Answer made an SRTP answer by itself: the SIP edge decides")
	}
	ans.Secure, ans.Crypto = true, []Crypto{{Tag: 2, Suite: SuiteAES80, Key: testKey}}
	out := string(ans.Marshal(Origin{User: "x", ID: 1, Version: 1}))
	if !strings.Contains(out, "m=audio 20000 RTP/SAVP 0 101\r\n") || !strings.Contains(out, "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:"+key+"\r\n") {
		t.Errorf("answer SDP:\n%s", out)
	}
	back, err := ParseSDP([]byte(out))
	if err != nil || !back.Secure || len(back.Crypto) != 1 || !bytes.Equal(back.Crypto[0].Key, testKey) {
		t.Errorf("the answer does not parse back: %+v %v", back, err)
	}
}

func FuzzParseCrypto(f *testing.F) {
	key := base64.StdEncoding.EncodeToString(testKey)
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + key)
	f.Add("1 AES_CM_128_HMAC_SHA1_32 inline:" + key + "|2^31")
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:" + key + "|2^20|1:4")
	f.Add("99999 AES_CM_128_HMAC_SHA1_80 inline:" + key + " KDR=1")
	f.Fuzz(func(t *testing.T, v string) {
		c, err := ParseCrypto(v)
		if err != nil {
			return
		}
		if len(c.Key) != keyLen {
			t.Fatalf("accepted a %d-byte key", len(c.Key))
		}
		back, err := ParseCrypto(c.String())
		if err != nil || back.Tag != c.Tag || back.Suite != c.Suite || !bytes.Equal(back.Key, c.Key) || back.Lifetime != c.Lifetime {
			t.Fatalf("%q → %q does not parse back: %+v %v", v, c.String(), back, err)
		}
	})
}

// srtpPeer is a phone speaking SRTP with the keys of an SDES exchange.
type srtpPeer struct {
	*peer
	enc, dec *srtp.Context
}

func newSRTPPeer(t *testing.T, own, box []byte) *srtpPeer {
	enc, err := srtp.CreateContext(own[:16], own[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(box[:16], box[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		t.Fatal(err)
	}
	return &srtpPeer{peer: newPeer(t), enc: enc, dec: dec}
}

// TestSRTPRelaysToPlainRTP: an SRTP phone bridged to a plain RTP peer;
// each hears the other's audio unchanged, the SRTP side encrypted on the
// wire both ways; forged, replayed and plain packets toward the SRTP
// stream go nowhere.
func TestSRTPRelaysToPlainRTP(t *testing.T) {
	e := newEngine(t, Config{})
	phoneKey, boxKey := NewKey(), NewKey()
	a, b := open(t, e), open(t, e)
	pa := newSRTPPeer(t, phoneKey, boxKey)
	pb := newPeer(t)
	if err := a.SetSRTP(Crypto{Tag: 1, Suite: SuiteAES80, Key: boxKey}, Crypto{Tag: 1, Suite: SuiteAES80, Key: phoneKey}); err != nil {
		t.Fatal(err)
	}
	// rtcp-mux on both sides: RTCP comes and goes on the RTP ports.
	da, db := pcmu(pa.addr()), pcmu(pb.addr())
	da.RTCPMux, db.RTCPMux = true, true
	a.SetRemote(da)
	b.SetRemote(db)
	done := make(chan error, 1)
	go func() { done <- Bridge(t.Context(), a, b) }()
	defer func() { a.Close(); <-done }()
	waitFor(t, time.Second, func() bool { return a.peer.Load() == b && b.peer.Load() == a })

	payload := bytes.Repeat([]byte{0x55}, 160)
	const n = 20
	var sent [][]byte
	for i := range n {
		plain := rtpPacket(0, i == 0, uint16(100+i), uint32(1000+160*i), 0xAAAA, payload)
		enc, err := pa.enc.EncryptRTP(nil, plain, nil)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(enc, payload[:16]) {
			t.Fatal("the test's SRTP packet is not encrypted")
		}
		sent = append(sent, enc)
		pa.send(a.Local(), enc)
	}
	for i := range n {
		got := pb.recv(time.Second)
		if got == nil {
			t.Fatalf("the plain peer got %d of %d packets", i, n)
		}
		if h := parseHeader(got); h.seq != uint16(100+i) || len(got) != 172 || !bytes.Equal(got[12:], payload) {
			t.Fatalf("packet %d at the plain peer: %+v, %d bytes: not the phone's audio in plain RTP", i, h, len(got))
		}
	}
	// A replay, a plain packet and a forged one toward the SRTP stream.
	pa.send(a.Local(), sent[3])
	pa.send(a.Local(), rtpPacket(0, false, 200, 5000, 0xAAAA, payload))
	forged := append([]byte(nil), sent[n-1]...)
	forged[2], forged[3] = 0, 250 // another sequence number: the tag no longer matches
	pa.send(a.Local(), forged)
	if got := pb.recv(200 * time.Millisecond); got != nil {
		t.Fatalf("a replayed, plain or forged packet was relayed: %+v", parseHeader(got))
	}

	other := bytes.Repeat([]byte{0x33}, 160)
	for i := range n {
		pb.send(b.Local(), rtpPacket(0, false, uint16(700+i), uint32(9000+160*i), 0xBBBB, other))
	}
	for i := range n {
		got := pa.recv(time.Second)
		if got == nil {
			t.Fatalf("the SRTP phone got %d of %d packets", i, n)
		}
		if len(got) != 182 || bytes.Contains(got, other[:16]) {
			t.Fatalf("packet %d to the SRTP phone is %d bytes or plain: want SRTP (172 + 10-byte tag)", i, len(got))
		}
		dec, err := pa.dec.DecryptRTP(nil, got, nil)
		if err != nil {
			t.Fatalf("packet %d does not decrypt with the key the box gave: %v", i, err)
		}
		if h := parseHeader(dec); h.seq != uint16(700+i) || !bytes.Equal(dec[12:], other) {
			t.Fatalf("packet %d decrypted: %+v, not the plain peer's audio", i, h)
		}
	}

	// SRTCP from the phone reaches the plain side as RTCP, and back.
	rr := []byte{0x80, 201, 0, 1, 0, 0, 0xAA, 0xAA} // an empty receiver report
	enc, err := pa.enc.EncryptRTCP(nil, rr, nil)
	if err != nil {
		t.Fatal(err)
	}
	pa.send(a.Local(), enc)
	if got := pb.recv(time.Second); !bytes.Equal(got, rr) {
		t.Errorf("the plain peer got RTCP %x, want %x", got, rr)
	}
	pb.send(b.Local(), rr)
	got := pa.recv(time.Second)
	if dec, err := pa.dec.DecryptRTCP(nil, got, nil); err != nil || !bytes.Equal(dec, rr) {
		t.Errorf("the SRTP phone got RTCP %x (%v), want SRTCP of %x", got, err, rr)
	}
}

// BenchmarkSRTPPacket is the work SRTP adds to one relayed packet on the
// box: decrypting what the SRTP phone sent (authentication, replay check,
// AES-CTR) and, in the other direction, encrypting what goes to it. The
// phone's own encryption, done in the loop to make fresh packets, is
// measured apart by BenchmarkSRTPEncrypt.
func BenchmarkSRTPPacket(b *testing.B) {
	phoneKey, boxKey := NewKey(), NewKey()
	var s Stream
	if err := s.SetSRTP(Crypto{Suite: SuiteAES80, Key: boxKey}, Crypto{Suite: SuiteAES80, Key: phoneKey}); err != nil {
		b.Fatal(err)
	}
	sp := s.srtp.Load()
	phone, err := srtp.CreateContext(phoneKey[:16], phoneKey[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		b.Fatal(err)
	}
	plain := rtpPacket(0, false, 0, 0, 0xAAAA, make([]byte, 160))
	enc := make([]byte, 0, 1500)
	out := make([]byte, 0, 1500)
	seq := uint16(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		plain[2], plain[3] = byte(seq>>8), byte(seq)
		enc, _ = phone.EncryptRTP(enc[:0], plain, nil)
		if sp.decryptRTP(enc) == nil {
			b.Fatal("decrypt failed")
		}
		sp.encMu.Lock()
		out, err = sp.enc.EncryptRTP(out[:0], plain, &sp.encHdr)
		sp.encMu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSRTPEncrypt is one AES_CM_128_HMAC_SHA1_80 encryption of a
// 20 ms PCMU packet.
func BenchmarkSRTPEncrypt(b *testing.B) {
	key := NewKey()
	c, err := srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80)
	if err != nil {
		b.Fatal(err)
	}
	plain := rtpPacket(0, false, 0, 0, 0xAAAA, make([]byte, 160))
	enc := make([]byte, 0, 1500)
	seq := uint16(0)
	b.ReportAllocs()
	for b.Loop() {
		seq++
		plain[2], plain[3] = byte(seq>>8), byte(seq)
		enc, _ = c.EncryptRTP(enc[:0], plain, nil)
	}
}
