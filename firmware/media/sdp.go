package media

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Codec is one payload format of an SDP m= line.
type Codec struct {
	Name  string // "PCMU", "PCMA", "G722", "telephone-event"
	PT    uint8
	Clock int // RTP clock rate: 8000 (also for G722 per RFC 3551)
}

// Desc is the part of an SDP body the box cares about (first audio m= line).
type Desc struct {
	Addr      netip.AddrPort // c= address and m= port (port 0: stream rejected)
	Codecs    []Codec        // audio codecs, offerer's preference order, no telephone-event
	DTMF      *Codec         // telephone-event, when present
	Direction string         // "sendrecv" (default), "sendonly", "recvonly", "inactive"
	RTCPMux   bool
	Ptime     int // ms; 0 = unspecified (20)
	// Secure: the transport is RTP/SAVP (or SAVPF): SRTP only. Crypto
	// are the usable a=crypto attributes (RFC 4568), in the SDP's order;
	// an RTP/AVP line may carry them too (best-effort SRTP). Attributes
	// ParseCrypto refuses are left out.
	Secure bool
	Crypto []Crypto

	// others are the offer's m= lines the box does not use (video, a second
	// audio line), in order, with where the audio line sits among them. An
	// answer must have as many m= lines as the offer (RFC 3264 §6), so
	// Answer keeps them and Marshal writes them rejected (port 0).
	others     []otherMedia
	audioIndex int
}

type otherMedia struct {
	media, proto, formats string
}

// Held reports whether the peer asked not to receive media: sendonly,
// inactive, or the RFC 2543 hold address c=0.0.0.0.
func (d Desc) Held() bool {
	return d.Direction == "sendonly" || d.Direction == "inactive" || (d.Addr.Addr().IsValid() && d.Addr.Addr().IsUnspecified())
}

// Origin carries the o= line; Version must be bumped by the user on each
// new SDP in a dialog.
type Origin struct {
	User        string
	ID, Version uint64
}

// ErrNoCommonCodec means the offer has no codec the box supports (SIP 488).
var ErrNoCommonCodec = errors.New("media: no common codec")

// Well-known payload formats.
var (
	PCMU = Codec{Name: "PCMU", PT: 0, Clock: 8000}
	PCMA = Codec{Name: "PCMA", PT: 8, Clock: 8000}
	G722 = Codec{Name: "G722", PT: 9, Clock: 8000}
	// TelephoneEvent is the box's default RFC 4733 format.
	TelephoneEvent = Codec{Name: "telephone-event", PT: 101, Clock: 8000}
)

// staticCodecs are the RFC 3551 static audio payload types an offer may list
// without an rtpmap.
var staticCodecs = map[uint8]Codec{
	0:  PCMU,
	3:  {Name: "GSM", PT: 3, Clock: 8000},
	4:  {Name: "G723", PT: 4, Clock: 8000},
	8:  PCMA,
	9:  G722,
	13: {Name: "CN", PT: 13, Clock: 8000},
	18: {Name: "G729", PT: 18, Clock: 8000},
}

// Supported reports whether the box can send and receive c.
func Supported(c Codec) bool { return supported(c) }

// supported reports whether the box can send and receive c.
func supported(c Codec) bool {
	switch c.Name {
	case "PCMU", "PCMA", "G722":
		return c.Clock == 8000
	}
	return false
}

// canonicalName spells the names the box knows the way it writes them;
// rtpmap encoding names are case-insensitive (RFC 4855 §3).
func canonicalName(name string) string {
	for _, n := range []string{"PCMU", "PCMA", "G722", "telephone-event"} {
		if strings.EqualFold(name, n) {
			return n
		}
	}
	return name
}

