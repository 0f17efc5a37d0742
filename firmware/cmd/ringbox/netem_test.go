package main

// A network between the box and a far side (a carrier, a branch office's
// phones) that a test can degrade or cut: the far side lives in its own
// network namespace, joined to the test's namespace by a point-to-point
// link. Where the kernel has sch_netem the link is a veth pair shaped by
// netem; where it has not (CI's kernel lacks it: "Specified qdisc kind is
// unknown"), the link is a pair of TUN devices with this process copying
// the packets between them, dropping and delaying them itself. Either way
// the box and the peers see a real IP path with loss, delay and jitter
// (SIP retransmissions, RTP gaps) or, cut, a peer that answers nothing,
// sends no BYE and no ICMP. docs/testing.md says which is used where.

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// farLink is the link to one far-side namespace.
type farLink struct {
	t      *testing.T
	ns     *os.File // the far namespace (its /proc/thread-self/ns/net)
	BoxIP  string   // the test side's address: the box listens here
	FarIP  string   // the far side's address: its peers bind here
	netem  bool     // veth + sch_netem; else the TUN relay below
	near   string   // the test side's device name
	mu     sync.Mutex
	imp    impairment
	tuns   [2]*os.File // near, far (TUN relay only)
	wg     sync.WaitGroup
	closed atomic.Bool
	stats  [2]atomic.Int64 // packets passed, dropped (TUN relay only)
}

// impairment is what the link does to every packet, both ways.
type impairment struct {
	loss          float64 // 0..1
	delay, jitter time.Duration
	cut           bool // drop everything: the far side has vanished
}

var linkSeq atomic.Int32

// newFarLink makes a namespace and links it to the test's: the test side
// gets 10.77.N.1, the far side 10.77.N.2, the far side's loopback is up.
// It needs root (CI runs as root); without it the test fails, never skips.
func newFarLink(t *testing.T) *farLink {
	t.Helper()
	n := linkSeq.Add(1)
	l := &farLink{t: t, BoxIP: fmt.Sprintf("10.77.%d.1", n), FarIP: fmt.Sprintf("10.77.%d.2", n), near: fmt.Sprintf("rbxw%d", n)}
	ns, err := newNetns()
	if err != nil {
		t.Fatalf("a network namespace for the far side (the fault tests need root): %v", err)
	}
	l.ns = ns
	t.Cleanup(l.close)
	l.in(func() { l.ip("link", "set", "lo", "up") })
	l.netem = l.hasNetem()
	if l.netem {
		// The veth's near end goes to the test's namespace, by the handle
		// of the thread that runs this (never switched).
		self, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		defer self.Close()
		l.in(func() {
			l.ip("link", "add", "wire", "type", "veth", "peer", "name", l.near, "netns", fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), self.Fd()))
		})
	} else {
		near, err := openTUN(l.near)
		if err != nil {
			t.Fatalf("TUN device %s: %v", l.near, err)
		}
		var far *os.File
		l.in(func() { far, err = openTUN("wire") })
		if err != nil {
			near.Close()
			t.Fatalf("TUN device in the far namespace: %v", err)
		}
		l.tuns = [2]*os.File{near, far}
		l.wg.Add(2)
		go l.relay(near, far)
		go l.relay(far, near)
	}
	l.ip("addr", "add", l.BoxIP+"/32", "peer", l.FarIP, "dev", l.near)
	l.ip("link", "set", l.near, "up")
	l.in(func() {
		l.ip("addr", "add", l.FarIP+"/32", "peer", l.BoxIP, "dev", "wire")
		l.ip("link", "set", "wire", "up")
	})
	return l
}

// newNetns creates a network namespace and returns its handle; the
// calling thread is back in its own namespace when it returns.
func newNetns() (*os.File, error) {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	defer self.Close()
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return nil, fmt.Errorf("unshare: %w", err)
	}
	ns, err := os.Open("/proc/thread-self/ns/net")
	if e := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); e != nil {
		// This thread is stuck in the new namespace: leave it locked so
		// that it ends with this goroutine and nothing else runs on it.
		panic(fmt.Sprintf("back to the test's network namespace: %v", e))
	}
	runtime.UnlockOSThread()
	return ns, err
}

// in runs fn with the calling goroutine's thread in the far namespace:
// processes started and sockets opened by fn are the far side's. fn may
// call t.Fatal (the thread is switched back as the goroutine unwinds).
func (l *farLink) in(fn func()) {
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		l.t.Fatal(err)
	}
	if err := unix.Setns(int(l.ns.Fd()), unix.CLONE_NEWNET); err != nil {
		self.Close()
		runtime.UnlockOSThread()
		l.t.Fatalf("enter the far namespace: %v", err)
	}
	defer func() {
		if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
			panic(fmt.Sprintf("back to the test's network namespace: %v", err))
		}
		self.Close()
		runtime.UnlockOSThread()
	}()
	fn()
}

