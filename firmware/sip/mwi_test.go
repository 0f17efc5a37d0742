package sip

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"ringbox/firmware/sip/digest"
)

// mwiUA is a raw UDP phone that answers the NOTIFYs it gets and keeps
// them apart from responses.
type mwiUA struct {
	*rawUA
	notifies []rawMsg // received, not yet taken
	seen     map[string]bool
}

type rawMsg struct {
	rawRes
	method string // request method; "" for a response
	uri    string // Request-URI
	body   string
}

func newMWIUA(t *testing.T, server string) *mwiUA {
	return &mwiUA{rawUA: newRawUA(t, server), seen: map[string]bool{}}
}

// read returns the next message, or false after d.
func (u *mwiUA) read(d time.Duration) (rawMsg, bool) {
	buf := make([]byte, 65535)
	u.conn.SetReadDeadline(time.Now().Add(d))
	n, _, err := u.conn.ReadFromUDP(buf)
	if err != nil {
		return rawMsg{}, false
	}
	s := string(buf[:n])
	m := rawMsg{rawRes: parseRaw(s)}
	_, m.body, _ = strings.Cut(s, "\r\n\r\n")
	if !strings.HasPrefix(s, "SIP/2.0") {
		f := strings.Fields(s[:strings.Index(s, "\r\n")])
		m.method, m.uri, m.code = f[0], f[1], 0
	}
	return m, true
}

// handle answers a NOTIFY with 200 and queues it unless it is a
// retransmission. It reports whether m was a request.
func (u *mwiUA) handle(m rawMsg) bool {
	if m.method == "" {
		return false
	}
	var b strings.Builder
	b.WriteString("SIP/2.0 200 OK\r\n")
	for _, v := range m.hdrs["via"] {
		fmt.Fprintf(&b, "Via: %s\r\n", v)
	}
	to := m.get("To")
	if !strings.Contains(to, "tag=") {
		to += ";tag=ua" + strconv.Itoa(u.port())
	}
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %s\r\nContent-Length: 0\r\n\r\n",
		m.get("From"), to, m.get("Call-ID"), m.get("CSeq"))
	u.send(b.String())
	if id := m.get("Call-ID") + " " + m.get("CSeq"); m.method == "NOTIFY" && !u.seen[id] {
		u.seen[id] = true
		u.notifies = append(u.notifies, m)
	}
	return true
}

// exchange sends msg and returns the final response, answering requests
// that arrive meanwhile.
func (u *mwiUA) exchange(msg string) rawRes {
	u.t.Helper()
	u.send(strings.ReplaceAll(strings.TrimLeft(msg, "\n"), "\n", "\r\n"))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		m, ok := u.read(time.Until(deadline))
		if !ok {
			break
		}
		if u.handle(m) || m.code < 200 {
			continue
		}
		return m.rawRes
	}
	u.t.Fatalf("no response to:\n%s", msg)
	return rawRes{}
}

// notify returns the next NOTIFY, waiting up to d.
func (u *mwiUA) notify(d time.Duration) (rawMsg, bool) {
	deadline := time.Now().Add(d)
	for len(u.notifies) == 0 && time.Now().Before(deadline) {
		if m, ok := u.read(time.Until(deadline)); ok {
			u.handle(m)
		}
	}
	if len(u.notifies) == 0 {
		return rawMsg{}, false
	}
	m := u.notifies[0]
	u.notifies = u.notifies[1:]
	return m, true
}

func (u *mwiUA) mustNotify(what string) rawMsg {
	u.t.Helper()
	m, ok := u.notify(3 * time.Second)
	if !ok {
		u.t.Fatalf("no NOTIFY: %s", what)
	}
	return m
}

// noNotify fails if a NOTIFY arrives within a short while.
func (u *mwiUA) noNotify(what string) {
	u.t.Helper()
	if m, ok := u.notify(400 * time.Millisecond); ok {
		u.t.Fatalf("unexpected NOTIFY (%s):\n%s", what, m.raw)
	}
}

type subOpts struct {
	mailbox, user, pass string
	event               string // "" : message-summary
	expires             string // Expires value, "" for none
	callID              string
	fromTag, toTag      string
	cseq                int
	nonce               string
	contact             string // Contact URI; "" : the UA's own address
	accept              string // Accept; "" : the event package's type
}

