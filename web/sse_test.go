package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"ringbox/firmware/events"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// stream opens /api/v1/events on a live server and returns a reader of its
// SSE blocks, once the server has subscribed.
func stream(t *testing.T, ts *httptest.Server, hdr ...string) (next func() map[string]string, body io.Closer) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+"/api/v1/events", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events = %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(res.Body)
	next = func() map[string]string {
		t.Helper()
		block := map[string]string{}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				block["EOF"] = err.Error()
				return block
			}
			line = strings.TrimRight(line, "\n")
			if line == "" {
				return block
			}
			k, v, _ := strings.Cut(line, ":")
			block[k] += strings.TrimPrefix(v, " ")
		}
	}
	if b := next(); b["retry"] == "" {
		t.Fatalf("first block = %v, want the retry hint", b)
	}
	return next, res.Body
}

func TestEventsStream(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	cookie := e.login("mona", managerPW)
	next, body := stream(t, ts, "Cookie", cookie)
	defer body.Close()

	ev := e.bus.Publish(events.QueueCaller{Queue: "service", Call: "c1", Event: "joined", Position: 3})
	b := next()
	if b["event"] != "queue.caller" || b["id"] != strconv.FormatUint(ev.Seq, 10) {
		t.Fatalf("block = %v, want id %d, event queue.caller", b, ev.Seq)
	}
	var got struct {
		Seq  uint64          `json:"seq"`
		Type string          `json:"type"`
		Time time.Time       `json:"time"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(b["data"]), &got); err != nil {
		t.Fatalf("data %q: %v", b["data"], err)
	}
	if got.Seq != ev.Seq || got.Type != ev.Type || !got.Time.Equal(ev.Time) || string(got.Data) != `{"queue":"service","call":"c1","event":"joined","position":3}` {
		t.Errorf("data = %+v %s, want the published event", got, got.Data)
	}

	// Who logs in to the web page is for admins: a manager's stream
	// skips al's login and shows the next team event.
	e.login("al", agentPW)
	e.bus.Publish(events.AgentStatus{Agent: "a1", Status: "available"})
	if b := next(); b["event"] != "agent.status" {
		t.Errorf("block = %v, want a1's agent.status (not al's user.login)", b)
	}
	adm, body2 := stream(t, ts, "Authorization", "Bearer "+adminTok)
	defer body2.Close()
	e.login("al", agentPW)
	if b := adm(); b["event"] != "user.login" || !strings.Contains(b["data"], `"login":"al"`) {
		t.Errorf("admin's block = %v, want al's user.login", b)
	}
}

func TestEventsAgentFilter(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	next, body := stream(t, ts, "Authorization", "Bearer "+agentTok)
	defer body.Close()
	for _, p := range []events.Payload{events.UserLogin{}, events.ConfigChanged{}, events.BoardButton{}, events.AgentState{Agent: "a1"},
		events.QueueCaller{Queue: "service"}, events.CallStarted{From: "101"}} {
		e.bus.Publish(p)
	}
	var seen []string
	for range 3 {
		seen = append(seen, next()["event"])
	}
	if got := strings.Join(seen, " "); got != "agent.state queue.caller call.started" {
		t.Errorf("agent saw %s, want only agent.*, queue.*, call.*", got)
	}
}

func TestEventsEndOnClose(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	next, body := stream(t, ts, "Authorization", "Bearer "+adminTok)
	defer body.Close()
	done := make(chan map[string]string, 1)
	go func() { done <- next() }()
	e.srv.Close()
	select {
	case b := <-done:
		if b["EOF"] == "" {
			t.Errorf("after Close read %v, want the end of the stream", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream still open 5 s after Close")
	}
}

func TestEventsClientGoneUnsubscribes(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	_, body := stream(t, ts, "Authorization", "Bearer "+adminTok)
	probe := e.bus.Subscribe(1, nil)
	defer probe.Close()
	body.Close()
	// Once the handler notices, its subscription is gone and a publish
	// reaches only the probe; a leaked subscription would keep counting drops.
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := e.bus.Dropped()
		for range 300 {
			e.bus.Publish(events.CallDTMF{})
		}
		<-probe.C()
		dropped := e.bus.Dropped() - before
		// The probe drops 299 (buffer 1); a live 256-buffer stream would add more.
		if dropped == 299 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream subscription still alive after the client left (%d drops per round)", dropped)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncWriter is a ResponseWriter whose body may be read while a handler
// writes it.
type syncWriter struct {
	mu   sync.Mutex
	h    http.Header
	body strings.Builder
}

func (w *syncWriter) Header() http.Header { return w.h }
func (w *syncWriter) WriteHeader(int)     {}
func (w *syncWriter) Flush()              {}
func (w *syncWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(b)
}
func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String()
}

func TestEventsHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		ctx, cancel := context.WithCancel(t.Context())
		r := httptest.NewRequestWithContext(ctx, "GET", "/api/v1/events", nil)
		r.Header.Set("Authorization", "Bearer "+adminTok)
		w := &syncWriter{h: http.Header{}}
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.h.ServeHTTP(w, r)
		}()
		synctest.Wait()
		if got := w.String(); got != "retry: 3000\n\n" {
			t.Fatalf("stream start = %q, want only the retry hint", got)
		}
		time.Sleep(15*time.Second - time.Nanosecond)
		synctest.Wait()
		if strings.Contains(w.String(), "ping") {
			t.Fatal("heartbeat before 15 s")
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if n := strings.Count(w.String(), ": ping\n\n"); n != 2 {
			t.Errorf("after 45 s: %d heartbeats, want 2:\n%s", n, w.String())
		}
		cancel()
		<-done // the handler returns once the client has gone
	})
}
