package sip

// Busy lamps: the dialog event package (RFC 4235) that phones' BLF keys
// subscribe to. The box is the notifier for three kinds of resource,
// named by the Request-URI's user part:
//
//	102          extension 102: off idle, blinking while it rings (an
//	             early dialog, direction recipient, which phones offer to
//	             pick up), steady while it is on a call or calling
//	agent-bob    agent bob, as the box's button LED shows them: off
//	             logged out, steady available, blinking unavailable, in
//	             wrap-up or offered a call
//	*45          the subscribing phone's own agent, as agent-ID; the key
//	             dials *45 when pressed, which logs the agent in or out
//	queue-sales  queue sales, as the box's queue LED: off nobody waits,
//	             steady callers wait, blinking past the service level
//
// What the lamps show is decided by package presence ([presence.Lamps]);
// Config.Lamps gives it, [Server.LampChanged] is told when it changes.
//
// A ringing extension's dialog carries call-id "pickup-EXT@host" and
// tags; a phone that picks up by INVITE with Replaces of that dialog is
// handed to the directed pickup of EXT (inbound.go), like dialling **EXT.

import (
	"bytes"
	"context"
	"encoding/xml"
	"strconv"
	"strings"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/presence"
	"ringbox/firmware/site"
)

const (
	dialogEvent       = "dialog"
	dialogContentType = "application/dialog-info+xml"
	dialogInfoNS      = "urn:ietf:params:xml:ns:dialog-info"
	// maxDialogSubsPerExt bounds one phone's BLF keys (sidecars included).
	maxDialogSubsPerExt = 200
	// agentKeyUser is the user part of the "my agent" key: what the phone
	// dials when the key is pressed.
	agentKeyUser = "*45"
	// pickupCallIDPrefix starts the call-id of a ringing extension's
	// dialog in dialog-info; INVITE with Replaces of it picks the call up.
	pickupCallIDPrefix = "pickup-"
	// directedPickupPrefix is the feature code a Replaces pickup becomes
	// (flow.FeatureDirectedPickup; docs/features.md).
	directedPickupPrefix = "**"
)

// LampSource gives the busy lamp of a resource ("ext:101", "agent:bob",
// "queue:sales"); *presence.Lamps is one.
type LampSource interface {
	Lamp(ctx context.Context, resource string) presence.Lamp
}

// callerSource is a LampSource that also knows who rings an extension
// (*presence.Lamps does): the ringing dialog then shows the caller.
type callerSource interface {
	RingingCaller(ext string) (presence.Caller, bool)
}

// dialogPackage is the dialog event package, served when Config.Lamps is
// set.
var dialogPackage = &eventPackage{
	name:        dialogEvent,
	contentType: dialogContentType,
	maxPerOwner: maxDialogSubsPerExt,
	resource: func(s *Server, user string, acct Account) (string, int, string) {
		res, ok := blfResource(s.cfg.Site(), user, acct.Extension)
		if !ok {
			return "", 404, "Not Found"
		}
		return res, 0, ""
	},
	body: func(s *Server, sub *subscription, version uint32) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), lampTimeout)
		defer cancel()
		lamp := s.cfg.Lamps.Lamp(ctx, sub.resource)
		var caller presence.Caller
		if cs, ok := s.cfg.Lamps.(callerSource); ok && lamp == presence.LampRinging {
			if ext, isExt := strings.CutPrefix(sub.resource, presence.ExtResource); isExt {
				caller, _ = cs.RingingCaller(ext)
			}
		}
		return dialogInfo(sub.resource, sub.localURI.String(), s.host, lamp, version, caller)
	},
}

// lampTimeout bounds asking the ACD for an agent's or a queue's lamp.
const lampTimeout = 2 * time.Second

func (s *Server) eventPackages() []*eventPackage {
	pkgs := []*eventPackage{mwiPackage}
	if s.cfg.Lamps != nil {
		pkgs = append(pkgs, dialogPackage)
	}
	return pkgs
}

// LampChanged sends the lamp of resource ("ext:101", "agent:bob",
// "queue:sales") to every phone watching it. It returns at once.
func (s *Server) LampChanged(resource string) {
	s.subs.notifyResource(dialogPackage, resource)
}

// blfResource resolves the user part a BLF key subscribes to into the
// resource it watches, for a phone of extension own.
func blfResource(st *site.Site, user, own string) (string, bool) {
	switch {
	case user == agentKeyUser:
		for _, a := range st.Agents {
			if a.Extension != "" && a.Extension == own {
				return presence.AgentResource + a.ID, true
			}
		}
		return "", false
	case strings.HasPrefix(user, "agent-"):
		id := strings.TrimPrefix(user, "agent-")
		for _, a := range st.Agents {
			if a.ID == id {
				return presence.AgentResource + id, true
			}
		}
		return "", false
	case strings.HasPrefix(user, "queue-"):
		id := strings.TrimPrefix(user, "queue-")
		for _, q := range st.Queues {
			if q.ID == id {
				return presence.QueueResource + id, true
			}
		}
		return "", false
	}
	for _, x := range st.Extensions {
		if x.Number == user {
			return presence.ExtResource + user, true
		}
	}
	return "", false
}

