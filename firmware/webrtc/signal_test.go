package webrtc

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeSignal(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want Signal
	}{
		{`{"type":"accept","call_id":"webrtc-1","sdp":"v=0\r\n"}`, true, Signal{Type: TypeAccept, CallID: "webrtc-1", SDP: "v=0\r\n"}},
		{`{"type":"dtmf","call_id":"webrtc-1","digit":"#"}`, true, Signal{Type: TypeDTMF, CallID: "webrtc-1", Digit: "#"}},
		{`{"type":"hold","call_id":"c"}`, true, Signal{Type: TypeHold, CallID: "c"}},
		{`{"type":"decline","call_id":"c","extra":1}`, true, Signal{Type: TypeDecline, CallID: "c"}},
		{`{"type":"incoming","call_id":"c"}`, false, Signal{}}, // box-to-page only
		{`{"type":"accept","call_id":"c"}`, false, Signal{}},   // no offer
		{`{"type":"accept","call_id":"c","sdp":"hello"}`, false, Signal{}},
		{`{"type":"dtmf","call_id":"c","digit":"55"}`, false, Signal{}},
		{`{"type":"dtmf","call_id":"c","digit":"x"}`, false, Signal{}},
		{`{"type":"hangup"}`, false, Signal{}},                 // no call id
		{`{"type":"hangup","call_id":"a b"}`, false, Signal{}}, // not a token
		{`{"type":"hangup","call_id":"` + strings.Repeat("a", 65) + `"}`, false, Signal{}},
		{`{"type":"hangup","call_id":"c"`, false, Signal{}}, // truncated
		{`[1,2]`, false, Signal{}},
		{`{"type":"transfer","call_id":"c","to":"102"}`, true, Signal{Type: TypeTransfer, CallID: "c", To: "102"}},
		{`{"type":"transfer","call_id":"c","to":"queue:service"}`, true, Signal{Type: TypeTransfer, CallID: "c", To: "queue:service"}},
		{`{"type":"transfer","call_id":"c","to":"+33 1"}`, false, Signal{}}, // a space
		{`{"type":"transfer","call_id":"c"}`, false, Signal{}},              // nowhere
		{`{"type":"transfer","call_id":"c","to":"` + strings.Repeat("1", 65) + `"}`, false, Signal{}},
	}
	for _, tt := range tests {
		got, err := DecodeSignal([]byte(tt.in))
		if tt.ok != (err == nil) {
			t.Errorf("DecodeSignal(%s) error %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if err != nil && !errors.Is(err, ErrBadSignal) {
			t.Errorf("DecodeSignal(%s): %v does not wrap ErrBadSignal", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("DecodeSignal(%s) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	big := `{"type":"accept","call_id":"c","sdp":"v=0` + strings.Repeat("a", MaxSignalBytes) + `"}`
	if _, err := DecodeSignal([]byte(big)); !errors.Is(err, ErrBadSignal) {
		t.Errorf("oversized message: %v", err)
	}
}

// FuzzDecodeSignal: whatever a page sends, decoding does not panic, and
// what it accepts is valid and survives a JSON round trip unchanged.
func FuzzDecodeSignal(f *testing.F) {
	for _, s := range []string{
		`{"type":"accept","call_id":"webrtc-1","sdp":"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n"}`,
		`{"type":"dtmf","call_id":"webrtc-1","digit":"5"}`,
		`{"type":"mute","call_id":"x"}`,
		`{"type":"hangup","call_id":"\u00e9"}`,
		`{}`, `null`, `"x"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSignal(b)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("decoded signal invalid: %v", err)
		}
		again, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := DecodeSignal(again)
		if err != nil || s2 != s {
			t.Fatalf("round trip %+v -> %s -> %+v, %v", s, again, s2, err)
		}
	})
}

func TestAnswerCodecs(t *testing.T) {
	sdp := "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
		"m=video 0 UDP/TLS/RTP/SAVPF 96\r\n" +
		"m=audio 9 UDP/TLS/RTP/SAVPF 8 0 126\r\nc=IN IP4 0.0.0.0\r\n" +
		"a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:126 telephone-event/8000\r\n"
	c, dtmf, err := answerCodecs(sdp)
	if err != nil || c.Name != "PCMA" || c.PT != 8 || dtmf != 126 {
		t.Fatalf("answerCodecs = %+v, %d, %v", c, dtmf, err)
	}
	if _, _, err := answerCodecs("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"); err == nil {
		t.Fatal("opus-only answer accepted")
	}
}

// FuzzAnswerCodecs: SDP parsing of offers and answers never panics.
func FuzzAnswerCodecs(f *testing.F) {
	f.Add("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 101\r\na=rtpmap:101 telephone-event/8000\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		c, _, err := answerCodecs(s)
		if err == nil && c.Name != "PCMU" && c.Name != "PCMA" {
			t.Fatalf("codec %+v", c)
		}
	})
}
