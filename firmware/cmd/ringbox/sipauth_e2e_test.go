package main

// Phones on the box's defaults: SIPp and baresip as Debian ships them
// register and call with no flag and no -auth_uri; the digest algorithms
// follow --sip-digest or the site's system.sip_digest, live; failed logins
// are logged with their reason and nothing of the credentials.

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"hash"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestDefaultsSIPpAndBaresipRegisterAndCall(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)

	// baresip registers and takes calls.
	bob := startBaresip(t, "102", "bob-secret-102", box, mediaPorts(t, 100), 1000)
	if !bob.waitRegistered(10 * time.Second) {
		t.Fatalf("baresip 102 did not register on the defaults\n%s", a.log())
	}
	// SIPp registers, with its default digest uri (sip:BOX:PORT).
	if code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_register_auth.xml"), "-s", "101", "-au", "101", "-ap", "alice-secret-101",
		"-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 0 {
		t.Fatalf("SIPp REGISTER on the defaults: exit %d\n%s\n%s", code, out, a.log())
	}
	// SIPp calls baresip through the box: 407, INVITE with credentials, 200, BYE.
	if code, out := sipp(t, 30*time.Second, box, "-sf", testdata(t, "uac_invite_auth.xml"), "-s", "102", "-set", "caller", "101", "-au", "101", "-ap", "alice-secret-101",
		"-m", "1", "-d", "1000", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t)), "-mi", "127.0.0.1", "-mp", fmt.Sprint(mediaPorts(t, 4))); code != 0 {
		t.Fatalf("SIPp call 101 -> 102 on the defaults: exit %d\n%s\n%s", code, out, a.log())
	}
	if _, ok := bob.waitEvent("CALL_ESTABLISHED", 5*time.Second); !ok {
		t.Fatal("baresip 102 never had the call from SIPp")
	}
	if _, ok := bob.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("baresip 102's call did not end after SIPp's BYE")
	}
	// baresip calls another extension: bob, a second phone on the box.
	alice := startBaresip(t, "101", "alice-secret-101", box, mediaPorts(t, 100), 440)
	if !alice.waitRegistered(10 * time.Second) {
		t.Fatalf("baresip 101 did not register on the defaults\n%s", a.log())
	}
	alice.command("dial", "sip:102@"+box)
	if _, ok := alice.waitEvent("CALL_ESTABLISHED", 10*time.Second); !ok {
		t.Fatalf("baresip call 101 -> 102 not established on the defaults\n%s", a.log())
	}
	alice.command("hangup", "")
	if _, ok := alice.waitEvent("CALL_CLOSED", 10*time.Second); !ok {
		t.Fatal("baresip 101's call did not close")
	}
	rows := a.waitCDR(a.token("admin"), 2)
	for _, r := range rows[:2] {
		if r.Caller != "101" || r.Callee != "102" || r.Answer.IsZero() {
			t.Errorf("CDR = %+v, want an answered call 101 -> 102", r)
		}
	}
	if strings.Contains(a.log(), "sip auth failed") {
		t.Errorf("a phone on the defaults failed to authenticate:\n%s", a.log())
	}
}

// digestUA is a minimal SIP phone over UDP that registers with the digest
// algorithm it is told, computed here from the RFCs rather than with the
// box's own digest package.
type digestUA struct {
	t    *testing.T
	conn *net.UDPConn
	ip   string // the phone's address
	box  string
	seq  int
}

func newDigestUA(t *testing.T, box string) *digestUA { return newDigestUAAt(t, box, "127.0.0.1") }

// newDigestUAAt is a digestUA at ip (another loopback address: another
// source to the box's edge filter).
func newDigestUAAt(t *testing.T, box, ip string) *digestUA {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &digestUA{t: t, conn: c, ip: ip, box: box}
}

var (
	chalAlg   = regexp.MustCompile(`algorithm=([A-Za-z0-9-]+)`)
	chalNonce = regexp.MustCompile(`nonce="([^"]+)"`)
	chalRealm = regexp.MustCompile(`realm="([^"]+)"`)
)

// exchange sends one REGISTER and returns the final status and the
// WWW-Authenticate values.
func (u *digestUA) exchange(user, auth string) (int, []string) {
	u.t.Helper()
	code, chals := u.try(user, auth, 5*time.Second)
	if code == 0 {
		u.t.Fatalf("no answer to REGISTER from %s within 5 s", u.ip)
	}
	return code, chals
}

