//go:build linux && !mediagoroutines

package media

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux the RTP and RTCP sockets are not read by a goroutine each.
// A goroutine per socket costs a goroutine wake-up, a park and a trip
// through the Go scheduler and its netpoller for every packet, plus, when
// the process was idle, waking the runtime's sysmon thread on the next
// system call. Under the relay benchmark (docs/benchmarks.md) that was 1.5
// context switches, 5.5 system calls and 49 us of CPU per relayed packet;
// this way it is 0.75, 3.8 and 28 us (rtpengine: 1.1, 3.8, 30 us). Each
// engine has pollers: one epoll instance holding many sockets, itself
// registered with Go's netpoller, read by one goroutine. A wake-up handles
// every socket that became readable meanwhile, and the non-blocking reads
// and writes are raw system calls that never enter the scheduler. This is
// how rtpengine and other C relays are built.

// sock is one non-blocking UDP socket of a stream, outside Go's netpoller.
type sock struct {
	mu   sync.RWMutex // writers share it, close takes it: no write to a reused fd number
	fd   int          // -1 once closed
	v6   bool
	id   int32   // index in engineIO.socks while watched; -1 before
	p    *poller // the poller reading it while watched
	s    *Stream
	rtcp bool // the RTCP socket (port+1), not the RTP one
}

// engineIO is the Linux part of an Engine: its pollers and what each epoll
// event refers to.
type engineIO struct {
	socks   []atomic.Pointer[sock] // by id: 2*slot for RTP, 2*slot+1 for RTCP
	pollers []*poller
}

// pollersFor is how many pollers (goroutines reading sockets) an engine
// runs. One relayed 5 000 packets a second (150 calls) with about 15 % of a
// core of the 2-vCPU development VM, kernel included, and can do several
// times that; more only pay on boxes with many cores.
func pollersFor(procs int) int { return max(1, min(procs/4, 4)) }

func (e *Engine) initIO(slots int, procs int) {
	e.io.socks = make([]atomic.Pointer[sock], 2*slots)
	e.io.pollers = make([]*poller, pollersFor(procs))
	for i := range e.io.pollers {
		e.io.pollers[i] = &poller{e: e, ep: -1}
	}
}

// listen binds one UDP socket on the engine's bind address.
func (e *Engine) listen(port int) (*sock, error) {
	family := syscall.AF_INET
	if e.cfg.Bind.Is6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("rtp socket: %w", err)
	}
	var sa syscall.Sockaddr
	if family == syscall.AF_INET6 {
		sa = &syscall.SockaddrInet6{Port: port, Addr: e.cfg.Bind.As16()}
	} else {
		sa = &syscall.SockaddrInet4{Port: port, Addr: e.cfg.Bind.As4()}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("bind %s port %d: %w", e.cfg.Bind, port, err)
	}
	// Bursts after a scheduling hiccup must not overflow the default
	// buffer; the kernel caps this at rmem_max, which is fine.
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, socketBuffer)
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, socketBuffer)
	return &sock{fd: fd, v6: family == syscall.AF_INET6, id: -1}, nil
}

// watch hands k's packets to s (RTP, or RTCP when rtcp) from now on.
func (e *Engine) watch(k *sock, s *Stream, slot int, rtcp bool) error {
	k.s, k.rtcp = s, rtcp
	k.id = int32(2 * slot)
	if rtcp {
		k.id++
	}
	p := e.io.pollers[slot%len(e.io.pollers)]
	e.io.socks[k.id].Store(k)
	if err := p.add(k); err != nil {
		e.io.socks[k.id].CompareAndSwap(k, nil)
		return err
	}
	k.p = p
	return nil
}

// close stops reading k, waits until no packet of it is being handled and
// closes it. It must not be called with a lock the packet path takes.
func (k *sock) close() {
	if p := k.p; p != nil {
		p.remove(k)
		p.e.io.socks[k.id].CompareAndSwap(k, nil) // a new socket may have its id already
	}
	k.mu.Lock()
	if k.fd >= 0 {
		syscall.Close(k.fd)
		k.fd = -1
	}
	k.mu.Unlock()
}