func (u *mwiUA) subscribe(o subOpts) rawRes {
	if o.user == "" {
		o.user = o.mailbox
	}
	if o.event == "" {
		o.event = "message-summary"
	}
	uri := fmt.Sprintf("sip:%s@%s", o.mailbox, u.server)
	var b strings.Builder
	fmt.Fprintf(&b, "SUBSCRIBE %s SIP/2.0\n", uri)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP 127.0.0.1:%d;rport;branch=z9hG4bK%d%d\n", u.port(), o.cseq, time.Now().UnixNano())
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\n", o.user, u.server, o.fromTag)
	to := fmt.Sprintf("<sip:%s@%s>", o.mailbox, u.server)
	if o.toTag != "" {
		to += ";tag=" + o.toTag
	}
	fmt.Fprintf(&b, "To: %s\n", to)
	fmt.Fprintf(&b, "Call-ID: %s\nCSeq: %d SUBSCRIBE\nMax-Forwards: 70\n", o.callID, o.cseq)
	if o.contact == "" {
		o.contact = fmt.Sprintf("sip:%s@127.0.0.1:%d", o.user, u.port())
	}
	if o.accept == "" {
		o.accept = "application/simple-message-summary"
		if o.event == "dialog" {
			o.accept = "application/dialog-info+xml"
		}
	}
	fmt.Fprintf(&b, "Contact: <%s>\nEvent: %s\nAccept: %s\n", o.contact, o.event, o.accept)
	if o.expires != "" {
		fmt.Fprintf(&b, "Expires: %s\n", o.expires)
	}
	if o.nonce != "" {
		ha1 := digest.HA1(digest.MD5, o.user, testRealm, o.pass)
		resp := digest.Response(digest.MD5, ha1, "SUBSCRIBE", uri, o.nonce, "00000001", "c0ffee", "auth")
		fmt.Fprintf(&b, "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\n",
			o.user, testRealm, o.nonce, uri, resp)
	}
	b.WriteString("Content-Length: 0\n\n")
	return u.exchange(b.String())
}

// authSubscribe answers the challenge; o.cseq is used for the first try
// and o.cseq+1 for the authenticated one.
func (u *mwiUA) authSubscribe(o subOpts) rawRes {
	u.t.Helper()
	r := u.subscribe(o)
	if r.code != 401 {
		return r
	}
	m := nonceRe.FindStringSubmatch(r.get("WWW-Authenticate"))
	if m == nil {
		u.t.Fatalf("no nonce in %q", r.get("WWW-Authenticate"))
	}
	o.nonce = m[1]
	o.cseq++
	return u.subscribe(o)
}

func tagParam(h string) string {
	_, t, ok := strings.Cut(h, "tag=")
	if !ok {
		return ""
	}
	t, _, _ = strings.Cut(t, ";")
	return strings.TrimSpace(t)
}

func wantSummary(ext string, n, o int) string {
	w := "no"
	if n > 0 {
		w = "yes"
	}
	return fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: sip:%s@127.0.0.1\r\nVoice-Message: %d/%d (0/0)\r\n", w, ext, n, o)
}

// checkNotify checks what every message-summary NOTIFY must carry.
func checkNotify(t *testing.T, m rawMsg, ext string, n, o int) {
	t.Helper()
	if m.get("Event") != "message-summary" {
		t.Errorf("Event = %q, want message-summary", m.get("Event"))
	}
	if m.get("Content-Type") != "application/simple-message-summary" {
		t.Errorf("Content-Type = %q, want application/simple-message-summary", m.get("Content-Type"))
	}
	if want := wantSummary(ext, n, o); m.body != want {
		t.Errorf("body = %q, want %q", m.body, want)
	}
}

// counter is a Config.Voicemail whose answers the test sets.
type counter struct {
	mu     sync.Mutex
	counts map[string][2]int
}

func (c *counter) set(ext string, n, o int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string][2]int{}
	}
	c.counts[ext] = [2]int{n, o}
}

func (c *counter) get(ext string) (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.counts[ext]
	return v[0], v[1]
}