// ParseSDP extracts the first audio m= line of an SDP body.
func ParseSDP(body []byte) (Desc, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return Desc{}, fmt.Errorf("parse sdp: %w", err)
	}
	var d Desc
	var md *sdp.MediaDescription
	for _, m := range s.MediaDescriptions {
		if md == nil && m.MediaName.Media == "audio" {
			md = m
			d.audioIndex = len(d.others)
			continue
		}
		d.others = append(d.others, otherMedia{
			media:   m.MediaName.Media,
			proto:   strings.Join(m.MediaName.Protos, "/"),
			formats: strings.Join(m.MediaName.Formats, " "),
		})
	}
	if md == nil {
		return Desc{}, errors.New("parse sdp: no audio m= line")
	}
	proto := strings.Join(md.MediaName.Protos, "/")
	switch proto {
	case "RTP/AVP", "RTP/AVPF":
	case "RTP/SAVP", "RTP/SAVPF":
		d.Secure = true
	default:
		return Desc{}, fmt.Errorf("parse sdp: unsupported audio transport %q", proto)
	}
	port := md.MediaName.Port.Value
	if port < 0 || port > 65535 {
		return Desc{}, fmt.Errorf("parse sdp: audio port %d out of range", port)
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = s.ConnectionInformation
	}
	var addr netip.Addr
	switch {
	case ci != nil && ci.Address != nil:
		a, err := netip.ParseAddr(ci.Address.Address)
		if err != nil {
			return Desc{}, fmt.Errorf("parse sdp: c= address %q is not an IP address", ci.Address.Address)
		}
		if a.Zone() != "" {
			return Desc{}, fmt.Errorf("parse sdp: c= address %q has a zone", ci.Address.Address)
		}
		if (ci.AddressType == "IP4") != a.Is4() {
			return Desc{}, fmt.Errorf("parse sdp: c= address %q is not %s", ci.Address.Address, ci.AddressType)
		}
		addr = a
	case port == 0:
		addr = netip.IPv4Unspecified() // a rejected line needs no address
	default:
		return Desc{}, errors.New("parse sdp: no c= line for the audio stream")
	}
	d.Addr = netip.AddrPortFrom(addr, uint16(port))

	rtpmap := map[uint8]Codec{}
	d.Direction = "sendrecv"
	for level, attrs := range [][]sdp.Attribute{s.Attributes, md.Attributes} { // media level overrides session level
		mediaLevel := level == 1
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				d.Direction = a.Key
			case "ptime":
				if v, err := strconv.Atoi(strings.TrimSpace(a.Value)); err == nil && v > 0 && v <= 1000 {
					d.Ptime = v
				}
			case "rtcp-mux":
				d.RTCPMux = d.RTCPMux || mediaLevel // RFC 5761 §5.1.1: a media-level attribute
			case "crypto":
				if c, err := ParseCrypto(a.Value); err == nil && mediaLevel && len(d.Crypto) < maxCrypto {
					d.Crypto = append(d.Crypto, c)
				}
			case "rtpmap":
				if c, ok := parseRtpmap(a.Value); ok {
					if _, dup := rtpmap[c.PT]; !dup {
						rtpmap[c.PT] = c
					}
				}
			}
		}
	}
	seen := map[uint8]bool{}
	for _, f := range md.MediaName.Formats {
		n, err := strconv.ParseUint(f, 10, 8)
		if err != nil || n > 127 || seen[uint8(n)] {
			continue
		}
		pt := uint8(n)
		seen[pt] = true
		c, ok := rtpmap[pt]
		if !ok {
			if c, ok = staticCodecs[pt]; !ok {
				continue // a dynamic type without rtpmap cannot be used
			}
		}
		if c.Name == "telephone-event" {
			// Prefer the 8 kHz event stream: it shares the audio clock.
			if d.DTMF == nil || (d.DTMF.Clock != 8000 && c.Clock == 8000) {
				d.DTMF = &c
			}
			continue
		}
		d.Codecs = append(d.Codecs, c)
	}
	return d, nil
}

// parseRtpmap parses "<pt> <name>/<clock>[/<channels>]".
func parseRtpmap(v string) (Codec, bool) {
	ptStr, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok {
		return Codec{}, false
	}
	pt, err := strconv.ParseUint(ptStr, 10, 8)
	if err != nil || pt > 127 {
		return Codec{}, false
	}
	fields := strings.Split(strings.TrimSpace(rest), "/")
	if len(fields) < 2 || len(fields) > 3 || !isToken(fields[0]) {
		return Codec{}, false
	}
	clock, err := strconv.Atoi(fields[1])
	if err != nil || clock <= 0 || clock > 1_000_000 {
		return Codec{}, false
	}
	return Codec{Name: canonicalName(fields[0]), PT: uint8(pt), Clock: clock}, true
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || c == '/' {
			return false
		}
	}
	return true
}

