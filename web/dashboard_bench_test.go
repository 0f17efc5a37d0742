package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/site"
	"ringbox/web"
	"ringbox/web/webtest"
)

// pages is how many browser tabs the latency figures are for: every agent
// page and dashboard holds one event stream open.
const pages = 200

// sseFleet is a web server with n clients reading GET /api/v1/events over
// real HTTP, each noting how long every event took from Publish (the
// event's own time) to the moment its data line was read.
type sseFleet struct {
	bus *events.Bus
	n   int
	lat chan sample
}

type sample struct {
	client int
	seq    uint64
	d      time.Duration
}

func newFleet(tb testing.TB, n int) *sseFleet {
	tb.Helper()
	a := webtest.NewAuth()
	// Managers' pages (the live dashboard), one login each (a login may
	// hold only a few streams, web/streams.go): the stream filters what
	// they may see, as in use.
	f := &sseFleet{bus: events.New(), n: n, lat: make(chan sample, n*64)}
	// Every manager's agent serves the queues the events name, so every
	// page gets every event through the scope filter (web/scope_events.go).
	st := &site.Site{}
	var members []site.QueueAgent
	for i := range n {
		id := "a" + strconv.Itoa(i)
		a.AddToken("desk"+strconv.Itoa(i), auth.Principal{Login: "token:desk" + strconv.Itoa(i), Role: auth.Manager, Agent: id})
		st.Agents = append(st.Agents, site.Agent{ID: id, Extension: strconv.Itoa(1000 + i)})
		members = append(members, site.QueueAgent{Agent: id})
	}
	for i := range 26 {
		st.Queues = append(st.Queues, site.Queue{ID: string(rune('a' + i)), Agents: members})
	}
	ws := web.New(web.Config{Auth: a, Bus: f.bus, Logger: slog.New(slog.DiscardHandler), Site: func() *site.Site { return st }})
	srv := httptest.NewServer(ws.Handler())
	// One connection per page, as browsers on different machines have.
	tr := &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	ready := make(chan error, n)
	for i := range n {
		wg.Go(func() { f.read(ctx, client, srv.URL, i, ready) })
	}
	tb.Cleanup(func() {
		cancel()
		ws.Close() // ends the streams; srv.Close waits for their handlers
		wg.Wait()
		tr.CloseIdleConnections()
		srv.Close()
	})
	for range n {
		if err := <-ready; err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// read is one page: it signals ready once the stream is open (the server
// subscribes before it answers), then reports every event's latency.
func (f *sseFleet) read(ctx context.Context, c *http.Client, url string, id int, ready chan<- error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer desk"+strconv.Itoa(id))
	req.Header.Set("Accept", "text/event-stream")
	res, err := c.Do(req)
	if err != nil {
		ready <- err
		return
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	if res.StatusCode != http.StatusOK {
		ready <- fmt.Errorf("page %d: stream answered %s", id, res.Status)
		return
	}
	if _, err := br.ReadSlice('\n'); err != nil { // "retry: 3000"
		ready <- err
		return
	}
	ready <- nil
	data := []byte("data: ")
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return
		}
		now := time.Now()
		if !bytes.HasPrefix(line, data) {
			continue
		}
		var ev struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
		}
		if json.Unmarshal(line[len(data):], &ev) != nil {
			continue
		}
		f.lat <- sample{id, ev.Seq, now.Sub(ev.Time)}
	}
}

// round publishes k events at once (a call starting publishes several)
// and returns every page's latency for each of them.
func (f *sseFleet) round(tb testing.TB, k int) []sample {
	tb.Helper()
	for i := range k {
		f.bus.Publish(events.CallState{Call: "bench", State: "ringing", Dest: "queue:" + string(rune('a'+i%26))})
	}
	out := make([]sample, 0, f.n*k)
	timeout := time.After(30 * time.Second)
	for len(out) < f.n*k {
		select {
		case s := <-f.lat:
			out = append(out, s)
		case <-timeout:
			tb.Fatalf("%d of %d deliveries after 30s", len(out), f.n*k)
		}
	}
	return out
}

func quantiles(ss []sample) (median, p99, worst time.Duration) {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = s.d
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[len(ds)*99/100], ds[len(ds)-1]
}

// BenchmarkEventLatency measures the time from an event's Publish on the
// bus to its data line being read by each of 200 pages holding GET
// /api/v1/events open over HTTP on loopback: one event at a time (a
// queue's caller joining), and bursts of 10 (a busy moment). Reported:
// the median, p99 and worst delivery over all pages and events
// (ms-median, ms-p99, ms-max); ns/op is a whole round.
func BenchmarkEventLatency(b *testing.B) {
	for _, k := range []int{1, 10} {
		b.Run(map[int]string{1: "one", 10: "burst10"}[k], func(b *testing.B) {
			f := newFleet(b, pages)
			f.round(b, 1) // warm the connections
			var all []sample
			b.ReportAllocs()
			for b.Loop() {
				all = append(all, f.round(b, k)...)
			}
			med, p99, worst := quantiles(all)
			b.ReportMetric(float64(med.Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(p99.Microseconds())/1000, "ms-p99")
			b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max")
		})
	}
}

// Every one of 200 pages gets every event, in order, without drops; the
// latency is logged (the benchmark measures it; a figure asserted here
// would fail on a busy CI machine rather than on slow code).
func TestEventStreamFanout(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 200 connections")
	}
	f := newFleet(t, pages)
	var all []sample
	for range 5 {
		all = append(all, f.round(t, 3)...)
	}
	last := map[int]uint64{}
	count := map[int]int{}
	for _, s := range all {
		if s.seq <= last[s.client] {
			t.Fatalf("page %d got event %d after %d", s.client, s.seq, last[s.client])
		}
		last[s.client] = s.seq
		count[s.client]++
	}
	for i := range pages {
		if count[i] != 15 {
			t.Errorf("page %d got %d events, want 15", i, count[i])
		}
	}
	med, p99, worst := quantiles(all)
	t.Logf("%d pages: median %v, p99 %v, max %v", pages, med, p99, worst)
}