func TestMWIUnsolicited(t *testing.T) {
	env := newEnv(t, nil)
	phone := newMWIUA(t, env.addr)
	other := newMWIUA(t, env.addr)
	// The phone is behind NAT: its Contact names an address nobody can
	// reach, so the NOTIFY only arrives if it goes to the REGISTER's source.
	if r := phone.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1,
		contacts: []string{"<sip:1001@10.255.0.7:5062>"}, expires: "300"}); r.code != 200 {
		t.Fatalf("REGISTER 1001: %d", r.code)
	}
	if r := other.authRegister(regOpts{ext: "1002", pass: "secret1002", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1002@127.0.0.1:%d>", other.port())}}); r.code != 200 {
		t.Fatalf("REGISTER 1002: %d", r.code)
	}
	phone.noNotify("no Config.Voicemail: nothing on REGISTER")

	env.s.Notify("1001", 2, 1)
	m := phone.mustNotify("after Notify(1001, 2, 1)")
	if m.uri != "sip:1001@10.255.0.7:5062" {
		t.Errorf("Request-URI = %q, want the registered contact", m.uri)
	}
	checkNotify(t, m, "1001", 2, 1)
	if !strings.HasPrefix(m.get("Subscription-State"), "terminated") {
		t.Errorf("unsolicited Subscription-State = %q, want terminated", m.get("Subscription-State"))
	}
	other.noNotify("1002 must not see 1001's mailbox")

	env.s.Notify("1001", 0, 3)
	checkNotify(t, phone.mustNotify("after Notify(1001, 0, 3)"), "1001", 0, 3)
}

