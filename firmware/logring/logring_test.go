package logring_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"ringbox/firmware/logring"
)

func messages(recs []logring.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Message)
	}
	return out
}

func TestRingKeepsNewestByCount(t *testing.T) {
	g := logring.New(3, 1<<20, slog.LevelDebug)
	log := slog.New(g.Handler(slog.DiscardHandler))
	for i := range 5 {
		log.Info(fmt.Sprint("m", i))
	}
	if got := strings.Join(messages(g.Last(10, slog.LevelDebug)), ","); got != "m2,m3,m4" {
		t.Errorf("Last = %s, want the 3 newest oldest first: m2,m3,m4", got)
	}
	if got := strings.Join(messages(g.Last(2, slog.LevelDebug)), ","); got != "m3,m4" {
		t.Errorf("Last(2) = %s, want m3,m4", got)
	}
	if n, _ := g.Len(); n != 3 {
		t.Errorf("Len = %d records, want 3", n)
	}
}

func TestRingBoundedByBytes(t *testing.T) {
	const budget = 64 << 10
	g := logring.New(1_000_000, budget, slog.LevelDebug)
	log := slog.New(g.Handler(slog.DiscardHandler))
	long := strings.Repeat("x", 1000)
	for i := range 10_000 {
		log.Warn("long", "i", i, "payload", long)
	}
	n, b := g.Len()
	if b > budget {
		t.Errorf("ring holds %d bytes, over its %d budget", b, budget)
	}
	if n < 40 || n > 70 {
		t.Errorf("ring holds %d records of ~1.1 kB in a 64 kB budget", n)
	}
	last := g.Last(1, slog.LevelDebug)
	if len(last) != 1 || !strings.HasPrefix(last[0].Attrs, "i=9999 ") {
		t.Errorf("newest record %+v, want i=9999", last)
	}
	// One record larger than the per-record cap is cut, not dropped.
	log.Error(strings.Repeat("é", 10_000), "big", strings.Repeat("y", 10_000))
	r := g.Last(1, slog.LevelError)[0]
	if len(r.Message)+len(r.Attrs) > logring.MaxText+2*len("…") || !strings.HasSuffix(r.Message, "…") {
		t.Errorf("huge record kept as %d+%d bytes, want cut to %d with …", len(r.Message), len(r.Attrs), logring.MaxText)
	}
}

func TestRingLevelFilter(t *testing.T) {
	g := logring.New(100, 1<<20, slog.LevelInfo)
	log := slog.New(g.Handler(slog.DiscardHandler))
	log.Debug("d") // below the ring's level: not kept
	log.Info("i")
	log.Warn("w")
	log.Error("e")
	log.Info("i2")
	for _, tt := range []struct {
		min  slog.Level
		want string
	}{
		{slog.LevelDebug, "i,w,e,i2"},
		{slog.LevelInfo, "i,w,e,i2"},
		{slog.LevelWarn, "w,e"},
		{slog.LevelError, "e"},
	} {
		if got := strings.Join(messages(g.Last(10, tt.min)), ","); got != tt.want {
			t.Errorf("Last(10, %v) = %s, want %s", tt.min, got, tt.want)
		}
	}
	// The limit counts matching records, not all.
	if got := strings.Join(messages(g.Last(1, slog.LevelWarn)), ","); got != "e" {
		t.Errorf("Last(1, warn) = %s, want e", got)
	}
}

func TestHandlerTeesAndFormats(t *testing.T) {
	var out bytes.Buffer
	next := slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn})
	g := logring.New(10, 1<<20, slog.LevelInfo)
	log := slog.New(g.Handler(next)).With("pkg", "web").WithGroup("req")
	log.Info("kept in the ring only", "path", "/a b", "n", 3)
	log.Warn("both", slog.Group("user", "login", "root"))
	if strings.Contains(out.String(), "kept in the ring only") {
		t.Errorf("the next handler got an info record below its level:\n%s", out.String())
	}
	if !strings.Contains(out.String(), `msg=both pkg=web req.user.login=root`) {
		t.Errorf("the next handler's output lost the record or its attributes:\n%s", out.String())
	}
	recs := g.Last(10, slog.LevelDebug)
	if len(recs) != 2 {
		t.Fatalf("ring holds %d records, want 2", len(recs))
	}
	if recs[0].Attrs != `pkg=web req.path="/a b" req.n=3` {
		t.Errorf("attrs %q", recs[0].Attrs)
	}
	if recs[1].Attrs != `pkg=web req.user.login=root` || recs[1].Level != slog.LevelWarn {
		t.Errorf("record %+v", recs[1])
	}
}

func TestRingConcurrent(t *testing.T) {
	g := logring.New(50, 8<<10, slog.LevelDebug)
	log := slog.New(g.Handler(slog.DiscardHandler))
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 500 {
				log.Info("m", "w", w, "i", i)
				if i%50 == 0 {
					g.Last(20, slog.LevelInfo)
				}
			}
		})
	}
	wg.Wait()
	n, b := g.Len()
	if n > 50 || b > 8<<10+logring.MaxText+64 {
		t.Errorf("after concurrent writes: %d records, %d bytes", n, b)
	}
}

func BenchmarkHandle(b *testing.B) {
	g := logring.New(2000, 1<<20, slog.LevelInfo)
	log := slog.New(g.Handler(slog.DiscardHandler)).With("pkg", "sip")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		log.Info("registered", "ext", "101", "contact", "sip:101@192.0.2.10:5060", "expires", 3600, "i", i)
	}
}

func BenchmarkHandleParallel(b *testing.B) {
	g := logring.New(2000, 1<<20, slog.LevelInfo)
	log := slog.New(g.Handler(slog.DiscardHandler)).With("pkg", "sip")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			log.Info("registered", "ext", "101", "contact", "sip:101@192.0.2.10:5060", "expires", 3600)
		}
	})
}
