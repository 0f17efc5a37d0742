package webrtc

import (
	"fmt"
	"net"
	"time"

	"github.com/pion/interceptor"
	pion "github.com/pion/webrtc/v4"
)

// newAPI builds pion's API: G.711 and telephone-event only, no video, and
// no interceptors (NACK, TWCC and the like cost CPU per packet and do
// nothing for G.711 on a LAN).
func newAPI(cfg Config) (*pion.API, error) {
	me := &pion.MediaEngine{}
	for _, c := range []pion.RTPCodecParameters{
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypePCMA, ClockRate: 8000}, PayloadType: 8},
		{RTPCodecCapability: pion.RTPCodecCapability{MimeType: "audio/telephone-event", ClockRate: 8000, SDPFmtpLine: "0-16"}, PayloadType: 101},
	} {
		if err := me.RegisterCodec(c, pion.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("register %s: %w", c.MimeType, err)
		}
	}
	var se pion.SettingEngine
	// A dead browser is noticed in seconds, not pion's default 30.
	se.SetICETimeouts(4*time.Second, 8*time.Second, 2*time.Second)
	if cfg.PublicIP != "" {
		if err := se.SetICEAddressRewriteRules(pion.ICEAddressRewriteRule{
			External:        []string{cfg.PublicIP},
			AsCandidateType: pion.ICECandidateTypeHost,
			Mode:            pion.ICEAddressRewriteAppend,
		}); err != nil {
			return nil, fmt.Errorf("public ip %s: %w", cfg.PublicIP, err)
		}
	}
	if cfg.loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4})
	}
	return pion.NewAPI(pion.WithMediaEngine(me), pion.WithSettingEngine(se), pion.WithInterceptorRegistry(&interceptor.Registry{})), nil
}
