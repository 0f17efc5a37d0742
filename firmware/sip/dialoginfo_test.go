package sip

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	sipgosip "github.com/emiago/sipgo/sip"

	"ringbox/firmware/presence"
	"ringbox/firmware/site"
)

// rfcDialogInfo reads a dialog-info document as RFC 4235 §4 defines it,
// keeping what the schema constrains.
type rfcDialogInfo struct {
	XMLName xml.Name `xml:"dialog-info"`
	Version *uint32  `xml:"version,attr"`
	State   string   `xml:"state,attr"`
	Entity  string   `xml:"entity,attr"`
	Dialogs []struct {
		ID        string `xml:"id,attr"`
		CallID    string `xml:"call-id,attr"`
		LocalTag  string `xml:"local-tag,attr"`
		RemoteTag string `xml:"remote-tag,attr"`
		Direction string `xml:"direction,attr"`
		State     []struct {
			Value string `xml:",chardata"`
		} `xml:"state"`
		Local  *rfcParticipant `xml:"local"`
		Remote *rfcParticipant `xml:"remote"`
	} `xml:"dialog"`
}

type rfcParticipant struct {
	Identity struct {
		Display string `xml:"display,attr"`
		URI     string `xml:",chardata"`
	} `xml:"identity"`
	Target *struct {
		URI string `xml:"uri,attr"`
	} `xml:"target"`
}

// parseDialogInfo checks body against RFC 4235's structure and returns
// it: the namespace, the required attributes and their values, one state
// per dialog, and the dialog identifiers as a whole or not at all.
func parseDialogInfo(t testing.TB, body string) rfcDialogInfo {
	t.Helper()
	var d rfcDialogInfo
	if err := xml.Unmarshal([]byte(body), &d); err != nil {
		t.Fatalf("dialog-info does not parse: %v\n%s", err, body)
	}
	if d.XMLName.Space != dialogInfoNS {
		t.Errorf("namespace %q, want %q", d.XMLName.Space, dialogInfoNS)
	}
	if d.Version == nil {
		t.Error("no version attribute")
	}
	if d.State != "full" && d.State != "partial" {
		t.Errorf("state attribute %q, want full or partial", d.State)
	}
	if !strings.HasPrefix(d.Entity, "sip:") {
		t.Errorf("entity %q is not a SIP URI", d.Entity)
	}
	for _, dl := range d.Dialogs {
		if dl.ID == "" {
			t.Error("dialog without id")
		}
		if len(dl.State) != 1 {
			t.Fatalf("dialog %q has %d state elements, want 1", dl.ID, len(dl.State))
		}
		switch dl.State[0].Value {
		case "trying", "proceeding", "early", "confirmed", "terminated":
		default:
			t.Errorf("dialog state %q", dl.State[0].Value)
		}
		switch dl.Direction {
		case "", "initiator", "recipient":
		default:
			t.Errorf("direction %q", dl.Direction)
		}
		// §4.1.1: call-id, local-tag and remote-tag come together.
		if n := btoi(dl.CallID != "") + btoi(dl.LocalTag != "") + btoi(dl.RemoteTag != ""); n != 0 && n != 3 {
			t.Errorf("dialog %q: call-id %q local-tag %q remote-tag %q: all or none", dl.ID, dl.CallID, dl.LocalTag, dl.RemoteTag)
		}
	}
	return d
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dialogState is the state of the one dialog of a lamp's dialog-info,
// with its direction.
func dialogState(t testing.TB, body string) (state, direction string, version uint32) {
	t.Helper()
	d := parseDialogInfo(t, body)
	if len(d.Dialogs) != 1 {
		t.Fatalf("%d dialogs, want 1:\n%s", len(d.Dialogs), body)
	}
	return d.Dialogs[0].State[0].Value, d.Dialogs[0].Direction, *d.Version
}

func TestDialogInfo(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		lamp     presence.Lamp
		state    string
		dir      string
		pickup   bool // carries the pickup dialog's identifiers
	}{
		{"idle extension", "ext:102", presence.LampOff, "terminated", "", false},
		{"ringing extension", "ext:102", presence.LampRinging, "early", "recipient", true},
		{"busy extension", "ext:102", presence.LampBusy, "confirmed", "", false},
		{"logged-out agent", "agent:bob", presence.LampOff, "terminated", "", false},
		{"available agent", "agent:bob", presence.LampBusy, "confirmed", "", false},
		{"unavailable agent", "agent:bob", presence.LampRinging, "early", "initiator", false},
		{"queue past its service level", "queue:sales", presence.LampRinging, "early", "initiator", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := dialogInfo(tt.resource, "sip:102@pbx", "pbx", tt.lamp, 7, presence.Caller{Number: "+15551230000", Name: "Ann & Co"})
			d := parseDialogInfo(t, string(body))
			if d.State != "full" || d.Entity != "sip:102@pbx" || *d.Version != 7 {
				t.Errorf("dialog-info state %q entity %q version %d; want full, sip:102@pbx, 7", d.State, d.Entity, *d.Version)
			}
			if len(d.Dialogs) != 1 {
				t.Fatalf("%d dialogs, want 1", len(d.Dialogs))
			}
			dl := d.Dialogs[0]
			if dl.State[0].Value != tt.state || dl.Direction != tt.dir {
				t.Errorf("dialog %s/%q, want %s/%q\n%s", dl.State[0].Value, dl.Direction, tt.state, tt.dir, body)
			}
			if got := dl.CallID != ""; got != tt.pickup {
				t.Errorf("call-id %q; pickup identifiers wanted: %v", dl.CallID, tt.pickup)
			}
			if tt.pickup {
				if ext, ok := pickupTarget(dl.CallID+";to-tag="+dl.RemoteTag+";from-tag="+dl.LocalTag, "pbx"); !ok || ext != "102" {
					t.Errorf("Replaces of the ringing dialog picks up %q, %v; want 102", ext, ok)
				}
				if dl.Local == nil || dl.Local.Identity.URI != "sip:102@pbx" {
					t.Errorf("ringing dialog's local identity missing")
				}
				if r := dl.Remote; r == nil || r.Identity.URI != "sip:+15551230000@pbx" || r.Identity.Display != "Ann & Co" ||
					r.Target == nil || r.Target.URI != "sip:+15551230000@pbx" {
					t.Errorf("ringing dialog's remote party = %+v, want the caller Ann & Co at sip:+15551230000@pbx", r)
				}
			} else if dl.Remote != nil {
				t.Errorf("a %s lamp shows a remote party %+v", tt.name, dl.Remote)
			}
		})
	}
}

