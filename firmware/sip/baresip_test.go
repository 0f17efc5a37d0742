package sip

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"ringbox/firmware/call"
)

// startBaresip runs a headless, auto-answering baresip registered as ext
// at the server (notes/harness.md §3) and returns its control port.
func startBaresip(t *testing.T, env *testEnv, ext, pass string) int {
	t.Helper()
	needTool(t, "baresip")
	needTool(t, "sox")
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	if out, err := exec.Command("sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", mic, "synth", "30", "sine", "440").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v %s", err, out)
	}
	sipPort := freePort(t, 15000, 19990)
	ctrl := freePort(t, 15000, 19990)
	rtp := mediaPort(t)
	cfg := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
sip_trans_def udp
net_interface 127.0.0.1
audio_player aubridge,nowhere
audio_source aufile,%s
audio_alert aubridge,nowhere
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module ctrl_tcp.so
module_app account.so
module_app contact.so
module_app menu.so
ctrl_tcp_listen 127.0.0.1:%d
`, sipPort, mic, rtp, rtp+3, ctrl)
	os.WriteFile(filepath.Join(dir, "config"), []byte(cfg), 0o644)
	os.WriteFile(filepath.Join(dir, "accounts"), []byte(fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;answermode=auto;regint=300;audio_codecs=PCMU,PCMA\n", ext, env.addr, pass)), 0o644)
	os.WriteFile(filepath.Join(dir, "contacts"), nil, 0o644)
	// baresip 1.0.0 sometimes crashes on SIGTERM: no core files in the tree.
	cmd := exec.Command("sh", "-c", `ulimit -c 0; exec timeout -k 5 60 baresip -f "$0"`, dir)
	log, _ := os.Create(filepath.Join(dir, "log"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// SIGTERM first so baresip flushes its log.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("baresip log:\n%s", lastLines(string(b), 40))
		}
	})
	return ctrl
}

// bctl sends one ctrl_tcp command and collects events for wait.
func bctl(t *testing.T, port int, command, params string, wait time.Duration) []map[string]any {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("baresip control: %v", err)
	}
	defer c.Close()
	b, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": "t"})
	fmt.Fprintf(c, "%d:%s,", len(b), b)
	var out []map[string]any
	var buf []byte
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		c.SetReadDeadline(deadline)
		chunk := make([]byte, 65536)
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		for {
			var ln int
			i := 0
			for i < len(buf) && buf[i] != ':' {
				i++
			}
			if i == len(buf) {
				break
			}
			fmt.Sscanf(string(buf[:i]), "%d", &ln)
			if len(buf) < i+1+ln+1 {
				break
			}
			var m map[string]any
			json.Unmarshal(buf[i+1:i+1+ln], &m)
			out = append(out, m)
			buf = buf[i+1+ln+1:]
		}
		if err != nil {
			break
		}
	}
	return out
}

func TestBaresip(t *testing.T) {
	got := make(chan CallInfo, 1)
	// baresip 1.0.0 (libre) gives up with ENOSYS ("Register: Function not
	// implemented") when ANY challenge names an algorithm other than MD5:
	// the box's default, MD5 alone, is what it needs.
	env := newEnv(t, HandlerFunc(func(ctx context.Context, in call.Leg, info CallInfo) {
		got <- info
		in.Hangup(call.Unavailable)
	}))
	ctrl := startBaresip(t, env, "1002", "secret1002")
	waitFor(t, 10*time.Second, "baresip registered", func() bool { return len(env.s.reg.contacts("1002")) == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := env.s.Dialer().Dial(ctx, call.Target{Kind: call.TargetExtension, Number: "1002", From: call.Party{Number: "1001", Name: "Alice"}})
	if err != nil {
		t.Fatalf("Dial 1002: %v", err)
	}
	if err := out.Answer(ctx); err != nil {
		t.Fatalf("baresip did not answer: %v", err)
	}
	if c := out.Media().Codec(); c != "PCMU" && c != "PCMA" {
		t.Errorf("codec %q, want G.711", c)
	}
	time.Sleep(time.Second)
	if st := out.(*Leg).Stats(); st.PacketsIn < 20 {
		t.Errorf("received %d RTP packets from baresip in 1s, want ~50", st.PacketsIn)
	}
	out.Hangup(call.Normal)
	select {
	case <-out.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("leg did not end after Hangup")
	}
	if c := call.CauseOf(out.Err()); c != call.Normal {
		t.Errorf("leg cause %v, want normal", c)
	}

	// baresip calls in: authenticated with the same digest code (407).
	evs := bctl(t, ctrl, "dial", "sip:1001@"+env.addr, 4*time.Second)
	select {
	case info := <-got:
		if info.Extension != "1002" || info.To != "1001" {
			t.Errorf("CallInfo %+v, want extension 1002 calling 1001", info)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("baresip's call never reached the handler; events %v", evs)
	}
}
