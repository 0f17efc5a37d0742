package media

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func sdpBody(lines ...string) []byte { return []byte(strings.Join(lines, "\r\n") + "\r\n") }

const (
	head   = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0"
	phone  = "192.0.2.10:4000"
	boxRTP = "198.51.100.1:10000"
)

func TestParseSDP(t *testing.T) {
	te := Codec{Name: "telephone-event", PT: 101, Clock: 8000}
	tests := []struct {
		name string
		body []byte
		want Desc
	}{
		{
			name: "typical phone",
			body: sdpBody(head, "m=audio 4000 RTP/AVP 9 0 8 101", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000",
				"a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-16", "a=ptime:20", "a=sendrecv"),
			want: Desc{Addr: netip.MustParseAddrPort(phone), Codecs: []Codec{G722, PCMU, PCMA}, DTMF: &te, Direction: "sendrecv", Ptime: 20},
		},
		{
			name: "static types without rtpmap, media-level c=, hold",
			body: sdpBody("v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "t=0 0", "m=audio 4000 RTP/AVP 8 0", "c=IN IP4 0.0.0.0", "a=sendonly"),
			want: Desc{Addr: netip.MustParseAddrPort("0.0.0.0:4000"), Codecs: []Codec{PCMA, PCMU}, Direction: "sendonly"},
		},
		{
			name: "dynamic types, case, rtcp-mux, unknown codecs kept, unmapped dynamic dropped",
			body: sdpBody(head, "m=audio 4000 RTP/AVP 96 111 97 98", "a=rtpmap:96 pcmu/8000", "a=rtpmap:111 opus/48000/2",
				"a=rtpmap:97 telephone-event/48000", "a=rtpmap:98 telephone-event/8000", "a=rtcp-mux", "a=inactive"),
			want: Desc{Addr: netip.MustParseAddrPort(phone), Codecs: []Codec{{"PCMU", 96, 8000}, {"opus", 111, 48000}},
				DTMF: &Codec{"telephone-event", 98, 8000}, Direction: "inactive", RTCPMux: true},
		},
		{
			name: "session-level direction, IPv6",
			body: sdpBody("v=0", "o=- 1 1 IN IP6 2001:db8::1", "s=-", "c=IN IP6 2001:db8::1", "t=0 0", "a=recvonly", "m=audio 4000 RTP/AVP 0"),
			want: Desc{Addr: netip.MustParseAddrPort("[2001:db8::1]:4000"), Codecs: []Codec{PCMU}, Direction: "recvonly"},
		},
		{
			name: "rejected stream",
			body: sdpBody("v=0", "o=- 1 1 IN IP4 192.0.2.10", "s=-", "t=0 0", "m=audio 0 RTP/AVP 0"),
			want: Desc{Addr: netip.MustParseAddrPort("0.0.0.0:0"), Codecs: []Codec{PCMU}, Direction: "sendrecv"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSDP(tt.body)
			if err != nil {
				t.Fatalf("ParseSDP: %v", err)
			}
			got.others = nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseSDP =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseSDPErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"garbage", "hello", "parse sdp"},
		{"no audio", head + "\r\nm=video 5000 RTP/AVP 96\r\n", "no audio m= line"},
		{"dtls-srtp", head + "\r\nm=audio 4000 UDP/TLS/RTP/SAVPF 0\r\n", "unsupported audio transport"},
		{"hostname", strings.Replace(head, "c=IN IP4 192.0.2.10", "c=IN IP4 pbx.example.com", 1) + "\r\nm=audio 4000 RTP/AVP 0\r\n", "not an IP address"},
		{"no c=", "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", "no c= line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSDP([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSDP = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	local := netip.MustParseAddrPort(boxRTP)
	offer := Desc{Addr: netip.MustParseAddrPort(phone), Codecs: []Codec{{"opus", 111, 48000}, PCMA, PCMU},
		DTMF: &Codec{"telephone-event", 98, 8000}, Direction: "sendonly", RTCPMux: true}
	a, err := Answer(offer, local)
	if err != nil {
		t.Fatal(err)
	}
	want := Desc{Addr: local, Codecs: []Codec{PCMA}, DTMF: &Codec{"telephone-event", 98, 8000}, Direction: "recvonly", RTCPMux: true, Ptime: 20}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Answer =\n%+v\nwant\n%+v", a, want)
	}
	a, err = AnswerCodec(offer, local, "pcmu")
	if err != nil || a.Codecs[0] != PCMU {
		t.Errorf("AnswerCodec(PCMU) = %+v, %v", a.Codecs, err)
	}
	if _, err := AnswerCodec(offer, local, "G722"); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("AnswerCodec(G722) = %v, want ErrNoCommonCodec", err)
	}
	if _, err := Answer(Desc{Codecs: []Codec{{"opus", 111, 48000}, {"G729", 18, 8000}}}, local); !errors.Is(err, ErrNoCommonCodec) {
		t.Errorf("Answer(opus, G729) = %v, want ErrNoCommonCodec", err)
	}
	for dir, want := range map[string]string{"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive", "": "sendrecv"} {
		if a, _ := Answer(Desc{Codecs: []Codec{PCMU}, Direction: dir, Addr: netip.MustParseAddrPort(phone)}, local); a.Direction != want {
			t.Errorf("answer to %q = %q, want %q", dir, a.Direction, want)
		}
	}
}

func TestOffer(t *testing.T) {
	local := netip.MustParseAddrPort(boxRTP)
	o := Offer(nil, local)
	if want := []Codec{PCMU, PCMA, G722}; !reflect.DeepEqual(o.Codecs, want) || *o.DTMF != TelephoneEvent || o.RTCPMux {
		t.Errorf("default offer = %+v", o)
	}
	from := Desc{Codecs: []Codec{{"opus", 111, 48000}, G722, PCMU}, DTMF: &Codec{"telephone-event", 100, 8000}, RTCPMux: true, Direction: "sendrecv"}
	o = Offer(&from, local)
	if want := []Codec{G722, PCMU}; !reflect.DeepEqual(o.Codecs, want) || o.DTMF.PT != 100 || !o.RTCPMux || o.Addr != local {
		t.Errorf("pass-through offer = %+v", o)
	}
	from = Desc{Codecs: []Codec{PCMU}}
	if o = Offer(&from, local); o.DTMF.PT != 101 {
		t.Errorf("offer without caller's telephone-event has PT %d, want 101", o.DTMF.PT)
	}
}

// TestAnswerGolden checks whole answer bodies against testdata/*.golden.
func TestAnswerGolden(t *testing.T) {
	local := netip.MustParseAddrPort(boxRTP)
	tests := []struct {
		name  string
		offer []byte
	}{
		{"yealink", sdpBody(head, "m=audio 4000 RTP/AVP 9 0 8 18 101", "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000",
			"a=rtpmap:8 PCMA/8000", "a=rtpmap:18 G729/8000", "a=fmtp:18 annexb=no", "a=rtpmap:101 telephone-event/8000",
			"a=fmtp:101 0-15", "a=ptime:20", "a=sendrecv")},
		{"webrtc-gateway-mux-hold", sdpBody(head, "m=audio 4000 RTP/AVPF 111 8 126", "a=rtpmap:111 opus/48000/2",
			"a=rtpmap:8 PCMA/8000", "a=rtpmap:126 telephone-event/8000", "a=rtcp-mux", "a=sendonly")},
		{"video-rejected", sdpBody(head, "m=video 5000 RTP/AVP 96", "a=rtpmap:96 H264/90000",
			"m=audio 4000 RTP/AVP 0", "a=sendrecv")},
		{"old-hold", sdpBody("v=0", "o=- 1 2 IN IP4 192.0.2.10", "s=-", "c=IN IP4 0.0.0.0", "t=0 0", "m=audio 4000 RTP/AVP 0 101",
			"a=rtpmap:101 telephone-event/8000")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			offer, err := ParseSDP(tt.offer)
			if err != nil {
				t.Fatal(err)
			}
			a, err := Answer(offer, local)
			if err != nil {
				t.Fatal(err)
			}
			got := a.Marshal(Origin{User: "ringbox", ID: 42, Version: 1})
			path := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("answer:\n%s\nwant:\n%s", got, want)
			}
			back, err := ParseSDP(got)
			if err != nil {
				t.Fatalf("answer does not parse: %v", err)
			}
			if !reflect.DeepEqual(back, a) {
				t.Errorf("answer re-parsed =\n%+v\nwant\n%+v", back, a)
			}
		})
	}
}