// writeTo sends one datagram. A full send buffer drops it, as a network
// would: RTP is not worth waiting for.
func (k *sock) writeTo(pkt []byte, dst netip.AddrPort) error {
	var sa sockaddr
	n := sa.set(dst, k.v6)
	if n == 0 {
		return fmt.Errorf("send to %s: address family", dst)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.fd < 0 {
		return ErrClosed
	}
	var p unsafe.Pointer
	if len(pkt) > 0 {
		p = unsafe.Pointer(&pkt[0])
	}
	// A raw system call: sendto on a non-blocking socket does not block,
	// and the runtime's syscall bookkeeping would cost more than the send.
	_, _, errno := syscall.RawSyscall6(unix.SYS_SENDTO, uintptr(k.fd), uintptr(p), uintptr(len(pkt)),
		0, uintptr(unsafe.Pointer(&sa)), uintptr(n))
	if errno != 0 {
		return errno
	}
	return nil
}

// sockaddr is a struct sockaddr_in or sockaddr_in6 for raw system calls.
type sockaddr struct {
	raw syscall.RawSockaddrInet6 // large enough for either
}

// set fills sa with ap for a socket of the given family and returns its
// length, 0 when ap cannot be reached from such a socket.
func (sa *sockaddr) set(ap netip.AddrPort, v6 bool) int {
	a := ap.Addr()
	port := ap.Port()
	if !v6 {
		a = a.Unmap()
		if !a.Is4() {
			return 0
		}
		r := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		r.Family = syscall.AF_INET
		putPort(&r.Port, port)
		r.Addr = a.As4()
		return syscall.SizeofSockaddrInet4
	}
	sa.raw.Family = syscall.AF_INET6
	putPort(&sa.raw.Port, port)
	sa.raw.Addr = a.As16()
	sa.raw.Flowinfo, sa.raw.Scope_id = 0, 0
	return syscall.SizeofSockaddrInet6
}

// putPort and getPort convert a sockaddr's port, in network byte order.
func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// addrPort reads a sockaddr the kernel filled in.
func (sa *sockaddr) addrPort() netip.AddrPort {
	switch sa.raw.Family {
	case syscall.AF_INET:
		r := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&sa.raw))
		return netip.AddrPortFrom(netip.AddrFrom4(r.Addr), getPort(&r.Port))
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.raw.Addr).Unmap(), getPort(&sa.raw.Port))
	}
	return netip.AddrPort{}
}

// poller reads the sockets of its share of the engine's streams. Its epoll
// instance is level-triggered for the sockets and is itself a file in Go's
// netpoller, so the goroutine sleeps in the netpoller until a socket has a
// packet, without a system call of its own.
type poller struct {
	e *Engine

	life    sync.Mutex // protects following; serialises start and stop
	ep      int        // epoll fd, -1 before the first socket
	file    *os.File   // ep as a pollable file
	n       int        // sockets watched
	stopped chan struct{}

	batch sync.Mutex // held while a batch of events is handled (see remove)
}

const pollBatch = 64 // events per epoll_wait

func (p *poller) add(k *sock) error {
	p.life.Lock()
	defer p.life.Unlock()
	if p.ep < 0 {
		ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			return fmt.Errorf("epoll: %w", err)
		}
		if err := syscall.SetNonblock(ep, true); err != nil {
			syscall.Close(ep)
			return fmt.Errorf("epoll: %w", err)
		}
		p.ep = ep
		// Non-blocking, so os registers it with the netpoller.
		p.file = os.NewFile(uintptr(ep), "rtp-epoll")
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: k.id}
	if err := syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_ADD, k.fd, &ev); err != nil {
		return fmt.Errorf("epoll add: %w", err)
	}
	p.n++
	if p.n == 1 {
		p.start()
	}
	return nil
}

// remove stops watching k and returns once the poller is not handling a
// packet of k any more (the batch that may hold an event for it is done).
func (p *poller) remove(k *sock) {
	p.life.Lock()
	defer p.life.Unlock()
	_ = syscall.EpollCtl(p.ep, syscall.EPOLL_CTL_DEL, k.fd, nil)
	p.batch.Lock()
	//lint:ignore SA2001 an empty critical section: waiting for the batch is the point
	p.batch.Unlock()
	p.n--
	if p.n == 0 {
		p.stop()
	}
}

