package main

// Attended transfer end to end. baresip 1.x has no attended transfer, so
// the transferrer here is a small phone written on sipgo (the SIP stack
// the box uses, acting as an ordinary UA): it registers with digest,
// answers Alice's call, calls Carol itself (the consult call), then sends
// REFER in Alice's call with Refer-To ...?Replaces=<the consult dialog>.
// Alice and Carol are baresip; their audio after the transfer is checked
// as in the blind tests.

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// goPhone is a minimal SIP phone: it answers every call by itself (with
// an SDP whose RTP it ignores), places calls, and keeps the NOTIFYs it
// gets.
type goPhone struct {
	t          *testing.T
	user, pass string
	boxHost    string
	boxPort    int
	port       int
	cli        *sipgo.Client
	dsrv       *sipgo.DialogServerCache
	dcli       *sipgo.DialogClientCache
	rtp        net.PacketConn
	incoming   chan *sipgo.DialogServerSession

	mu       sync.Mutex
	notifies []string // "Subscription-State | sipfrag status line"
}

func startGoPhone(t *testing.T, user, pass, box string) *goPhone {
	t.Helper()
	host, portS, _ := strings.Cut(box, ":")
	var boxPort int
	fmt.Sscan(portS, &boxPort)
	p := &goPhone{t: t, user: user, pass: pass, boxHost: host, boxPort: boxPort, port: freePort(t),
		incoming: make(chan *sipgo.DialogServerSession, 4)}
	var err error
	p.rtp, err = net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the phone's microphone is off; what the box sends is dropped
		buf := make([]byte, 1500)
		for {
			if _, _, err := p.rtp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("gophone-" + user))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	p.cli, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(fmt.Sprintf("127.0.0.1:%d", p.port)))
	if err != nil {
		t.Fatal(err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: p.port}}
	p.dsrv = sipgo.NewDialogServerCache(p.cli, contact)
	p.dcli = sipgo.NewDialogClientCache(p.cli, contact)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		dlg, err := p.dsrv.ReadInvite(req, tx)
		if err != nil {
			t.Errorf("gophone %s: read invite: %v", user, err)
			return
		}
		if err := dlg.RespondSDP(p.sdp()); err != nil {
			t.Errorf("gophone %s: answer: %v", user, err)
			return
		}
		p.incoming <- dlg
		<-dlg.Context().Done()
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { p.dsrv.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dsrv.ReadBye(req, tx); err == nil {
			return
		}
		if err := p.dcli.ReadBye(req, tx); err != nil {
			tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
		}
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		state := ""
		if h := req.GetHeader("Subscription-State"); h != nil {
			state = h.Value()
		}
		line, _, _ := strings.Cut(string(req.Body()), "\r\n")
		p.mu.Lock()
		p.notifies = append(p.notifies, state+" | "+line)
		p.mu.Unlock()
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	go srv.ListenAndServe(context.WithValue(ctx, sipgo.ListenReadyCtxKey, sipgo.ListenReadyCtxValue(ready)), "udp", fmt.Sprintf("127.0.0.1:%d", p.port))
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("gophone did not listen")
	}
	// sipgo says ready before ServeUDP puts the socket in its pool; a
	// REGISTER sent in between binds the same port again and fails.
	listening := fmt.Sprintf("127.0.0.1:%d", p.port)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if _, err := ua.TransportLayer().GetConnection("udp", listening); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("gophone's socket never reached sipgo's pool")
		}
	}
	t.Cleanup(func() {
		cancel()
		ua.Close()
		p.rtp.Close()
	})
	p.register()
	return p
}

func (p *goPhone) sdp() []byte {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n", port))
}

func (p *goPhone) uri(user string) sip.Uri {
	return sip.Uri{Scheme: "sip", User: user, Host: p.boxHost, Port: p.boxPort}
}

func (p *goPhone) register() {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: p.boxHost, Port: p.boxPort})
	from := sip.FromHeader{Address: p.uri(p.user), Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(&from)
	req.AppendHeader(&sip.ToHeader{Address: p.uri(p.user)})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.user, Host: "127.0.0.1", Port: p.port}})
	req.AppendHeader(sip.NewHeader("Expires", "300"))
	res, err := p.cli.Do(ctx, req)
	if err == nil && (res.StatusCode == 401 || res.StatusCode == 407) {
		res, err = p.cli.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: p.user, Password: p.pass})
	}
	if err != nil || res.StatusCode != 200 {
		p.t.Fatalf("gophone %s: register: %v %v", p.user, res, err)
	}
}

func (p *goPhone) notified() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.notifies...)
}

