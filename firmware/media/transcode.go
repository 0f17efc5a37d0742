package media

import (
	"github.com/gotranspile/g722"

	"ringbox/audio/g711"
	"ringbox/audio/resample"
)

// bridgeable reports whether packets of codec a can be relayed to a peer
// using codec b: the same codec as is, the two G.711 laws by table, and
// G.722 to either law (and back) by decoding, resampling and encoding.
func bridgeable(a, b string) bool {
	return a == b || transcodable(a) && transcodable(b)
}

// transcodable reports whether the box can decode and encode codec name.
func transcodable(name string) bool { return isG711(name) || name == "G722" }

// transcoder converts the audio of one bridge direction between G.722 and
// G.711. It belongs to the receiving stream and is used only on its reader
// goroutine, so it needs no lock. A packet becomes one packet of the same
// duration: n bytes of G.711 are n samples at 8 kHz, n bytes of G.722 are
// 2n samples at 16 kHz, and both count n units of the 8 kHz RTP clock
// (RFC 3551 §4.5.2), so the payload keeps its size and is converted in
// place, and the timestamps keep their meaning.
type transcoder struct {
	from, to string  // codec names this state was built for
	peer     *Stream // the bridge direction it belongs to

	dec *g722.Decoder // G.722 in
	enc *g722.Encoder // G.722 out
	rs  *resample.Resampler

	pcm  [maxDecoded]int16 // the decoded packet
	pend []int16           // resampled samples not yet encoded
}

// maxPending bounds pend: a packet's worth of resampled audio and the
// filter's small surplus; more means packets of varying size left a
// backlog, which is dropped (oldest first) rather than delayed.
const maxPending = 2 * maxDecoded

// transcoderFor returns s's transcoder for packets of codec from going to
// peer in codec to, building it (once per bridge and codec pair) when the
// current one was for something else.
func (s *Stream) transcoderFor(peer *Stream, from, to string) *transcoder {
	x := s.xc
	if x != nil && x.peer == peer && x.from == from && x.to == to {
		return x
	}
	if x == nil {
		x = &transcoder{pend: make([]int16, 0, maxPending)}
		s.xc = x
	}
	x.from, x.to, x.peer = from, to, peer
	x.dec, x.enc = nil, nil
	x.pend = x.pend[:0]
	if from == "G722" {
		x.dec = g722.NewDecoder(g722.Rate64000, 0)
		x.rs = resample.New(16000, 8000)
	} else {
		x.enc = g722.NewEncoder(g722.Rate64000, 0)
		x.rs = resample.New(8000, 16000)
	}
	return x
}

// convert transcodes payload in place. It must not allocate.
func (x *transcoder) convert(payload []byte) {
	n := len(payload)
	var in []int16
	want := n // samples needed at the output rate
	switch x.from {
	case "G722":
		in = x.pcm[:x.dec.Decode(x.pcm[:], payload)]
	case "PCMU":
		in = x.pcm[:g711.DecodeUlaw(x.pcm[:], payload)]
		want = 2 * n
	case "PCMA":
		in = x.pcm[:g711.DecodeAlaw(x.pcm[:], payload)]
		want = 2 * n
	}
	if room := cap(x.pend) - len(x.pend); 2*len(in)+4 > room {
		drop := min(len(x.pend), 2*len(in)+4-room)
		x.pend = x.pend[:copy(x.pend, x.pend[drop:])]
	}
	x.pend = x.rs.Process(x.pend, in)
	out := x.pcm[:want]
	// The filter looks a few samples ahead, so the first packets give a
	// little less than they take: the shortfall leads the output as
	// silence once, and from then on each packet gives what it takes.
	short := max(0, want-len(x.pend))
	clear(out[:short])
	k := copy(out[short:], x.pend)
	x.pend = x.pend[:copy(x.pend, x.pend[k:])]
	switch x.to {
	case "G722":
		x.enc.Encode(payload, out)
	case "PCMU":
		g711.EncodeUlaw(payload, out)
	case "PCMA":
		g711.EncodeAlaw(payload, out)
	}
}
