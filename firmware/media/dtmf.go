package media

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"ringbox/firmware/call"
)

// RFC 4733 telephone-event payload: event (8 bits), E (end) bit, R bit,
// volume (6 bits), duration (16 bits, in RTP clock units).
const (
	eventEnd      = 0x80
	eventVolume   = 10 // -10 dBm0
	dtmfEndWait   = time.Second
	dtmfUpdate    = 50 * time.Millisecond
	dtmfEndRepeat = 3
)

const eventKeys = "0123456789*#ABCD"

func keyEvent(key byte) (uint8, bool) {
	if key >= 'a' && key <= 'd' {
		key -= 'a' - 'A'
	}
	for i := range len(eventKeys) {
		if eventKeys[i] == key {
			return uint8(i), true
		}
	}
	return 0, false
}

type eventKey struct {
	ts    uint32
	event uint8
}

// dtmfReceiver turns the packets of RFC 4733 events into one digit each:
// an event is the packets sharing a timestamp and event code; it is
// reported on its first end packet, or when the next event starts, or 1 s
// after its last packet if no end packet came.
type dtmfReceiver struct {
	mu       sync.Mutex // protects following
	cur      eventKey
	active   bool // cur is being received
	reported bool // cur was reported
	dur      uint16
	clock    int
	last     int64       // engine clock of cur's last packet
	recent   [4]eventKey // reported events, so late retransmissions are ignored
	recentN  int
	timer    *time.Timer
	stopped  bool
}

// packet handles one telephone-event packet received on s.
func (d *dtmfReceiver) packet(s *Stream, pkt []byte, clock int) {
	start, end, ok := payloadOffset(pkt)
	if !ok || end-start < 4 {
		return
	}
	p := pkt[start:end]
	if p[0] >= uint8(len(eventKeys)) {
		return // flash and other events are not digits
	}
	k := eventKey{ts: binary.BigEndian.Uint32(pkt[4:]), event: p[0]}
	isEnd := p[1]&eventEnd != 0
	dur := binary.BigEndian.Uint16(p[2:])
	now := s.e.now()

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return
	}
	if !d.active || k != d.cur {
		for _, r := range d.recent[:d.recentN] {
			if r == k {
				return // a retransmitted end packet of a digit already reported
			}
		}
		if d.active && !d.reported {
			d.reportLocked(s) // the previous event lost its end packets
		}
		d.cur, d.active, d.reported, d.dur, d.clock = k, true, false, 0, clock
	}
	d.dur = max(d.dur, dur)
	d.last = now
	if d.reported {
		return
	}
	if isEnd {
		d.reportLocked(s)
		return
	}
	if d.timer == nil {
		d.timer = time.AfterFunc(dtmfEndWait, func() { d.expire(s) })
	} else {
		d.timer.Reset(dtmfEndWait)
	}
}

// expire reports an event whose end packets never came.
func (d *dtmfReceiver) expire(s *Stream) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped || !d.active || d.reported {
		return
	}
	if wait := dtmfEndWait - time.Duration(s.e.now()-d.last); wait > 0 {
		d.timer.Reset(wait) // a packet came since the timer was set
		return
	}
	d.reportLocked(s)
}

func (d *dtmfReceiver) reportLocked(s *Stream) {
	d.reported = true
	d.recent[d.recentN%len(d.recent)] = d.cur
	d.recentN = min(d.recentN+1, len(d.recent))
	clock := d.clock
	if clock <= 0 {
		clock = 8000
	}
	s.deliverDigit(call.Digit{
		Key:      eventKeys[d.cur.event],
		Duration: time.Duration(d.dur) * time.Second / time.Duration(clock),
	}, fromEvent)
}

func (d *dtmfReceiver) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stopped = true
	if d.timer != nil {
		d.timer.Stop()
	}
}

// deliver queues a digit for Digits and wakes a barge-in Play. A full
// queue (nobody reading) drops the digit rather than stall the reader.
func (s *Stream) deliver(dg call.Digit) {
	select {
	case s.digits <- dg:
	default:
		s.e.log.Debug("digit dropped", "local", s.local, "key", string(dg.Key))
		return
	}
	select {
	case s.digitNote <- struct{}{}:
	default:
	}
}

// Digits delivers the digits received as RFC 4733 events (one per key
// press), those detected in the audio (see SetInbandDTMF) and those given
// to InjectDigit.
func (s *Stream) Digits() <-chan call.Digit { return s.digits }

// InjectDigit queues a digit that arrived another way (SIP INFO).
func (s *Stream) InjectDigit(d call.Digit) { s.deliver(d) }

// SendDigit sends key as an RFC 4733 event lasting dur: the first packet
// with the marker bit, an update every 50 ms, all with the event's one
// timestamp, then three end packets. It returns when the event is sent
// (after about dur), or ErrClosed.
func (s *Stream) SendDigit(key byte, dur time.Duration) error {
	ev, ok := keyEvent(key)
	if !ok {
		return fmt.Errorf("send digit %q: not a DTMF key", key)
	}
	r := s.remote.Load()
	if !r.hasDTMF {
		return fmt.Errorf("send digit on %s: %w", s.local, ErrNoDTMF)
	}
	clock := r.dtmf.Clock
	if clock <= 0 {
		clock = 8000
	}
	dur = max(dur, 40*time.Millisecond)
	total := min(int64(dur)*int64(clock)/int64(time.Second), 0xFFFF)
	step := int64(dtmfUpdate) * int64(clock) / int64(time.Second)

	var pkt [16]byte
	o := &s.out
	o.mu.Lock()
	ts := o.beginLocked(s.e.now())
	o.mu.Unlock()
	s.arm()

	send := func(first, end bool, d int64) {
		o.mu.Lock()
		o.stampLocked(pkt[:12], r.dtmf.PT, first, ts, s.e.now())
		o.mu.Unlock()
		pkt[12] = ev
		pkt[13] = eventVolume
		if end {
			pkt[13] |= eventEnd
		}
		binary.BigEndian.PutUint16(pkt[14:], uint16(d))
		if r := s.remote.Load(); r.send {
			if dst, ok := s.dest(r); ok {
				s.write(pkt[:], dst)
			}
		}
	}
	t := time.NewTimer(0)
	<-t.C
	defer t.Stop()
	for k, elapsed := int64(0), time.Duration(0); elapsed < dur; k++ {
		send(k == 0, false, min((k+1)*step, total))
		wait := min(dtmfUpdate, dur-elapsed)
		t.Reset(wait)
		select {
		case <-t.C:
			elapsed += wait
		case <-s.closed:
			return ErrClosed
		}
	}
	for range dtmfEndRepeat {
		send(false, true, total)
	}
	// Audio after the event continues past its end.
	o.mu.Lock()
	o.lastTS = ts + uint32(total)
	o.mu.Unlock()
	return nil
}
