// Command sipping sends SIP OPTIONS over UDP until the box answers 200, for
// the image boot test (scripts/image/boot-test.sh).
//
//	sipping [-timeout 120s] [-every 500ms] 127.0.0.1:15060
//
// It prints the status line and how long it waited, and exits 1 when no 200
// came in time.
package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

func main() {
	timeout := flag.Duration("timeout", 120*time.Second, "give up after this long")
	every := flag.Duration("every", 500*time.Millisecond, "wait this long for an answer before sending again")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: sipping [-timeout D] [-every D] HOST:PORT")
		os.Exit(2)
	}
	start := time.Now()
	status, err := ping(flag.Arg(0), start.Add(*timeout), *every)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sipping: %v after %.1fs\n", err, time.Since(start).Seconds())
		os.Exit(1)
	}
	fmt.Printf("%s after %.1fs\n", status, time.Since(start).Seconds())
}

// ping sends OPTIONS to addr until a final response comes or deadline
// passes; it returns the status line of a 200.
func ping(addr string, deadline time.Time, every time.Duration) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	local := c.LocalAddr().String()
	buf := make([]byte, 65535)
	for seq := 1; time.Now().Before(deadline); seq++ {
		if _, err := c.Write([]byte(options(addr, local, seq))); err != nil {
			// Nothing forwards the port yet (ICMP refused): try again.
			time.Sleep(every)
			continue
		}
		c.SetReadDeadline(time.Now().Add(every))
		n, err := c.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				time.Sleep(every)
			}
			continue
		}
		line, _, _ := strings.Cut(string(buf[:n]), "\r\n")
		if strings.HasPrefix(line, "SIP/2.0 1") {
			continue
		}
		if !strings.HasPrefix(line, "SIP/2.0 200") {
			return "", fmt.Errorf("OPTIONS answered %q", line)
		}
		return line, nil
	}
	return "", errors.New("no answer to OPTIONS")
}

func options(addr, local string, seq int) string {
	return fmt.Sprintf("OPTIONS sip:%[1]s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %[2]s;branch=z9hG4bK%[3]s;rport\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:sipping@%[2]s>;tag=%[3]s\r\n"+
		"To: <sip:%[1]s>\r\n"+
		"Call-ID: %[3]s@sipping\r\n"+
		"CSeq: %[4]d OPTIONS\r\n"+
		"Accept: application/sdp\r\n"+
		"Content-Length: 0\r\n\r\n", addr, local, rand.Text()[:16], seq)
}
