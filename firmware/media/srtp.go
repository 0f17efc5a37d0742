package media

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP with SDES keying (RFC 4568): the keys travel in the SDP as
// a=crypto attributes, so they are only as secret as the signalling. The
// SIP edge offers and accepts them on TLS legs only; this package does not
// know about signalling and encrypts whatever it is given keys for.

// Crypto suites the box speaks (RFC 4568 §6.2). Both use a 128-bit AES
// key and a 112-bit salt; they differ in the RTP authentication tag.
const (
	SuiteAES80 = "AES_CM_128_HMAC_SHA1_80"
	SuiteAES32 = "AES_CM_128_HMAC_SHA1_32"
)

// keyLen is the inline key-salt length of both suites: 16 + 14 bytes.
const keyLen = 30

// Crypto is one a=crypto attribute: tag, suite and the inline master key
// and salt. Lifetime is kept as written for the answer; MKIs and session
// parameters are not supported (ParseCrypto refuses them, so an offer
// carrying only such attributes is answered without SRTP, or refused).
type Crypto struct {
	Tag      int
	Suite    string
	Key      []byte // master key followed by master salt, 30 bytes
	Lifetime string // "" or as offered, e.g. "2^31"
}

// ParseCrypto parses the value of an a=crypto attribute:
//
//	1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key||salt>[|lifetime]
//
// It refuses suites other than SuiteAES80 and SuiteAES32, more than one
// key, an MKI, and session parameters (FEC_ORDER, UNENCRYPTED_SRTP, ...),
// each with an error naming what.
func ParseCrypto(v string) (Crypto, error) {
	f := strings.Fields(v)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("crypto %q: want tag, suite and key parameters", truncate(v))
	}
	if len(f) > 3 {
		return Crypto{}, fmt.Errorf("crypto: session parameters %q not supported", truncate(strings.Join(f[3:], " ")))
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 9 {
		return Crypto{}, fmt.Errorf("crypto: tag %q is not a number of 1-9 digits", truncate(f[0]))
	}
	c := Crypto{Tag: tag, Suite: f[1]}
	if c.Suite != SuiteAES80 && c.Suite != SuiteAES32 {
		return Crypto{}, fmt.Errorf("crypto: suite %q not supported (%s, %s)", truncate(c.Suite), SuiteAES80, SuiteAES32)
	}
	if strings.Contains(f[2], ";") {
		return Crypto{}, errors.New("crypto: more than one key not supported")
	}
	inline, ok := strings.CutPrefix(f[2], "inline:")
	if !ok {
		return Crypto{}, fmt.Errorf("crypto: key method of %q is not inline", truncate(f[2]))
	}
	parts := strings.Split(inline, "|")
	if len(parts) > 3 {
		return Crypto{}, errors.New("crypto: too many key parameters")
	}
	for _, p := range parts[1:] {
		switch {
		case strings.Contains(p, ":"):
			return Crypto{}, errors.New("crypto: MKI not supported")
		case validLifetime(p):
			c.Lifetime = p
		default:
			return Crypto{}, fmt.Errorf("crypto: key lifetime %q is not a number or 2^n", truncate(p))
		}
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some phones leave the padding off.
		key, err = base64.RawStdEncoding.DecodeString(parts[0])
	}
	if err != nil {
		return Crypto{}, fmt.Errorf("crypto: key is not base64: %w", err)
	}
	if len(key) != keyLen {
		return Crypto{}, fmt.Errorf("crypto: key and salt are %d bytes, want %d", len(key), keyLen)
	}
	c.Key = key
	return c, nil
}