func FuzzParseSDP(f *testing.F) {
	f.Add(sdpBody(head, "m=audio 4000 RTP/AVP 9 0 8 101", "a=rtpmap:101 telephone-event/8000", "a=ptime:30", "a=rtcp-mux"))
	f.Add(sdpBody(head, "m=video 5000 RTP/AVP 96", "m=audio 4000 RTP/AVP 0", "a=inactive"))
	f.Add(sdpBody("v=0", "o=- 1 1 IN IP6 ::1", "s=-", "c=IN IP6 ::1", "t=0 0", "m=audio 0 RTP/AVP 96", "a=rtpmap:96 PCMU/8000"))
	f.Add([]byte("v=0\no=- 0 0 IN IP4 0.0.0.0\ns=-\nt=0 0\nm=audio 1 RTP/AVP 0\nc=IN IP4 1.2.3.4\n"))
	f.Add(sdpBody(head, "m=audio 4000 RTP/SAVP 0", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH|2^31",
		"a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"))
	f.Fuzz(func(t *testing.T, body []byte) {
		d, err := ParseSDP(body)
		if err != nil {
			return
		}
		out := d.Marshal(Origin{User: "ringbox", ID: 1, Version: 2})
		back, err := ParseSDP(out)
		if err != nil {
			t.Fatalf("re-parse of\n%s\nfailed: %v", out, err)
		}
		if !reflect.DeepEqual(back, d) {
			t.Fatalf("re-parse =\n%+v\nwant\n%+v\nbody:\n%s", back, d, out)
		}
		Answer(d, netip.MustParseAddrPort(boxRTP))
		Offer(&d, netip.MustParseAddrPort(boxRTP))
	})
}
