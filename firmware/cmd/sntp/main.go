// Command sntp keeps the clock set from NTP servers (SNTP, RFC 4330), for
// firmware images whose busybox has no ntpd (Debian's busybox-static; see
// board/pbx-a/overlay/etc/init.d/S49ntp).
//
//	sntp [-interval 1h] [-n] SERVER...
//
// It asks the servers in turn until one answers, steps the clock to the
// server's time (corrected by half the round trip) when it is off by more
// than 100 ms, then does it again every interval. -n asks once, prints the
// offset and sets nothing. Progress goes to stderr.
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

// ntpEpoch is 1900-01-01, where NTP timestamps count from.
var ntpEpoch = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	interval := flag.Duration("interval", time.Hour, "how often to set the clock again")
	dry := flag.Bool("n", false, "ask once, print the offset, set nothing")
	timeout := flag.Duration("timeout", 3*time.Second, "how long to wait for a server")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("sntp: ")
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: sntp [-interval D] [-n] SERVER...")
		os.Exit(2)
	}
	for {
		off, server, err := offset(flag.Args(), *timeout)
		switch {
		case err != nil:
			log.Print(err)
		case *dry:
			fmt.Printf("%s: offset %v\n", server, off)
		case off > 100*time.Millisecond || off < -100*time.Millisecond:
			if err := step(off); err != nil {
				log.Printf("set the clock by %v (from %s): %v", off, server, err)
			} else {
				log.Printf("clock set by %v from %s", off, server)
			}
		}
		if *dry {
			if err != nil {
				os.Exit(1)
			}
			return
		}
		// Try again soon while no server has answered.
		wait := *interval
		if err != nil {
			wait = min(wait, time.Minute)
		}
		time.Sleep(wait)
	}
}

// offset asks servers in turn and returns how far the clock is behind the
// first one that answers.
func offset(servers []string, timeout time.Duration) (time.Duration, string, error) {
	var errs []error
	for _, s := range servers {
		off, err := query(s, timeout)
		if err == nil {
			return off, s, nil
		}
		errs = append(errs, err)
	}
	return 0, "", errors.Join(errs...)
}

// query sends one SNTP client request to server (host or host:port) and
// returns the server's clock minus ours.
func query(server string, timeout time.Duration) (time.Duration, error) {
	if _, _, err := net.SplitHostPort(server); err != nil {
		server = net.JoinHostPort(server, "123")
	}
	c, err := net.DialTimeout("udp", server, timeout)
	if err != nil {
		return 0, fmt.Errorf("ask %s: %w", server, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	req := make([]byte, 48)
	req[0] = 0<<6 | 4<<3 | 3 // no leap warning, version 4, client
	t1 := time.Now()
	binary.BigEndian.PutUint64(req[40:], ntpTime(t1)) // transmit: echoed as originate
	if _, err := c.Write(req); err != nil {
		return 0, fmt.Errorf("ask %s: %w", server, err)
	}
	resp := make([]byte, 128)
	n, err := c.Read(resp)
	t4 := time.Now()
	if err != nil {
		return 0, fmt.Errorf("ask %s: %w", server, err)
	}
	if n < 48 {
		return 0, fmt.Errorf("ask %s: short answer (%d bytes)", server, n)
	}
	mode, stratum := resp[0]&7, resp[1]
	if mode != 4 || stratum == 0 || stratum > 15 || resp[0]>>6 == 3 {
		return 0, fmt.Errorf("ask %s: not a usable answer (mode %d, stratum %d)", server, mode, stratum)
	}
	if binary.BigEndian.Uint64(resp[24:]) != binary.BigEndian.Uint64(req[40:]) {
		return 0, fmt.Errorf("ask %s: the answer is not to this request", server)
	}
	t2 := fromNTP(binary.BigEndian.Uint64(resp[32:])) // server received
	t3 := fromNTP(binary.BigEndian.Uint64(resp[40:])) // server sent
	// RFC 4330 section 5: ((T2 - T1) + (T3 - T4)) / 2.
	return (t2.Sub(t1) + t3.Sub(t4)) / 2, nil
}

func ntpTime(t time.Time) uint64 {
	d := t.Sub(ntpEpoch)
	sec := uint64(d / time.Second)
	frac := uint64(d%time.Second) << 32 / uint64(time.Second)
	return sec<<32 | frac
}

// fromNTP reads a timestamp of era 0 (until 2036).
func fromNTP(v uint64) time.Time {
	sec, frac := v>>32, v&0xffffffff
	return ntpEpoch.Add(time.Duration(sec)*time.Second + time.Duration(frac*uint64(time.Second)>>32))
}

// step moves the system clock by off.
func step(off time.Duration) error {
	tv := syscall.NsecToTimeval(time.Now().Add(off).UnixNano())
	return syscall.Settimeofday(&tv)
}