func validLifetime(p string) bool {
	if n, ok := strings.CutPrefix(p, "2^"); ok {
		e, err := strconv.Atoi(n)
		return err == nil && e > 0 && e <= 48
	}
	n, err := strconv.ParseUint(p, 10, 64)
	return err == nil && n > 0
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// String is the attribute's value, as written in SDP.
func (c Crypto) String() string {
	s := fmt.Sprintf("%d %s inline:%s", c.Tag, c.Suite, base64.StdEncoding.EncodeToString(c.Key))
	if c.Lifetime != "" {
		s += "|" + c.Lifetime
	}
	return s
}

// NewKey returns a fresh random master key and salt for a Crypto.
func NewKey() []byte {
	k := make([]byte, keyLen)
	if _, err := rand.Read(k); err != nil {
		panic("media: no randomness for an SRTP key: " + err.Error()) // crypto/rand does not fail on Linux
	}
	return k
}

func profileOf(suite string) (srtp.ProtectionProfile, error) {
	switch suite {
	case SuiteAES80:
		return srtp.ProtectionProfileAes128CmHmacSha1_80, nil
	case SuiteAES32:
		return srtp.ProtectionProfileAes128CmHmacSha1_32, nil
	}
	return 0, fmt.Errorf("srtp suite %q not supported", suite)
}

// srtpState encrypts what a stream sends and decrypts what it receives.
// pion's contexts are not safe for concurrent use: sends come from other
// streams' readers and the playback clock, receives from the RTP and RTCP
// readers, so each direction has its own lock.
type srtpState struct {
	local, remote Crypto

	encMu  sync.Mutex // protects following
	enc    *srtp.Context
	encBuf []byte
	encHdr rtp.Header

	decMu  sync.Mutex // protects following
	dec    *srtp.Context
	decHdr rtp.Header
	rtcpH  rtcp.Header
}

// SetSRTP makes the stream speak SRTP: it encrypts what it sends with
// local (the key the box gave the peer) and decrypts what it receives with
// remote (the key the peer gave the box); plain packets from the peer are
// then dropped. Called again with the same keys it changes nothing, so a
// re-INVITE that repeats the keys keeps the rollover counters and the
// replay window. ClearSRTP goes back to plain RTP.
func (s *Stream) SetSRTP(local, remote Crypto) error {
	if cur := s.srtp.Load(); cur != nil && sameCrypto(cur.local, local) && sameCrypto(cur.remote, remote) {
		return nil
	}
	lp, err := profileOf(local.Suite)
	if err != nil {
		return err
	}
	rp, err := profileOf(remote.Suite)
	if err != nil {
		return err
	}
	if len(local.Key) != keyLen || len(remote.Key) != keyLen {
		return errors.New("srtp: key and salt must be 30 bytes")
	}
	enc, err := srtp.CreateContext(local.Key[:16], local.Key[16:], lp)
	if err != nil {
		return fmt.Errorf("srtp send context: %w", err)
	}
	// The replay window drops packets an attacker replays (or the network
	// duplicates) before they reach the relay.
	dec, err := srtp.CreateContext(remote.Key[:16], remote.Key[16:], rp,
		srtp.SRTPReplayProtection(128), srtp.SRTCPReplayProtection(128))
	if err != nil {
		return fmt.Errorf("srtp receive context: %w", err)
	}
	s.srtp.Store(&srtpState{local: local, remote: remote, enc: enc, dec: dec, encBuf: make([]byte, 0, maxPacketSize+64)})
	return nil
}

// ClearSRTP makes the stream plain RTP again.
func (s *Stream) ClearSRTP() { s.srtp.Store(nil) }

// Secure reports whether the stream speaks SRTP.
func (s *Stream) Secure() bool { return s.srtp.Load() != nil }

func sameCrypto(a, b Crypto) bool {
	return a.Suite == b.Suite && string(a.Key) == string(b.Key)
}

// decryptRTP authenticates and decrypts pkt in place; nil when it fails
// (a forged, replayed or plain packet).
func (p *srtpState) decryptRTP(pkt []byte) []byte {
	p.decMu.Lock()
	defer p.decMu.Unlock()
	out, err := p.dec.DecryptRTP(pkt[:0], pkt, &p.decHdr)
	if err != nil {
		return nil
	}
	return out
}

// decryptRTCP is decryptRTP for SRTCP.
func (p *srtpState) decryptRTCP(pkt []byte) []byte {
	p.decMu.Lock()
	defer p.decMu.Unlock()
	out, err := p.dec.DecryptRTCP(pkt[:0], pkt, &p.rtcpH)
	if err != nil {
		return nil
	}
	return out
}

// encrypt encrypts pkt (RTP, or RTCP when rtcp) and writes it on c to
// dst while holding the lock that owns the buffer.
func (p *srtpState) encrypt(pkt []byte, rtcp bool, c *sock, dst netip.AddrPort) error {
	p.encMu.Lock()
	defer p.encMu.Unlock()
	var out []byte
	var err error
	if rtcp {
		out, err = p.enc.EncryptRTCP(p.encBuf[:0], pkt, nil)
	} else {
		out, err = p.enc.EncryptRTP(p.encBuf[:0], pkt, &p.encHdr)
	}
	if err != nil {
		return err
	}
	if cap(out) > cap(p.encBuf) {
		p.encBuf = out[:0]
	}
	return c.writeTo(out, dst)
}