// ip runs ip(8) in the calling thread's namespace.
func (l *farLink) ip(args ...string) {
	l.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		l.t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// hasNetem says whether the kernel has sch_netem, tried on the far
// namespace's loopback.
func (l *farLink) hasNetem() bool {
	ok := false
	l.in(func() {
		ok = exec.Command("tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms").Run() == nil
	})
	return ok
}

// Impair sets loss (a share, 0..1), delay and jitter on both directions.
func (l *farLink) Impair(loss float64, delay, jitter time.Duration) {
	l.set(impairment{loss: loss, delay: delay, jitter: jitter})
}

// Cut drops every packet both ways: the far side vanishes without a word.
func (l *farLink) Cut() { l.set(impairment{cut: true}) }

// Restore brings the far side back, unimpaired.
func (l *farLink) Restore() { l.set(impairment{}) }

func (l *farLink) set(imp impairment) {
	l.t.Helper()
	l.mu.Lock()
	l.imp = imp
	l.mu.Unlock()
	if !l.netem {
		return
	}
	args := []string{"qdisc", "replace", "dev", "", "root", "netem"}
	switch {
	case imp.cut:
		args = append(args, "loss", "100%")
	default:
		args = append(args, "loss", fmt.Sprintf("%.2f%%", 100*imp.loss))
		if imp.delay > 0 {
			// rate keeps netem from reordering jittered packets (as the
			// TUN relay does not either).
			args = append(args, "delay", fmt.Sprintf("%dms", imp.delay.Milliseconds()), fmt.Sprintf("%dms", imp.jitter.Milliseconds()), "rate", "1gbit")
		}
	}
	tc := func(dev string) {
		a := append([]string(nil), args...)
		a[3] = dev
		if out, err := exec.Command("tc", a...).CombinedOutput(); err != nil {
			l.t.Fatalf("tc %s: %v\n%s", strings.Join(a, " "), err, out)
		}
	}
	tc(l.near)
	l.in(func() { tc("wire") })
}

// Dropped is how many packets the TUN relay dropped so far (0 with netem).
func (l *farLink) Dropped() int64 { return l.stats[1].Load() }

// relay copies packets from one TUN device to the other, applying the
// impairment. Jitter varies each packet's delay but never reorders them
// (a packet waits at least as long as the one before it left), as on a
// real path where a queue, not a race, makes the delay: SIPp aborts a
// call on a 100 Trying that overtakes the 200 OK, which real paths do not
// do often enough to be worth a flaky test.
func (l *farLink) relay(from, to *os.File) {
	defer l.wg.Done()
	type delayed struct {
		at  time.Time
		pkt []byte
	}
	out := make(chan delayed, 4096)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for p := range out {
			time.Sleep(time.Until(p.at))
			if !l.closed.Load() {
				to.Write(p.pkt)
			}
		}
	}()
	defer close(out)
	var last time.Time
	buf := make([]byte, 65536)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return // closed
		}
		l.mu.Lock()
		imp := l.imp
		l.mu.Unlock()
		if imp.cut || rand.Float64() < imp.loss {
			l.stats[1].Add(1)
			continue
		}
		l.stats[0].Add(1)
		d := imp.delay
		if imp.jitter > 0 {
			d += time.Duration(rand.Int64N(int64(2*imp.jitter))) - imp.jitter
		}
		at := time.Now().Add(max(d, 0))
		if at.Before(last) {
			at = last
		}
		last = at
		select {
		case out <- delayed{at, append([]byte(nil), buf[:n]...)}:
		default: // the queue is full: a congested path drops
			l.stats[1].Add(1)
		}
	}
}

func (l *farLink) close() {
	l.closed.Store(true)
	for _, f := range l.tuns {
		if f != nil {
			f.Close()
		}
	}
	l.wg.Wait()
	if l.netem {
		exec.Command("ip", "link", "del", l.near).Run()
	}
	l.ns.Close()
}

// openTUN creates a TUN device (IP packets, no header) in the calling
// thread's namespace; it goes away when the file is closed.
func openTUN(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TUN | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
		unix.Close(fd)
		return nil, fmt.Errorf("TUNSETIFF %s: %w", name, e)
	}
	// Non-blocking, so that the runtime poller reads it and Close ends a
	// pending Read.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}

// TestFarLinkLosesDelaysAndCuts: the link itself, with UDP across it: it
// carries, loses about the share asked, delays, and cut carries nothing.
func TestFarLinkLosesDelaysAndCuts(t *testing.T) {
	t.Parallel()
	l := newFarLink(t)
	var echo net.PacketConn
	l.in(func() {
		var err error
		if echo, err = net.ListenPacket("udp", l.FarIP+":0"); err != nil {
			t.Fatal(err)
		}
	})
	defer echo.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	defer wg.Wait()
	defer echo.Close()
	c, err := net.ListenPacket("udp", l.BoxIP+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// rounds sends n datagrams and counts the echoes within wait.
	rounds := func(n int, wait time.Duration) (int, time.Duration) {
		start := time.Now()
		var first time.Duration
		// Paced at one every 2 ms: a burst would overflow the TUN
		// device's queue on a busy machine and count as the link's loss.
		for i := range n {
			c.WriteTo([]byte(fmt.Sprint(i)), echo.LocalAddr())
			time.Sleep(2 * time.Millisecond)
		}
		got := 0
		buf := make([]byte, 1500)
		for {
			c.SetReadDeadline(start.Add(wait))
			if _, _, err := c.ReadFrom(buf); err != nil {
				return got, first
			}
			if got == 0 {
				first = time.Since(start)
			}
			got++
		}
	}
	if got, _ := rounds(20, time.Second); got != 20 {
		t.Fatalf("clean link: %d of 20 echoes", got)
	}
	l.Impair(0.10, 100*time.Millisecond, 20*time.Millisecond)
	got, first := rounds(400, 3*time.Second)
	// Each echo crosses twice: 0.9² = 81% come back; 324 of 400 give or
	// take a wide margin.
	if got < 280 || got > 360 {
		t.Errorf("10%% loss each way: %d of 400 echoes, want about 324", got)
	}
	if first < 150*time.Millisecond {
		t.Errorf("100±20 ms each way: the first echo came after %v", first)
	}
	l.Cut()
	if got, _ := rounds(20, time.Second); got != 0 {
		t.Errorf("cut link: %d echoes", got)
	}
	l.Restore()
	if got, _ := rounds(20, time.Second); got != 20 {
		t.Errorf("restored link: %d of 20 echoes", got)
	}
}