// dialogInfo is the full-state dialog-info body (RFC 4235 §4.1) of
// resource's lamp. entity is the URI the phone subscribed to; host makes
// the pickup call-id and the caller's URI; caller, when it has a number,
// is the ringing dialog's remote party (phones show it on the key). Every state has one dialog, so that phones that
// keep the last dialog's state (a common way to read "full") see it end:
// off is terminated, as Asterisk and FreeSWITCH send.
//
// Agents and queues blink with an early dialog of direction initiator: a
// phone offers pickup only for recipient ones, and an agent's key pressed
// while blinking must dial *45, not a pickup code.
//
// The document is written by hand, not with encoding/xml: one is built
// per NOTIFY, 200 of them for a lamp on every phone's sidecar, and
// reflection was a third of a fan-out's CPU.
func dialogInfo(resource, entity, host string, l presence.Lamp, version uint32, caller presence.Caller) []byte {
	kind, id, _ := strings.Cut(resource, ":")
	b := make([]byte, 0, 512)
	b = append(b, xml.Header...)
	b = append(b, `<dialog-info xmlns="`+dialogInfoNS+`" version="`...)
	b = strconv.AppendUint(b, uint64(version), 10)
	b = append(b, `" state="full" entity="`...)
	b = appendEscaped(b, entity)
	b = append(b, "\">\n <dialog id=\""...)
	b = appendEscaped(b, id)
	b = append(b, '"')
	state := "terminated"
	switch l {
	case presence.LampBusy:
		state = "confirmed"
	case presence.LampRinging:
		state = "early"
		if kind+":" != presence.ExtResource {
			b = append(b, ` direction="initiator"`...)
			break
		}
		b = append(b, ` call-id="`...)
		b = appendEscaped(b, pickupCallIDPrefix+id+"@"+host)
		b = append(b, `" local-tag="`...)
		b = appendEscaped(b, "ringing"+id)
		b = append(b, `" remote-tag="`...)
		b = appendEscaped(b, "caller"+id)
		b = append(b, `" direction="recipient"`...)
	}
	b = append(b, ">\n  <state>"+state+"</state>\n"...)
	if l == presence.LampRinging && kind+":" == presence.ExtResource {
		b = append(b, "  <local>\n   <identity>"...)
		b = appendEscaped(b, entity)
		b = append(b, "</identity>\n   <target uri=\""...)
		b = appendEscaped(b, entity)
		b = append(b, "\"/>\n  </local>\n"...)
		if caller.Number != "" {
			uri := (&sipgosip.Uri{Scheme: "sip", User: caller.Number, Host: host}).String()
			b = append(b, "  <remote>\n   <identity"...)
			if caller.Name != "" {
				b = append(b, ` display="`...)
				b = appendEscaped(b, caller.Name)
				b = append(b, '"')
			}
			b = append(b, '>')
			b = appendEscaped(b, uri)
			b = append(b, "</identity>\n   <target uri=\""...)
			b = appendEscaped(b, uri)
			b = append(b, "\"/>\n  </remote>\n"...)
		}
	}
	b = append(b, " </dialog>\n</dialog-info>\n"...)
	return b
}

// appendEscaped appends s escaped for XML text and attribute values;
// characters XML cannot carry (control characters, invalid UTF-8) become
// U+FFFD.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '<' || c == '>' || c == '&' || c == '\'' || c == '"' {
			var w bytes.Buffer
			xml.EscapeText(&w, []byte(s))
			return append(b, w.Bytes()...)
		}
	}
	return append(b, s...)
}

// pickupTarget is the extension whose ringing an INVITE's Replaces header
// names, when it names a dialog-info pickup dialog (dialogInfo): the
// phone picks that extension's call up. RFC 3891: Replaces: call-id
// *(;to-tag=x / ;from-tag=y / ;early-only).
func pickupTarget(replaces, host string) (string, bool) {
	callID, _, _ := strings.Cut(replaces, ";")
	callID = strings.TrimSpace(callID)
	rest, ok := strings.CutPrefix(callID, pickupCallIDPrefix)
	if !ok {
		return "", false
	}
	ext, h, ok := strings.Cut(rest, "@")
	if !ok || ext == "" || !strings.EqualFold(h, host) {
		return "", false
	}
	if _, err := strconv.ParseUint(ext, 10, 64); err != nil || len(ext) > 16 {
		return "", false
	}
	return ext, true
}
