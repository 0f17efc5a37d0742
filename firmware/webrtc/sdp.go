package webrtc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"ringbox/firmware/media"
)

// answerCodecs reads the box's own answer: the first G.711 codec of the
// audio m= line (what the browser will send and expect) and the
// telephone-event payload type (0 when the page offered none). The box's
// media.ParseSDP is for plain RTP/AVP and refuses the SAVPF profile.
func answerCodecs(answer string) (media.Codec, uint8, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return media.Codec{}, 0, fmt.Errorf("parse sdp: %w", err)
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" || m.MediaName.Port.Value == 0 {
			continue
		}
		names := map[uint8]string{0: "PCMU", 8: "PCMA"}
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, rest, ok := strings.Cut(a.Value, " ")
			n, err := strconv.ParseUint(pt, 10, 7)
			if !ok || err != nil {
				continue
			}
			enc, _, _ := strings.Cut(rest, "/")
			names[uint8(n)] = strings.ToUpper(enc)
		}
		var codec media.Codec
		var dtmf uint8
		for _, f := range m.MediaName.Formats {
			n, err := strconv.ParseUint(f, 10, 7)
			if err != nil {
				continue
			}
			switch name := names[uint8(n)]; name {
			case "PCMU", "PCMA":
				if codec.Name == "" {
					codec = media.Codec{Name: name, PT: uint8(n), Clock: 8000}
				}
			case "TELEPHONE-EVENT":
				dtmf = uint8(n)
			}
		}
		if codec.Name == "" {
			return media.Codec{}, 0, errors.New("no g.711 in the audio answer")
		}
		return codec, dtmf, nil
	}
	return media.Codec{}, 0, errors.New("no audio in the answer")
}