// start runs the poller's goroutine; stop ends it and waits for it. The
// goroutine lives while sockets are watched, so an idle engine has none.
func (p *poller) start() {
	_ = p.file.SetReadDeadline(time.Time{})
	p.stopped = make(chan struct{})
	go p.run(p.stopped)
}

func (p *poller) stop() {
	// A deadline in the past wakes the goroutine from the netpoller.
	_ = p.file.SetReadDeadline(time.Unix(1, 0))
	<-p.stopped
}

// run reads packets until stop. It is the packet path: it must not allocate.
func (p *poller) run(stopped chan struct{}) {
	defer close(stopped)
	rc, err := p.file.SyscallConn()
	if err != nil {
		p.e.log.Error("rtp poller", "err", err)
		return
	}
	r := newPollReader(p)
	for {
		err := rc.Read(r.fn)
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, os.ErrClosed) {
			return
		}
		if err != nil {
			p.e.log.Error("rtp poller", "err", err)
			return
		}
	}
}

// readBatch is the most datagrams one recvmmsg takes from a socket. A
// stream rarely has more than one waiting; what matters is that a short
// count tells the socket is empty without another system call.
const readBatch = 4

// pollReader is the poller goroutine's state: the buffers the kernel
// fills, and the callback handed to the netpoller, made once.
type pollReader struct {
	p      *poller
	events []syscall.EpollEvent
	msgs   [readBatch]unix.Mmsghdr
	iovs   [readBatch]unix.Iovec
	srcs   [readBatch]sockaddr
	bufs   [readBatch][maxPacketSize]byte
	fn     func(fd uintptr) bool
}

func newPollReader(p *poller) *pollReader {
	r := &pollReader{p: p, events: make([]syscall.EpollEvent, pollBatch)}
	for i := range r.msgs {
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(maxPacketSize)
		r.msgs[i].Hdr.Iov = &r.iovs[i]
		r.msgs[i].Hdr.SetIovlen(1)
		r.msgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&r.srcs[i].raw))
	}
	r.fn = r.poll
	return r
}

// poll handles every readable socket until none is left and returns false:
// wait in the netpoller for the next packet.
//
// Every packet reaching a socket makes Go's (edge-triggered) netpoller
// report the epoll instance readable again, but packets that arrive before
// it looks give one report between them. So a round must not leave a
// packet behind that no later report would bring it back for: each socket
// is read with one recvmmsg, which empties it unless it returns a full
// batch; only then, or when epoll_wait filled its event array, is there
// another round (the sockets are level-triggered, so epoll_wait reports
// what is left). Reading until EAGAIN, or polling until epoll_wait comes
// back empty, would cost a system call more per wake-up.
func (r *pollReader) poll(ep uintptr) bool {
	p := r.p
	socks := p.e.io.socks
	p.batch.Lock()
	defer p.batch.Unlock()
	for {
		n, _, errno := syscall.RawSyscall6(unix.SYS_EPOLL_PWAIT, ep, uintptr(unsafe.Pointer(&r.events[0])),
			uintptr(len(r.events)), 0, 0, 0)
		if errno != 0 || n == 0 {
			return false
		}
		more := int(n) == len(r.events)
		for i := range r.events[:n] {
			id := r.events[i].Fd
			if id < 0 || int(id) >= len(socks) {
				continue
			}
			if k := socks[id].Load(); k != nil && r.read(k) {
				more = true
			}
		}
		if !more {
			return false
		}
	}
}

// read takes what k holds, up to a batch, and hands it to its stream. It
// reports whether the batch was full (k may hold more).
func (r *pollReader) read(k *sock) bool {
	for i := range r.msgs {
		r.msgs[i].Hdr.Namelen = uint32(unsafe.Sizeof(r.srcs[i].raw))
		r.msgs[i].Hdr.Flags = 0
	}
	n, _, errno := syscall.RawSyscall6(unix.SYS_RECVMMSG, uintptr(k.fd), uintptr(unsafe.Pointer(&r.msgs[0])),
		readBatch, unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		return false // EAGAIN (nothing after all), or an error the socket reported
	}
	for i := range int(n) {
		pkt := r.bufs[i][:r.msgs[i].Len]
		src := r.srcs[i].addrPort()
		if k.rtcp {
			k.s.receiveRTCP(pkt, src)
		} else {
			k.s.receive(pkt, src)
		}
	}
	return int(n) == readBatch
}