// FuzzDialogInfo: whatever a phone subscribed to (the entity is its
// Request-URI, escaped by sipgo's printer but not trusted here) and
// whoever calls (a caller's number and name come from the network), the
// body is well-formed dialog-info.
func FuzzDialogInfo(f *testing.F) {
	f.Add("sip:102@pbx", "102", uint8(1), "+1555", "Ann")
	f.Add(`sip:"<&>'@pbx`, "a&b<c>", uint8(2), "<x>", `"&'`)
	f.Fuzz(func(t *testing.T, entity, id string, lamp uint8, number, name string) {
		if !strings.HasPrefix(entity, "sip:") || !utf8Valid(entity) || !utf8Valid(id) {
			return
		}
		body := dialogInfo("ext:"+id, entity, "pbx", presence.Lamp(lamp%3), 0, presence.Caller{Number: number, Name: name})
		var d rfcDialogInfo
		if err := xml.Unmarshal(body, &d); err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, body)
		}
		if d.Entity != entity && !strings.ContainsAny(entity+id, "\r\t\n") {
			t.Errorf("entity %q came back %q", entity, d.Entity)
		}
	})
}

// utf8Valid: valid UTF-8 without control characters XML cannot carry
// (the body carries those replaced, which the test does not compare).
func utf8Valid(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '\uFFFD' || (r < 0x20 && r != '\t' && r != '\n' && r != '\r') {
			return false
		}
	}
	return true
}