func TestTransferAttendedREFERWithReplaces(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: transferSite(t, freePort(t))})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), aliceHz)
	carol := startBaresip(t, "103", "carol-secret-103", box, mediaPorts(t, 100), carolHz)
	for _, p := range []*baresip{alice, carol} {
		if !p.waitRegistered(10 * time.Second) {
			t.Fatalf("baresip %s did not register", p.user)
		}
	}
	bob := startGoPhone(t, "102", "bob-secret-102", box)

	// Alice calls Bob; Bob answers.
	alice.command("dial", "sip:102@"+box)
	var first *sipgo.DialogServerSession
	select {
	case first = <-bob.incoming:
	case <-time.After(10 * time.Second):
		t.Fatalf("Bob never got Alice's call\n%s", a.log())
	}
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Alice's call not established\n%s", a.log())
	}
	time.Sleep(time.Second)

	// Bob consults Carol on a second call of his own.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	consult, err := bob.dcli.Invite(ctx, bob.uri("103"), bob.sdp())
	if err != nil {
		t.Fatal(err)
	}
	if err := consult.WaitAnswer(ctx, sipgo.AnswerOptions{Username: "102", Password: "bob-secret-102"}); err != nil {
		t.Fatalf("consult call: %v\n%s", err, a.log())
	}
	if err := consult.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := carol.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("Carol's consult call not established\n%s", a.log())
	}
	time.Sleep(time.Second)

	// Bob transfers: REFER in Alice's call naming the consult dialog.
	fromTag, _ := consult.InviteRequest.From().Params.Get("tag")
	toTag, _ := consult.InviteResponse.To().Params.Get("tag")
	repl := url.QueryEscape(fmt.Sprintf("%s;to-tag=%s;from-tag=%s", consult.InviteRequest.CallID().Value(), toTag, fromTag))
	refer := sip.NewRequest(sip.REFER, first.InviteRequest.Contact().Address)
	refer.AppendHeader(&sip.CSeqHeader{SeqNo: 7001, MethodName: sip.REFER})
	refer.AppendHeader(sip.NewHeader("Refer-To", fmt.Sprintf("<sip:103@%s?Replaces=%s>", box, repl)))
	refer.AppendHeader(sip.NewHeader("Referred-By", fmt.Sprintf("<sip:102@%s>", box)))
	refer.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "102", Host: "127.0.0.1", Port: bob.port}})
	res, err := first.Do(ctx, refer)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("REFER answered %v, %v; want 202\n%s", res, err, a.log())
	}

	// Bob's phone is told how it went, and both his calls end.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n := bob.notified(); len(n) > 0 && strings.HasPrefix(n[len(n)-1], "terminated") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	n := bob.notified()
	if len(n) != 2 || !strings.HasPrefix(n[0], "active") || !strings.HasSuffix(n[0], "SIP/2.0 100 Trying") ||
		!strings.HasPrefix(n[1], "terminated") || !strings.HasSuffix(n[1], "SIP/2.0 200 OK") {
		t.Fatalf("NOTIFYs = %q, want 100 Trying (active) then 200 OK (terminated)\n%s", n, a.log())
	}
	select {
	case <-first.Context().Done():
	case <-time.After(5 * time.Second):
		t.Error("Bob's leg of Alice's call was not ended")
	}
	select {
	case <-consult.Context().Done():
	case <-time.After(5 * time.Second):
		t.Error("Bob's consult call was not ended")
	}
	if alice.countEvents("CALL_CLOSED") > 0 || carol.countEvents("CALL_CLOSED") > 0 {
		t.Fatalf("the transfer ended Alice's or Carol's call\n%s", a.log())
	}

	time.Sleep(4 * time.Second) // Alice and Carol talk
	alice.command("hangup", "")
	if _, ok := carol.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("Carol's call did not end with Alice's")
	}
	time.Sleep(500 * time.Millisecond)
	hears(t, alice, carolHz, "Carol")
	hears(t, carol, aliceHz, "Alice")

	// The two records name each other.
	rows := waitCDRs[transferCDR](a, a.token("admin"), 2)
	var main, cons *transferCDR
	for i := range rows {
		if rows[i].CallID == consult.InviteRequest.CallID().Value() {
			cons = &rows[i]
		} else {
			main = &rows[i]
		}
	}
	if main == nil || cons == nil || len(main.Transfers) != 1 || len(cons.Transfers) != 1 {
		t.Fatalf("CDRs = %+v", rows)
	}
	if x := main.Transfers[0]; x.Kind != "attended" || x.By != "102" || x.Result != "completed" || x.Leg == "" {
		t.Errorf("transferred call's transfer = %+v", x)
	}
	if main.Transfers[0].Call != cons.CallID || cons.Transfers[0].Call != main.CallID {
		t.Errorf("records not linked: %+v / %+v", main.Transfers[0], cons.Transfers[0])
	}
}