// mirror is the answerer's direction for an offered one (RFC 3264 §6.1).
func mirror(dir string) string {
	switch dir {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// Answer answers a remote offer from the box: local is the box's anchored
// address. It keeps only the first codec of the offer the box supports
// (PCMU, PCMA, G722), telephone-event if offered, rtcp-mux if offered, and
// the mirrored direction. ErrNoCommonCodec when none (SIP 488).
func Answer(offer Desc, local netip.AddrPort) (Desc, error) {
	for _, c := range offer.Codecs {
		if supported(c) {
			return answerWith(offer, local, c), nil
		}
	}
	return Desc{}, ErrNoCommonCodec
}

// AnswerCodec is Answer but picks the codec named name (e.g. the one the
// callee chose in a bridged call), with the offerer's PT for it;
// ErrNoCommonCodec if the offer lacks it.
func AnswerCodec(offer Desc, local netip.AddrPort, name string) (Desc, error) {
	for _, c := range offer.Codecs {
		if supported(c) && strings.EqualFold(c.Name, name) {
			return answerWith(offer, local, c), nil
		}
	}
	return Desc{}, fmt.Errorf("answer with %s: %w", name, ErrNoCommonCodec)
}

func answerWith(offer Desc, local netip.AddrPort, c Codec) Desc {
	a := Desc{
		Addr:       local,
		Codecs:     []Codec{c},
		Direction:  mirror(offer.Direction),
		RTCPMux:    offer.RTCPMux,
		Ptime:      20,
		others:     offer.others,
		audioIndex: offer.audioIndex,
	}
	if offer.Addr.Port() == 0 {
		a.Addr = netip.AddrPortFrom(local.Addr(), 0) // a rejected line stays rejected
	}
	if offer.DTMF != nil && offer.DTMF.Clock == 8000 {
		dtmf := *offer.DTMF
		a.DTMF = &dtmf
	}
	return a
}

// OfferCodecs is the box's offer toward a leg rung for a caller whose
// codecs are names, best first: those the box knows, in that order, then
// every other codec the box can transcode to, and telephone-event.
func OfferCodecs(names []string, local netip.AddrPort) Desc {
	o := Desc{Addr: local, Direction: "sendrecv", Ptime: 20}
	all := []Codec{PCMU, PCMA, G722}
	for _, n := range names {
		for _, c := range all {
			if c.Name == canonicalName(n) && !slices.ContainsFunc(o.Codecs, func(x Codec) bool { return x.Name == c.Name }) {
				o.Codecs = append(o.Codecs, c)
			}
		}
	}
	for _, c := range all {
		if !slices.ContainsFunc(o.Codecs, func(x Codec) bool { return x.Name == c.Name }) {
			o.Codecs = append(o.Codecs, c)
		}
	}
	te := TelephoneEvent
	o.DTMF = &te
	return o
}

// Offer builds the box's offer toward a callee. With from != nil (a caller's
// offer, B2BUA pass-through) it offers the caller's codecs the box supports,
// in the caller's order, plus telephone-event (PT from the caller, else 101)
// and rtcp-mux if the caller offered it; with from == nil, or when the
// caller offered nothing the box supports, the box's defaults: PCMU 0,
// PCMA 8, G722 9, telephone-event 101.
func Offer(from *Desc, local netip.AddrPort) Desc {
	o := Desc{Addr: local, Direction: "sendrecv", Ptime: 20}
	te := TelephoneEvent
	if from != nil {
		for _, c := range from.Codecs {
			if supported(c) {
				o.Codecs = append(o.Codecs, c)
			}
		}
		if from.DTMF != nil && from.DTMF.Clock == 8000 {
			te = *from.DTMF
		}
		o.RTCPMux = from.RTCPMux
		if from.Direction != "" {
			o.Direction = from.Direction
		}
	}
	if len(o.Codecs) == 0 {
		o.Codecs = []Codec{PCMU, PCMA, G722}
		te = TelephoneEvent
	}
	o.DTMF = &te
	return o
}

// Marshal writes d as a complete SDP body with the o= line from o.
func (d Desc) Marshal(o Origin) []byte {
	addr := d.Addr.Addr()
	if !addr.IsValid() {
		addr = netip.IPv4Unspecified()
	}
	addr = addr.Unmap()
	at := "IP4"
	if addr.Is6() {
		at = "IP6"
	}
	user := o.User
	if !isToken(user) {
		user = "-"
	}
	b := make([]byte, 0, 320)
	b = append(b, "v=0\r\n"...)
	b = fmt.Appendf(b, "o=%s %d %d IN %s %s\r\n", user, o.ID, o.Version, at, addr)
	b = append(b, "s=ringbox\r\n"...)
	b = fmt.Appendf(b, "c=IN %s %s\r\n", at, addr)
	b = append(b, "t=0 0\r\n"...)
	for i := 0; i <= len(d.others); i++ {
		if i == d.audioIndex {
			b = d.appendAudio(b)
		}
		if i < len(d.others) {
			m := d.others[i]
			b = fmt.Appendf(b, "m=%s 0 %s %s\r\n", m.media, m.proto, m.formats)
		}
	}
	if d.audioIndex > len(d.others) {
		b = d.appendAudio(b)
	}
	return b
}

// maxCrypto bounds the crypto attributes kept from one SDP.
const maxCrypto = 8

func (d Desc) appendAudio(b []byte) []byte {
	proto := "RTP/AVP"
	if d.Secure {
		proto = "RTP/SAVP"
	}
	b = fmt.Appendf(b, "m=audio %d %s", d.Addr.Port(), proto)
	for _, c := range d.Codecs {
		b = fmt.Appendf(b, " %d", c.PT)
	}
	if d.DTMF != nil {
		b = fmt.Appendf(b, " %d", d.DTMF.PT)
	}
	b = append(b, "\r\n"...)
	for _, c := range d.Codecs {
		b = fmt.Appendf(b, "a=rtpmap:%d %s/%d\r\n", c.PT, c.Name, c.Clock)
	}
	if d.DTMF != nil {
		b = fmt.Appendf(b, "a=rtpmap:%d %s/%d\r\n", d.DTMF.PT, d.DTMF.Name, d.DTMF.Clock)
		b = fmt.Appendf(b, "a=fmtp:%d 0-16\r\n", d.DTMF.PT)
	}
	if d.Ptime > 0 {
		b = fmt.Appendf(b, "a=ptime:%d\r\n", d.Ptime)
	}
	if d.RTCPMux {
		b = append(b, "a=rtcp-mux\r\n"...)
	}
	for _, c := range d.Crypto {
		b = append(b, "a=crypto:"+c.String()+"\r\n"...)
	}
	dir := d.Direction
	if dir == "" {
		dir = "sendrecv"
	}
	return append(b, "a="+dir+"\r\n"...)
}