// try is exchange with 0 for no final answer within wait.
func (u *digestUA) try(user, auth string, wait time.Duration) (int, []string) {
	u.t.Helper()
	u.seq++
	port := u.conn.LocalAddr().(*net.UDPAddr).Port
	msg := fmt.Sprintf("REGISTER sip:%[1]s SIP/2.0\r\nVia: SIP/2.0/UDP %[7]s:%[2]d;rport;branch=z9hG4bK%[3]d%[4]d\r\n"+
		"From: <sip:%[5]s@%[1]s>;tag=ua%[2]d\r\nTo: <sip:%[5]s@%[1]s>\r\nCall-ID: ua%[2]d@test\r\nCSeq: %[3]d REGISTER\r\n"+
		"Contact: <sip:%[5]s@%[7]s:%[2]d>\r\nExpires: 300\r\nMax-Forwards: 70\r\n%[6]sContent-Length: 0\r\n\r\n",
		u.box, port, u.seq, time.Now().UnixNano(), user, auth, u.ip)
	dst, _ := net.ResolveUDPAddr("udp", u.box)
	if _, err := u.conn.WriteToUDP([]byte(msg), dst); err != nil {
		u.t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(wait))
		n, _, err := u.conn.ReadFromUDP(buf)
		if err != nil {
			return 0, nil
		}
		head, _, _ := strings.Cut(string(buf[:n]), "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		var code int
		fmt.Sscanf(lines[0], "SIP/2.0 %d", &code)
		if code < 200 {
			continue
		}
		var chals []string
		for _, l := range lines[1:] {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "WWW-Authenticate") {
				chals = append(chals, strings.TrimSpace(v))
			}
		}
		return code, chals
	}
}

// register answers the challenge for alg and returns the algorithms the
// box offered, in order, the final status (0 when alg was not offered)
// and the response hash sent.
func (u *digestUA) register(user, pass, alg string) (offered []string, code int, response string) {
	u.t.Helper()
	code, chals := u.exchange(user, "")
	if code != 401 {
		u.t.Fatalf("unauthenticated REGISTER: %d, want 401", code)
	}
	var chosen string
	for _, c := range chals {
		m := chalAlg.FindStringSubmatch(c)
		if m == nil {
			u.t.Fatalf("challenge without algorithm: %q", c)
		}
		offered = append(offered, m[1])
		if m[1] == alg && chosen == "" {
			chosen = c
		}
	}
	if chosen == "" {
		return offered, 0, ""
	}
	h := func() hash.Hash { return md5.New() }
	if alg == "SHA-256" {
		h = sha256.New
	}
	hx := func(parts ...string) string {
		x := h()
		x.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(x.Sum(nil))
	}
	realm, nonce := chalRealm.FindStringSubmatch(chosen)[1], chalNonce.FindStringSubmatch(chosen)[1]
	uri := "sip:" + u.box
	response = hx(hx(user, realm, pass), nonce, "00000001", "0a4f113b", "auth", hx("REGISTER", uri))
	auth := fmt.Sprintf("Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=%s, qop=auth, nc=00000001, cnonce=\"0a4f113b\"\r\n",
		user, realm, nonce, uri, response, alg)
	code, _ = u.exchange(user, auth)
	return offered, code, response
}

func TestSIPDigestFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		flag  string
		offer []string
	}{
		{"md5,sha256", []string{"MD5", "SHA-256"}},
		{"sha256", []string{"SHA-256"}},
		{"sha256,md5", []string{"SHA-256", "MD5"}},
	} {
		t.Run(tt.flag, func(t *testing.T) {
			a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false), extra: []string{"--sip-digest", tt.flag}})
			box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
			for _, alg := range []string{"MD5", "SHA-256"} {
				offered, code, _ := newDigestUA(t, box).register("101", "alice-secret-101", alg)
				if strings.Join(offered, ",") != strings.Join(tt.offer, ",") {
					t.Fatalf("--sip-digest %s: challenges %q, want %q", tt.flag, offered, tt.offer)
				}
				want := 200
				if !strings.Contains(tt.flag, strings.ToLower(strings.ReplaceAll(alg, "-", ""))) {
					want = 0 // not offered: a phone that knows only alg cannot answer
				}
				if code != want {
					t.Errorf("--sip-digest %s: REGISTER with %s: %d, want %d\n%s", tt.flag, alg, code, want, a.log())
				}
			}
		})
	}
	// SIPp 3.6 reads only the first challenge and knows only MD5: with MD5
	// first it registers.
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false), extra: []string{"--sip-digest", "md5,sha256"}})
	if code, out := sipp(t, 20*time.Second, fmt.Sprintf("127.0.0.1:%d", a.sipPort), "-sf", testdata(t, "uac_register_auth.xml"), "-s", "101", "-au", "101", "-ap", "alice-secret-101",
		"-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 0 {
		t.Errorf("SIPp REGISTER with --sip-digest md5,sha256: exit %d\n%s", code, out)
	}
	// A mistake in the flag is a usage error naming it.
	_, stderr, code := ringbox(t, "serve", "--data", t.TempDir(), "--sip-digest", "md5,sha1")
	if code != 2 || !strings.Contains(stderr, `--sip-digest "md5,sha1"`) || !strings.Contains(stderr, `"sha1"`) {
		t.Errorf("--sip-digest md5,sha1: exit %d, %q; want 2 naming the flag and the value", code, stderr)
	}
}

