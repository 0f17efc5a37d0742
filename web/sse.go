package web

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ringbox/firmware/auth"
)

const (
	// sseBuffer is each stream's bus buffer; a client slower than this
	// loses events rather than slowing the bus.
	sseBuffer = 256
	// sseHeartbeat keeps idle streams open through proxies and lets the
	// server notice clients that went away.
	sseHeartbeat = 15 * time.Second
	// sseWriteTimeout bounds one write to a stuck client.
	sseWriteTimeout = 30 * time.Second
)

// events streams bus events as Server-Sent Events:
//
//	id: SEQ
//	event: TYPE
//	data: {"seq":…,"time":…,"type":…,"data":…}
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	release, ok := s.openStream(w, p)
	if !ok {
		return
	}
	defer release()
	// Each user sees only the people, calls and queues of their scope
	// (scope_events.go).
	filter := newStreamFilter(p, s.cfg.Site)
	// Subscribe before the headers go out, so a client that has seen the
	// response cannot miss an event published after that.
	sub := s.cfg.Bus.Subscribe(sseBuffer, filter.match())
	defer sub.Close()

	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriter(w)
	send := func() bool {
		// Deadlines are per write: a server-wide WriteTimeout would
		// otherwise cut every stream. Not every writer supports them.
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if err := bw.Flush(); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	bw.WriteString("retry: 3000\n\n")
	if !send() {
		return
	}

	tick := time.NewTicker(sseHeartbeat)
	defer tick.Stop()
	var dropped uint64
	for {
		select {
		case ev, ok := <-sub.C():
			if !ok {
				return
			}
			ev, ok = filter.view(ev)
			if !ok || p.Role == auth.Agent && offerForOther(ev, p.Agent) {
				continue
			}
			b, err := json.Marshal(ev)
			if err != nil {
				s.log.Error("encode event", "type", ev.Type, "err", err)
				continue
			}
			if d := sub.Dropped(); d != dropped {
				bw.WriteString(": dropped " + strconv.FormatUint(d-dropped, 10) + " events\n")
				dropped = d
			}
			bw.WriteString("id: " + strconv.FormatUint(ev.Seq, 10) + "\n")
			bw.WriteString("event: " + sseField(ev.Type) + "\n")
			bw.WriteString("data: ")
			bw.Write(b) // JSON never holds a raw newline
			bw.WriteString("\n\n")
			if !send() {
				return
			}
		case <-tick.C:
			bw.WriteString(": ping\n\n")
			if !send() {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		}
	}
}

// sseField keeps an event type on one line.
func sseField(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
