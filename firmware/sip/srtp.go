package sip

import (
	"errors"

	"ringbox/firmware/media"
)

// SRTP keyed by SDES (RFC 4568) on TLS legs.
//
// The rule: SDES keys are written in the SDP, so they are only offered or
// accepted where the SIP signalling is TLS. On UDP or TCP the box never
// sends a key: an RTP/SAVP offer there is refused with 488 (RFC 3264 does
// not let an answer change the transport), and a=crypto lines on an
// RTP/AVP offer are ignored, which RFC 4568 §5.1.2 allows (the answer
// without them is plain RTP). On TLS the box accepts the first offered
// attribute it supports (AES_CM_128_HMAC_SHA1_80 or _32, inline key, no
// MKI or session parameters) and answers with a key of its own; it offers
// RTP/SAVP with AES_CM_128_HMAC_SHA1_80 to phones registered over TLS and
// to TLS trunks. The media relay decrypts and encrypts per leg, so an SRTP
// phone talks to a plain-RTP trunk or phone.

var (
	// errSRTPOverPlain: an RTP/SAVP offer over unencrypted signalling.
	errSRTPOverPlain = errors.New("srtp offered over unencrypted signalling")
	// errSRTPOff: an RTP/SAVP offer from a TLS trunk set to srtp: off.
	errSRTPOff = errors.New("srtp offered by a trunk set to srtp: off")
	// errNoUsableCrypto: an RTP/SAVP SDP without a key the box can use.
	errNoUsableCrypto = errors.New("srtp without a usable a=crypto")
)

// offerTag and offerSuite are what the box offers.
const (
	offerTag   = 1
	offerSuite = media.SuiteAES80
)

// acceptableOffer reports whether an offer may be answered at all on
// transport: not RTP/SAVP over plain signalling or from a trunk whose
// media is plain (srtp: off), not RTP/SAVP without a usable key.
func acceptableOffer(offer media.Desc, transport string, plainMedia bool) error {
	if !offer.Secure {
		return nil
	}
	if !secureTransport(transport) {
		return errSRTPOverPlain
	}
	if plainMedia {
		return errSRTPOff
	}
	if len(offer.Crypto) == 0 {
		return errNoUsableCrypto
	}
	return nil
}

// sdesKeyLocked is the box's master key and salt toward this leg, made
// once: answers to re-INVITEs repeat it, so the far end keeps decrypting.
func (l *Leg) sdesKeyLocked() []byte {
	if l.sdesKey == nil {
		l.sdesKey = media.NewKey()
	}
	return l.sdesKey
}

// transportLocked is the transport of the leg's signalling.
func (l *Leg) transportLocked() string {
	if l.inbound {
		return l.inv.Transport()
	}
	if l.uac != nil {
		return l.uac.transport
	}
	return ""
}

// answerCryptoLocked completes the box's answer ans to offer with its
// SRTP key, and keys the stream, when the leg is on TLS and the offer has
// a usable key; otherwise the answer and the stream are plain RTP (and an
// RTP/SAVP offer is an error: 488).
func (l *Leg) answerCryptoLocked(offer media.Desc, ans *media.Desc) error {
	ans.Secure, ans.Crypto = false, nil
	transport := l.transportLocked()
	if err := acceptableOffer(offer, transport, l.plainMedia); err != nil {
		return err
	}
	if l.keysOn(transport) {
		for _, c := range offer.Crypto {
			local := media.Crypto{Tag: c.Tag, Suite: c.Suite, Key: l.sdesKeyLocked()}
			if err := l.stream.SetSRTP(local, c); err != nil {
				continue
			}
			ans.Secure, ans.Crypto = offer.Secure, []media.Crypto{local}
			return nil
		}
		if offer.Secure {
			return errNoUsableCrypto
		}
	}
	l.stream.ClearSRTP()
	return nil
}

// keysOn reports whether the leg's SDP may carry SRTP keys on
// transport: on TLS, unless the leg's trunk keeps plain media.
func (l *Leg) keysOn(transport string) bool { return secureTransport(transport) && !l.plainMedia }

// offerCryptoLocked makes d an SRTP offer when the leg's keys may go on
// transport.
func (l *Leg) offerCryptoLocked(d *media.Desc, transport string) {
	d.Secure, d.Crypto = false, nil
	if l.keysOn(transport) {
		d.Secure = true
		d.Crypto = []media.Crypto{{Tag: offerTag, Suite: offerSuite, Key: l.sdesKeyLocked()}}
	}
}

// offerSDPLocked is the box's offer toward one branch of an outbound leg:
// SRTP when that branch's transport is TLS. The leg's l.local stays plain
// until an answer says which branch won (takeAnswerCryptoLocked).
func (l *Leg) offerSDPLocked(transport string) []byte {
	d := l.local
	l.offerCryptoLocked(&d, transport)
	return d.Marshal(l.origin)
}

// takeAnswerCryptoLocked keys the stream from the answer to the box's
// offer made on transport, and makes the leg's own SDP say what was
// agreed (later offers and answers repeat it).
func (l *Leg) takeAnswerCryptoLocked(ans media.Desc, transport string) error {
	if l.keysOn(transport) {
		for _, c := range ans.Crypto {
			if c.Tag != offerTag || c.Suite != offerSuite {
				continue
			}
			local := media.Crypto{Tag: offerTag, Suite: offerSuite, Key: l.sdesKeyLocked()}
			if err := l.stream.SetSRTP(local, c); err != nil {
				return err
			}
			l.local.Secure, l.local.Crypto = true, []media.Crypto{local}
			return nil
		}
		if ans.Secure {
			return errNoUsableCrypto
		}
	}
	l.local.Secure, l.local.Crypto = false, nil
	l.stream.ClearSRTP()
	return nil
}