// The site's system.sip_digest picks the challenges, applies as soon as
// an import changes it, and --sip-digest overrides it.
func TestSiteSIPDigestLive(t *testing.T) {
	t.Parallel()
	withDigest := func(list string) string {
		p := e2eSite(t, freePort(t), freePort(t), false)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		y := strings.Replace(string(b), `office_number: "+15551230000"}`, `office_number: "+15551230000", sip_digest: `+list+`}`, 1)
		if y == string(b) {
			t.Fatal("site template changed: cannot add sip_digest")
		}
		q := filepath.Join(t.TempDir(), "site.yaml")
		if err := os.WriteFile(q, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
		return q
	}
	a := startServe(t, serveOpt{site: withDigest("[sha256]")})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	offered, code, _ := newDigestUA(t, box).register("101", "alice-secret-101", "SHA-256")
	if strings.Join(offered, ",") != "SHA-256" || code != 200 {
		t.Fatalf("sip_digest [sha256]: challenges %q, SHA-256 REGISTER %d; want SHA-256 alone and 200", offered, code)
	}
	// The installer changes the site while the box runs.
	if _, stderr, code := ringbox(t, "import", withDigest("[md5, sha256]"), "--data", a.data); code != 0 {
		t.Fatalf("import: exit %d\n%s", code, stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		offered, code, _ = newDigestUA(t, box).register("101", "alice-secret-101", "MD5")
		if strings.Join(offered, ",") == "MD5,SHA-256" && code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after importing sip_digest [md5, sha256]: challenges %q, MD5 REGISTER %d\n%s", offered, code, a.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, out := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_register_auth.xml"), "-s", "102", "-au", "102", "-ap", "bob-secret-102",
		"-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 0 {
		t.Errorf("SIPp REGISTER after the change: exit %d\n%s", code, out)
	}

	// The flag wins over the site.
	b := startServe(t, serveOpt{site: withDigest("[sha256]"), extra: []string{"--sip-digest", "md5"}})
	offered, code, _ = newDigestUA(t, fmt.Sprintf("127.0.0.1:%d", b.sipPort)).register("101", "alice-secret-101", "MD5")
	if strings.Join(offered, ",") != "MD5" || code != 200 {
		t.Errorf("--sip-digest md5 over sip_digest [sha256]: challenges %q, MD5 REGISTER %d; want MD5 alone and 200", offered, code)
	}
}

func TestFailedRegistrationLogged(t *testing.T) {
	t.Parallel()
	a := startServe(t, serveOpt{site: e2eSite(t, freePort(t), freePort(t), false)})
	box := fmt.Sprintf("127.0.0.1:%d", a.sipPort)
	_, wrongCode, wrongResp := newDigestUA(t, box).register("101", "not-alices-password", "MD5")
	_, unknownCode, unknownResp := newDigestUA(t, box).register("555", "whatever", "MD5")
	if wrongCode != 403 || unknownCode != 403 {
		t.Errorf("wrong password: %d, unknown extension: %d; want the same 403 for both", wrongCode, unknownCode)
	}
	for _, want := range []string{`reason="wrong password" user=101`, `reason="unknown user" user=555`} {
		if !a.waitLog(want, 3*time.Second) {
			t.Errorf("the log lacks %q\n%s", want, a.log())
		}
	}
	for _, secret := range []string{wrongResp, unknownResp, "not-alices-password", "alice-secret-101"} {
		if strings.Contains(a.log(), secret) {
			t.Errorf("the log contains %q", secret)
		}
	}
	// SIPp with a wrong password: refused, and the reason logged.
	if code, _ := sipp(t, 20*time.Second, box, "-sf", testdata(t, "uac_register_auth.xml"), "-s", "102", "-au", "102", "-ap", "wrong",
		"-m", "1", "-i", "127.0.0.1", "-p", fmt.Sprint(freePort(t))); code != 1 {
		t.Errorf("SIPp with a wrong password: exit %d, want 1", code)
	}
	if !a.waitLog(`reason="wrong password" user=102`, 3*time.Second) {
		t.Errorf("the log lacks SIPp's wrong password\n%s", a.log())
	}
}

func TestServeHelpListsEveryFlag(t *testing.T) {
	t.Parallel()
	stdout, stderr, code := ringbox(t, "serve", "--help")
	if code != 0 {
		t.Fatalf("serve --help: exit %d\n%s", code, stderr)
	}
	var f serveFlags
	fs, _ := serveFlagSet(&f)
	n := 0
	fs.VisitAll(func(fl *flag.Flag) {
		n++
		if !strings.Contains(stdout, "--"+fl.Name+" ") && !strings.Contains(stdout, "--"+fl.Name+"\n") {
			t.Errorf("serve --help does not list --%s", fl.Name)
		}
		if !strings.Contains(stdout, fl.Usage) {
			t.Errorf("serve --help lacks the meaning of --%s", fl.Name)
		}
	})
	if n < 14 || !strings.HasPrefix(stdout, "usage: ringbox serve") {
		t.Errorf("serve --help (%d flags):\n%s", n, stdout)
	}
	if !strings.Contains(stdout, "--sip-digest") || !strings.Contains(stdout, "system.sip_digest") {
		t.Errorf("serve --help does not explain --sip-digest:\n%s", stdout)
	}
}

func TestEveryCommandHelp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cmd   []string
		flags []string
	}{
		{[]string{"serve", "-h"}, []string{"--data", "--sip", "--sip-digest"}},
		{[]string{"check", "--help"}, nil},
		{[]string{"import", "--help"}, []string{"--data"}},
		{[]string{"export", "--help"}, []string{"--data", "--with-secrets", "-o"}},
		{[]string{"token", "--help"}, []string{"--data", "--role"}},
		{[]string{"token", "create", "--help"}, []string{"--data", "--role"}},
		{[]string{"version", "--help"}, nil},
	} {
		stdout, stderr, code := ringbox(t, tt.cmd...)
		if code != 0 || !strings.HasPrefix(stdout, "usage: ringbox "+tt.cmd[0]) {
			t.Errorf("ringbox %s: exit %d\n%s%s", strings.Join(tt.cmd, " "), code, stdout, stderr)
			continue
		}
		for _, f := range tt.flags {
			if !strings.Contains(stdout, "  -"+strings.TrimLeft(f, "-")) && !strings.Contains(stdout, "  "+f) {
				t.Errorf("ringbox %s does not list %s:\n%s", strings.Join(tt.cmd, " "), f, stdout)
			}
		}
	}
	// A wrong flag still says what went wrong, and where to look.
	_, stderr, code := ringbox(t, "serve", "--no-such-flag")
	if code != 2 || !strings.Contains(stderr, "no-such-flag") || !strings.Contains(stderr, "ringbox serve --help") {
		t.Errorf("serve --no-such-flag: exit %d, %q", code, stderr)
	}
}

func TestMakeRunPassesFlags(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatalf("make is required: %v", err)
	}
	cmd := exec.Command("make", "-n", "-C", "../../..", "run", "FLAGS=--sip-digest sha256,md5 --realm office")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, " serve ") {
			if !strings.HasSuffix(strings.TrimSpace(l), "--sip-digest sha256,md5 --realm office") {
				t.Errorf("make run does not pass FLAGS to serve: %s", l)
			}
			return
		}
	}
	t.Errorf("make -n run shows no serve command:\n%s", out)
}