func TestMWISubscribeRefused(t *testing.T) {
	env := newEnv(t, nil)
	tests := []struct {
		name string
		o    subOpts
		want int
		hdr  string // header the answer must carry, and its value
		val  string
	}{
		{"other event package", subOpts{mailbox: "1001", pass: "secret1001", event: "presence"}, 489, "Allow-Events", "message-summary"},
		{"no auth, wrong password", subOpts{mailbox: "1001", pass: "nope"}, 403, "", ""},
		{"another's mailbox", subOpts{mailbox: "1002", user: "1001", pass: "secret1001"}, 403, "", ""},
		{"too brief", subOpts{mailbox: "1001", pass: "secret1001", expires: "30"}, 423, "Min-Expires", "60"},
		{"refresh of no subscription", subOpts{mailbox: "1001", pass: "secret1001", toTag: "nosuch", expires: "600"}, 481, "", ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newMWIUA(t, env.addr)
			tt.o.callID, tt.o.fromTag, tt.o.cseq = fmt.Sprintf("refused%d", i), "f"+strconv.Itoa(i), 1
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

func TestMWISubscribe(t *testing.T) {
	vm := &counter{}
	vm.set("1001", 3, 0)
	env := newEnv(t, nil, func(c *Config) { c.Voicemail = vm.get })
	u := newMWIUA(t, env.addr)
	// Registered too: the phone must hear each change once, in its
	// subscription, not a second time as unsolicited.
	if r := u.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1001@127.0.0.1:%d>", u.port())}}); r.code != 200 {
		t.Fatalf("REGISTER: %d", r.code)
	}
	checkNotify(t, u.mustNotify("a new registration"), "1001", 3, 0)

	// The subscription's Contact is a NAT'd address nobody can reach: its
	// NOTIFYs must go where the SUBSCRIBE came from.
	o := subOpts{mailbox: "1001", pass: "secret1001", callID: "mwi-sub@test", fromTag: "phone1", cseq: 1, expires: "600",
		contact: "sip:1001@10.255.0.8:5062"}
	r := u.authSubscribe(o)
	if r.code != 200 {
		t.Fatalf("SUBSCRIBE: %d, want 200\n%s", r.code, r.raw)
	}
	ourTag := tagParam(r.get("To"))
	if ourTag == "" || r.get("Expires") != "600" || r.get("Contact") == "" {
		t.Fatalf("200 has To %q, Expires %q, Contact %q; want a tag, 600 and a Contact", r.get("To"), r.get("Expires"), r.get("Contact"))
	}
	inDialog := func(m rawMsg, what string) int {
		t.Helper()
		if m.get("Call-ID") != o.callID || tagParam(m.get("To")) != o.fromTag || tagParam(m.get("From")) != ourTag {
			t.Fatalf("%s: NOTIFY Call-ID %q To %q From %q is not in the subscription dialog", what, m.get("Call-ID"), m.get("To"), m.get("From"))
		}
		seq, _ := strconv.Atoi(strings.Fields(m.get("CSeq"))[0])
		return seq
	}
	activeFor := func(m rawMsg, lo, hi int) {
		t.Helper()
		st := m.get("Subscription-State")
		v, ok := strings.CutPrefix(st, "active;expires=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < lo || n > hi {
			t.Errorf("Subscription-State = %q, want active;expires in [%d,%d]", st, lo, hi)
		}
	}

	m := u.mustNotify("right after the 200")
	seq1 := inDialog(m, "first")
	if m.uri != o.contact {
		t.Errorf("NOTIFY Request-URI = %q, want the subscription's Contact %q", m.uri, o.contact)
	}
	activeFor(m, 595, 600)
	checkNotify(t, m, "1001", 3, 0)

	vm.set("1001", 4, 0)
	env.s.Notify("1001", 4, 0)
	m = u.mustNotify("after Notify")
	seq2 := inDialog(m, "after Notify")
	checkNotify(t, m, "1001", 4, 0)
	if seq2 <= seq1 {
		t.Errorf("CSeq went %d -> %d, want increasing", seq1, seq2)
	}
	u.noNotify("one NOTIFY per change for a subscribed, registered phone")

	o.toTag, o.cseq, o.expires = ourTag, 10, "120"
	if r := u.authSubscribe(o); r.code != 200 || r.get("Expires") != "120" {
		t.Fatalf("refresh: %d Expires %q, want 200 and 120", r.code, r.get("Expires"))
	}
	m = u.mustNotify("after the refresh")
	if seq := inDialog(m, "refresh"); seq <= seq2 {
		t.Errorf("CSeq %d after %d, want increasing", seq, seq2)
	}
	activeFor(m, 115, 120)

	o.cseq, o.expires = 20, "0"
	if r := u.authSubscribe(o); r.code != 200 || r.get("Expires") != "0" {
		t.Fatalf("unsubscribe: %d Expires %q, want 200 and 0", r.code, r.get("Expires"))
	}
	m = u.mustNotify("after Expires: 0")
	inDialog(m, "final")
	if st := m.get("Subscription-State"); !strings.HasPrefix(st, "terminated") {
		t.Errorf("final Subscription-State = %q, want terminated", st)
	}
	checkNotify(t, m, "1001", 4, 0)

	// Without the subscription the registered phone is told unsolicited.
	env.s.Notify("1001", 0, 4)
	m = u.mustNotify("unsolicited after unsubscribing")
	if m.get("Call-ID") == o.callID {
		t.Errorf("NOTIFY still in the ended subscription dialog")
	}
	checkNotify(t, m, "1001", 0, 4)

	o.cseq, o.expires = 30, "600"
	if r := u.authSubscribe(o); r.code != 481 {
		t.Errorf("refresh of the ended subscription: %d, want 481", r.code)
	}
}

func TestMWIOnRegister(t *testing.T) {
	vm := &counter{}
	vm.set("1003", 1, 5)
	env := newEnv(t, nil, func(c *Config) { c.Voicemail = vm.get })
	u := newMWIUA(t, env.addr)
	reg := func(callID string, cseq int) {
		t.Helper()
		if r := u.authRegister(regOpts{ext: "1003", pass: "secret1003", cseq: cseq, callID: callID,
			contacts: []string{fmt.Sprintf("<sip:1003@127.0.0.1:%d>", u.port())}, expires: "300"}); r.code != 200 {
			t.Fatalf("REGISTER: %d", r.code)
		}
	}
	reg("boot1", 1)
	checkNotify(t, u.mustNotify("after registering"), "1003", 1, 5)
	reg("boot1", 10)
	u.noNotify("a refresh with the same Call-ID")
	vm.set("1003", 0, 6)
	reg("boot2", 1) // the phone rebooted
	checkNotify(t, u.mustNotify("after re-registering with a new Call-ID"), "1003", 0, 6)
}

func TestMessageSummary(t *testing.T) {
	tests := []struct {
		c    mwiCounts
		want string
	}{
		{mwiCounts{0, 0}, "Messages-Waiting: no\r\nMessage-Account: sip:101@pbx\r\nVoice-Message: 0/0 (0/0)\r\n"},
		{mwiCounts{2, 1}, "Messages-Waiting: yes\r\nMessage-Account: sip:101@pbx\r\nVoice-Message: 2/1 (0/0)\r\n"},
		{mwiCounts{0, 7}, "Messages-Waiting: no\r\nMessage-Account: sip:101@pbx\r\nVoice-Message: 0/7 (0/0)\r\n"},
	}
	for _, tt := range tests {
		if got := string(messageSummary("sip:101@pbx", tt.c)); got != tt.want {
			t.Errorf("messageSummary(%v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}

// TestMWISubscriptionExpiry checks that a subscription nobody refreshed
// stops counting once its Expires has passed, so the phone falls back to
// unsolicited NOTIFYs.
func TestMWISubscriptionExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newNotifier(nil, mwiPackage)
		m.subs["k"] = &subscription{pkg: mwiPackage, key: "k", resource: "101", source: "127.0.0.1:5070", transport: "UDP",
			expires: time.Now().Add(600 * time.Second)}
		b := Registration{Extension: "101", Contact: "sip:101@127.0.0.1:5070", Source: "127.0.0.1:5070", Transport: "UDP"}
		m.mu.Lock()
		live := m.liveSubsLocked(mwiPackage, "101", time.Now())
		m.mu.Unlock()
		if len(live) != 1 || !covered(b, live) {
			t.Fatalf("fresh subscription: %d live, covered %v; want 1, true", len(live), covered(b, live))
		}
		time.Sleep(600 * time.Second)
		m.mu.Lock()
		live = m.liveSubsLocked(mwiPackage, "101", time.Now())
		n := len(m.subs)
		m.mu.Unlock()
		if len(live) != 0 || n != 0 || covered(b, live) {
			t.Errorf("after 600s: %d live, %d kept; want the subscription gone", len(live), n)
		}
	})
}

// Unsolicited NOTIFYs go only to extensions with a mailbox; a phone that
// subscribes still gets what it asked for.
func TestMWIOnlyWithMailbox(t *testing.T) {
	vm := &counter{}
	vm.set("1001", 1, 0)
	vm.set("1002", 1, 0)
	env := newEnv(t, nil, func(c *Config) {
		c.Voicemail = vm.get
		lookup := c.Lookup
		c.Lookup = func(ext string) (Account, bool) {
			a, ok := lookup(ext)
			a.Mailbox = ext == "1001"
			return a, ok
		}
	})
	boxless := newMWIUA(t, env.addr)
	if r := boxless.authRegister(regOpts{ext: "1002", pass: "secret1002", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1002@127.0.0.1:%d>", boxless.port())}, expires: "300"}); r.code != 200 {
		t.Fatalf("REGISTER 1002: %d", r.code)
	}
	boxless.noNotify("1002 has no mailbox: nothing on REGISTER")
	env.s.Notify("1002", 2, 0)
	boxless.noNotify("1002 has no mailbox: nothing on Notify")

	owner := newMWIUA(t, env.addr)
	if r := owner.authRegister(regOpts{ext: "1001", pass: "secret1001", cseq: 1,
		contacts: []string{fmt.Sprintf("<sip:1001@127.0.0.1:%d>", owner.port())}, expires: "300"}); r.code != 200 {
		t.Fatalf("REGISTER 1001: %d", r.code)
	}
	checkNotify(t, owner.mustNotify("1001 has a mailbox"), "1001", 1, 0)

	// Asking is different from being told: a subscription is answered.
	if r := boxless.authSubscribe(subOpts{mailbox: "1002", pass: "secret1002", callID: "sub-boxless", fromTag: "fb", cseq: 1, expires: "600"}); r.code != 200 {
		t.Fatalf("SUBSCRIBE 1002: %d", r.code)
	}
	checkNotify(t, boxless.mustNotify("1002 subscribed"), "1002", 1, 0)
}