func TestPickupTarget(t *testing.T) {
	tests := []struct {
		in   string
		ext  string
		want bool
	}{
		{"pickup-102@pbx;to-tag=caller102;from-tag=ringing102", "102", true},
		{"pickup-102@PBX;early-only", "102", true},
		{" pickup-7@pbx ", "7", true},
		{"pickup-102@elsewhere;to-tag=a;from-tag=b", "", false},
		{"pickup-@pbx", "", false},
		{"pickup-1a@pbx", "", false},
		{"abc@pbx;to-tag=a;from-tag=b", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		ext, ok := pickupTarget(tt.in, "pbx")
		if ext != tt.ext || ok != tt.want {
			t.Errorf("pickupTarget(%q) = %q, %v; want %q, %v", tt.in, ext, ok, tt.ext, tt.want)
		}
	}
}

// FuzzPickupTarget: a Replaces header from the network never crashes
// the parser, and what it accepts is an extension number.
func FuzzPickupTarget(f *testing.F) {
	f.Add("pickup-102@pbx;to-tag=a;from-tag=b")
	f.Add("pickup-@pbx")
	f.Add(";;;")
	f.Fuzz(func(t *testing.T, v string) {
		ext, ok := pickupTarget(v, "pbx")
		if ok && (ext == "" || strings.Trim(ext, "0123456789") != "") {
			t.Errorf("pickupTarget(%q) accepted %q", v, ext)
		}
	})
}

func blfSite() *site.Site {
	return &site.Site{
		Extensions: []site.Extension{{Number: "1001"}, {Number: "1002"}, {Number: "1003"}},
		Agents:     []site.Agent{{ID: "bob", Extension: "1001"}, {ID: "sue"}},
		Queues:     []site.Queue{{ID: "sales"}},
	}
}

func TestBLFResource(t *testing.T) {
	st := blfSite()
	tests := []struct {
		user, own string
		want      string
		ok        bool
	}{
		{"1002", "1001", "ext:1002", true},
		{"1001", "1001", "ext:1001", true},
		{"9999", "1001", "", false},
		{"agent-sue", "1001", "agent:sue", true},
		{"agent-nobody", "1001", "", false},
		{"*45", "1001", "agent:bob", true},
		{"*45", "1002", "", false}, // 1002 is nobody's extension
		{"queue-sales", "1002", "queue:sales", true},
		{"queue-", "1002", "", false},
		{"", "1002", "", false},
	}
	for _, tt := range tests {
		got, ok := blfResource(st, tt.user, tt.own)
		if got != tt.want || ok != tt.ok {
			t.Errorf("blfResource(%q, own %q) = %q, %v; want %q, %v", tt.user, tt.own, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzBLFResource: a Request-URI user part from the network resolves to
// a resource of the site or to nothing.
func FuzzBLFResource(f *testing.F) {
	f.Add("1002")
	f.Add("agent-")
	f.Add("*45")
	f.Add("queue-sales")
	st := blfSite()
	f.Fuzz(func(t *testing.T, user string) {
		res, ok := blfResource(st, user, "1001")
		if !ok {
			return
		}
		if !slices.Contains([]string{"ext:1001", "ext:1002", "ext:1003", "agent:bob", "agent:sue", "queue:sales"}, res) {
			t.Errorf("blfResource(%q) = %q: not a resource of the site", user, res)
		}
	})
}

// fakeLamps is a LampSource the test sets.
type fakeLamps struct {
	mu    sync.Mutex
	lamps map[string]presence.Lamp
}

func (f *fakeLamps) Lamp(_ context.Context, res string) presence.Lamp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lamps[res]
}

func (f *fakeLamps) set(s *Server, res string, l presence.Lamp) {
	f.mu.Lock()
	if f.lamps == nil {
		f.lamps = map[string]presence.Lamp{}
	}
	f.lamps[res] = l
	f.mu.Unlock()
	s.LampChanged(res)
}

// RingingCaller: every ringing extension is rung by Ann.
func (f *fakeLamps) RingingCaller(string) (presence.Caller, bool) {
	return presence.Caller{Number: "1001", Name: "Ann"}, true
}

func withLamps(l LampSource) envOpt { return func(c *Config) { c.Lamps = l } }

// mustDialog takes the next NOTIFY and checks it is a dialog-info one
// with the lamp's dialog in state, at version.
func (u *mwiUA) mustDialog(what, state, dir string, version uint32) rawMsg {
	u.t.Helper()
	m := u.mustNotify(what)
	if !strings.HasPrefix(m.get("Event"), "dialog") || m.get("Content-Type") != dialogContentType {
		u.t.Fatalf("%s: Event %q Content-Type %q", what, m.get("Event"), m.get("Content-Type"))
	}
	st, d, v := dialogState(u.t, m.body)
	if st != state || d != dir || v != version {
		u.t.Fatalf("%s: dialog %s/%q version %d; want %s/%q version %d\n%s", what, st, d, v, state, dir, version, m.body)
	}
	return m
}

func TestBLFSubscribe(t *testing.T) {
	lamps := &fakeLamps{}
	env := newEnv(t, nil, withLamps(lamps))
	env.setSite(blfSite())
	u := newMWIUA(t, env.addr)
	o := subOpts{mailbox: "1002", user: "1001", pass: "secret1001", event: "dialog", callID: "blf-sub@test",
		fromTag: "key1", cseq: 1, expires: "600"}
	r := u.authSubscribe(o)
	if r.code != 200 {
		t.Fatalf("SUBSCRIBE: %d\n%s", r.code, r.raw)
	}
	if r.get("Expires") != "600" {
		t.Errorf("Expires = %q, want 600", r.get("Expires"))
	}
	toTag := tagParam(r.get("To"))
	m := u.mustDialog("immediate NOTIFY", "terminated", "", 0)
	if !strings.HasPrefix(m.get("Subscription-State"), "active;expires=") {
		t.Errorf("Subscription-State = %q, want active", m.get("Subscription-State"))
	}
	if m.get("Call-ID") != o.callID || tagParam(m.get("From")) != toTag || tagParam(m.get("To")) != "key1" {
		t.Errorf("NOTIFY outside the subscription dialog: Call-ID %q From %q To %q", m.get("Call-ID"), m.get("From"), m.get("To"))
	}

	lamps.set(env.s, "ext:1002", presence.LampRinging)
	m = u.mustDialog("ringing", "early", "recipient", 1)
	if d := parseDialogInfo(t, m.body).Dialogs[0]; d.Remote == nil || d.Remote.Identity.Display != "Ann" ||
		!strings.HasPrefix(d.Remote.Identity.URI, "sip:1001@") {
		t.Errorf("ringing NOTIFY's remote party = %+v, want Ann at sip:1001@", d.Remote)
	}
	lamps.set(env.s, "ext:1002", presence.LampBusy)
	u.mustDialog("busy", "confirmed", "", 2)
	lamps.set(env.s, "ext:1003", presence.LampBusy)
	u.noNotify("another extension's lamp")
	lamps.set(env.s, "ext:1002", presence.LampOff)
	u.mustDialog("idle", "terminated", "", 3)

	// A refresh gets a NOTIFY with the state, the version going on.
	o.toTag, o.cseq, o.nonce = toTag, 3, ""
	if r := u.authSubscribe(o); r.code != 200 {
		t.Fatalf("refresh: %d", r.code)
	}
	u.mustDialog("refresh", "terminated", "", 4)

	// Unsubscribe: a final NOTIFY, then nothing.
	o.cseq, o.expires, o.nonce = 5, "0", ""
	if r := u.authSubscribe(o); r.code != 200 {
		t.Fatalf("unsubscribe: %d", r.code)
	}
	m = u.mustDialog("unsubscribe", "terminated", "", 5)
	if m.get("Subscription-State") != "terminated" {
		t.Errorf("final Subscription-State = %q, want terminated", m.get("Subscription-State"))
	}
	lamps.set(env.s, "ext:1002", presence.LampBusy)
	u.noNotify("after unsubscribe")
}

func TestBLFSubscribeRefused(t *testing.T) {
	env := newEnv(t, nil, withLamps(&fakeLamps{}))
	env.setSite(blfSite())
	tests := []struct {
		name string
		o    subOpts
		want int
		hdr  string
		val  string
	}{
		{"unknown extension", subOpts{mailbox: "9999", user: "1001", pass: "secret1001"}, 404, "", ""},
		{"unknown agent", subOpts{mailbox: "agent-nobody", user: "1001", pass: "secret1001"}, 404, "", ""},
		{"*45 from a phone that is no agent's", subOpts{mailbox: "*45", user: "1002", pass: "secret1002"}, 404, "", ""},
		{"wrong password", subOpts{mailbox: "1002", user: "1001", pass: "nope"}, 403, "", ""},
		{"unknown event package", subOpts{mailbox: "1002", user: "1001", pass: "secret1001", event: "presence"}, 489, "Allow-Events", "message-summary, dialog"},
		{"only another body type", subOpts{mailbox: "1002", user: "1001", pass: "secret1001", accept: "application/pidf+xml"}, 406, "Accept", dialogContentType},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newMWIUA(t, env.addr)
			if tt.o.event == "" {
				tt.o.event = "dialog"
			}
			tt.o.callID, tt.o.fromTag, tt.o.cseq, tt.o.expires = fmt.Sprintf("blfrefused%d", i), "f"+fmt.Sprint(i), 1, "600"
			r := u.authSubscribe(tt.o)
			if r.code != tt.want {
				t.Fatalf("got %d, want %d\n%s", r.code, tt.want, r.raw)
			}
			if tt.hdr != "" && r.get(tt.hdr) != tt.val {
				t.Errorf("%s = %q, want %q", tt.hdr, r.get(tt.hdr), tt.val)
			}
			u.noNotify("a refused SUBSCRIBE")
		})
	}
}

// A phone that answers a NOTIFY with 481 has forgotten the subscription:
// the box drops it and sends it nothing more.
func TestBLFDroppedOn481(t *testing.T) {
	lamps := &fakeLamps{}
	env := newEnv(t, nil, withLamps(lamps))
	env.setSite(blfSite())
	u := newMWIUA(t, env.addr)
	o := subOpts{mailbox: "agent-sue", user: "1001", pass: "secret1001", event: "dialog", callID: "blf-481@test",
		fromTag: "key2", cseq: 1, expires: "600"}
	if r := u.authSubscribe(o); r.code != 200 {
		t.Fatalf("SUBSCRIBE: %d", r.code)
	}
	u.mustDialog("immediate NOTIFY", "terminated", "", 0)
	lamps.set(env.s, "agent:sue", presence.LampBusy)
	// Answer the next NOTIFY 481 by hand.
	deadline := time.Now().Add(3 * time.Second)
	answered := false
	for !answered && time.Now().Before(deadline) {
		m, ok := u.read(time.Until(deadline))
		if !ok || m.method != "NOTIFY" {
			continue
		}
		var b strings.Builder
		b.WriteString("SIP/2.0 481 Subscription Does Not Exist\r\n")
		for _, v := range m.hdrs["via"] {
			fmt.Fprintf(&b, "Via: %s\r\n", v)
		}
		fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
			m.get("From"), m.get("To"), m.get("Call-ID"), m.get("CSeq"))
		u.send(b.String())
		answered = true
	}
	if !answered {
		t.Fatal("no NOTIFY for the change")
	}
	waitFor(t, 3*time.Second, "subscription dropped", func() bool {
		env.s.subs.mu.Lock()
		defer env.s.subs.mu.Unlock()
		return len(env.s.subs.subs) == 0
	})
	lamps.set(env.s, "agent:sue", presence.LampOff)
	u.noNotify("after the 481")
}

// TestDialogSubscriptionExpiry checks that a BLF subscription nobody
// refreshed is forgotten once its Expires has passed, and gets no more
// NOTIFYs.
func TestDialogSubscriptionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newNotifier(nil, mwiPackage, dialogPackage)
		m.subs["k"] = &subscription{pkg: dialogPackage, key: "k", resource: "ext:102", owner: "101",
			expires: time.Now().Add(600 * time.Second)}
		m.subs["v"] = &subscription{pkg: mwiPackage, key: "v", resource: "ext:102", owner: "101",
			expires: time.Now().Add(900 * time.Second)}
		live := func(pkg *eventPackage) int {
			m.mu.Lock()
			defer m.mu.Unlock()
			return len(m.liveSubsLocked(pkg, "ext:102", time.Now()))
		}
		if n := live(dialogPackage); n != 1 {
			t.Fatalf("fresh: %d live dialog subscriptions, want 1 (and not the message-summary one)", n)
		}
		time.Sleep(599 * time.Second)
		if n := live(dialogPackage); n != 1 {
			t.Fatalf("after 599s: %d live, want 1", n)
		}
		time.Sleep(time.Second)
		if n := live(dialogPackage); n != 0 {
			t.Errorf("after 600s: %d live, want the subscription gone", n)
		}
		if n := live(mwiPackage); n != 1 {
			t.Errorf("the message-summary subscription (900s) went too")
		}
	})
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		accept []string // Accept headers; none: the package's default
		want   bool
	}{
		{nil, true},
		{[]string{"application/dialog-info+xml"}, true},
		{[]string{"application/pidf+xml, application/dialog-info+xml;q=0.5"}, true},
		{[]string{"application/pidf+xml", "Application/Dialog-Info+XML"}, true},
		{[]string{"application/*"}, true},
		{[]string{"*/*"}, true},
		{[]string{"application/pidf+xml"}, false},
		{[]string{"text/*"}, false},
	}
	for _, tt := range tests {
		if got := accepts(acceptRequest(tt.accept), dialogContentType); got != tt.want {
			t.Errorf("Accept %q: %v, want %v", tt.accept, got, tt.want)
		}
	}
}

func acceptRequest(accept []string) *sipgosip.Request {
	req := sipgosip.NewRequest(sipgosip.SUBSCRIBE, sipgosip.Uri{Scheme: "sip", User: "102", Host: "pbx"})
	for _, a := range accept {
		req.AppendHeader(sipgosip.NewHeader("Accept", a))
	}
	return req
}

// FuzzAccepts: an Accept header from the network never crashes the
// check, and naming the type itself is always accepted.
func FuzzAccepts(f *testing.F) {
	f.Add("application/dialog-info+xml")
	f.Add(";;,,/*")
	f.Fuzz(func(t *testing.T, v string) {
		accepts(acceptRequest([]string{v}), dialogContentType)
		if !accepts(acceptRequest([]string{v + "," + dialogContentType}), dialogContentType) {
			t.Errorf("Accept %q plus the type itself refused", v)
		}
	})
}
