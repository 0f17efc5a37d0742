package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"ringbox/web"
)

// One login may hold DefaultMaxStreams live streams; the next is refused
// 429 with a reason, and logged once however often it is tried. Other
// logins are not affected, and a closed stream frees its slot.
func TestEventStreamCap(t *testing.T) {
	e := newFullEnv(t)
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	var open []io.Closer
	defer func() {
		for _, b := range open {
			b.Close()
		}
	}()
	for range web.DefaultMaxStreams {
		_, body := stream(t, ts, "Authorization", "Bearer t-al")
		open = append(open, body)
	}
	get := func(path, tok string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", ts.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Origin", ts.URL)
		res, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 5 {
		res := get("/api/v1/events", "t-al")
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), "too many live streams open for al: at most 8") ||
			res.Header.Get("Retry-After") == "" {
			t.Fatalf("stream %d of al = %d %s (Retry-After %q), want 429 naming the limit", web.DefaultMaxStreams+1, res.StatusCode, b, res.Header.Get("Retry-After"))
		}
	}
	// The agent page's phone socket counts among the same streams.
	if res := get("/api/v1/agent/ws", "t-al"); res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("al's phone socket with %d streams open = %d, want 429", web.DefaultMaxStreams, res.StatusCode)
	}
	if n := strings.Count(e.logs.String(), "too many event streams"); n != 1 {
		t.Errorf("refused streams logged %d times, want once a minute:\n%s", n, e.logs)
	}
	_, body := stream(t, ts, "Authorization", "Bearer t-mona")
	body.Close()

	// Closing one of al's streams frees its slot once the server has
	// seen the client go.
	open[0].Close()
	open = open[1:]
	for {
		res := get("/api/v1/events", "t-al")
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			break
		}
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("after closing a stream: %d", res.StatusCode)
		}
		if t.Context().Err() != nil {
			t.Fatal("the closed stream's slot never came back")
		}
	}
}
