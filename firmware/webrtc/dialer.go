package webrtc

import (
	"context"
	"strings"

	pion "github.com/pion/webrtc/v4"

	"ringbox/firmware/call"
)

// Dialer sends call.TargetBrowser targets to Hub and every other kind to
// Next (the SIP dialer), so that routing code keeps one Dialer.
type Dialer struct {
	Hub  *Hub
	Next call.Dialer
}

var _ call.Dialer = Dialer{}

// Dial implements call.Dialer.
func (d Dialer) Dial(ctx context.Context, t call.Target) (call.Leg, error) {
	if t.Kind == call.TargetBrowser {
		return d.Hub.Dial(ctx, t)
	}
	return d.Next.Dial(ctx, t)
}

// ICEServers turns the --webrtc-ice flag's comma-separated URLs
// ("stun:stun.example:3478,turn:user:pass@turn.example:3478") into pion
// servers; TURN credentials go before an @.
func ICEServers(list string) []pion.ICEServer {
	var out []pion.ICEServer
	for u := range strings.SplitSeq(list, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		s := pion.ICEServer{URLs: []string{u}}
		if scheme, rest, ok := strings.Cut(u, ":"); ok && (scheme == "turn" || scheme == "turns") {
			if cred, host, ok := strings.Cut(rest, "@"); ok {
				user, pass, _ := strings.Cut(cred, ":")
				s = pion.ICEServer{URLs: []string{scheme + ":" + host}, Username: user, Credential: pass}
			}
		}
		out = append(out, s)
	}
	return out
}
