package main

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ringbox/board"
	"ringbox/board/sim"
	"ringbox/firmware/auth"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/sip"
	"ringbox/firmware/store"
	"ringbox/web"
)

// apiHandlers are the REST routes of the subsystems wired here.
type apiHandlers struct {
	store *store.Store
	sip   *sip.Server
	cfg   *config.Store
	bus   *events.Bus
	board *sim.Board
}

func (a *apiHandlers) register(ws *web.Server) {
	ws.Handle("GET /api/v1/registrations", auth.Manager, http.HandlerFunc(a.registrations))
	ws.Handle("GET /api/v1/trunks", auth.Manager, http.HandlerFunc(a.trunks))
	ws.Handle("GET /api/v1/cdr", auth.Manager, http.HandlerFunc(a.cdr))
	ws.Handle("GET /api/v1/extensions", auth.Agent, http.HandlerFunc(a.extensions))
	ws.Handle("GET /api/v1/config", auth.Admin, http.HandlerFunc(a.config))
	ws.Handle("GET /api/v1/board", auth.Agent, http.HandlerFunc(a.boardState))
	ws.Handle("POST /api/v1/board/buttons/{n}/press", auth.Admin, http.HandlerFunc(a.press))
}

func (a *apiHandlers) registrations(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, a.sip.Registrations())
}

func (a *apiHandlers) trunks(w http.ResponseWriter, r *http.Request) {
	web.WriteJSON(w, http.StatusOK, a.sip.TrunkStates())
}

func (a *apiHandlers) extensions(w http.ResponseWriter, r *http.Request) {
	type ext struct {
		Number     string `json:"number"`
		Name       string `json:"name"`
		Voicemail  bool   `json:"voicemail"`
		Permission string `json:"permission"`
		Registered int    `json:"registered_contacts"`
	}
	regs := map[string]int{}
	for _, reg := range a.sip.Registrations() {
		regs[reg.Extension]++
	}
	var out []ext
	for _, x := range a.cfg.Site().Extensions {
		p := x.Permission
		if p == "" {
			p = "national"
		}
		out = append(out, ext{x.Number, x.Name, x.Voicemail, p, regs[x.Number]})
	}
	web.WriteJSON(w, http.StatusOK, out)
}

func (a *apiHandlers) config(w http.ResponseWriter, r *http.Request) {
	snap := a.cfg.Current()
	web.WriteJSON(w, http.StatusOK, map[string]any{"version": snap.Version, "loaded": snap.Loaded})
}

// cdr lists call records, newest first. Query: from, to (RFC 3339),
// number, cause, limit, offset, format=csv.
func (a *apiHandlers) cdr(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f store.CDRFilter
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				web.WriteError(w, http.StatusBadRequest, p.name+": want an RFC 3339 time like 2026-11-21T09:00:00Z")
				return
			}
			*p.dst = t
		}
	}
	f.Number, f.Cause = q.Get("number"), q.Get("cause")
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				web.WriteError(w, http.StatusBadRequest, p.name+": want a non-negative number")
				return
			}
			*p.dst = n
		}
	}
	if f.Limit == 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	recs, err := a.store.ListCDR(r.Context(), f)
	if err != nil {
		web.WriteError(w, http.StatusInternalServerError, "list cdr: "+err.Error())
		return
	}
	if q.Get("format") != "csv" {
		web.WriteJSON(w, http.StatusOK, recs)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cdr.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"call_id", "start", "answer", "end", "direction", "caller", "caller_name", "callee", "trunk", "path", "legs", "billable_seconds", "cause", "hangup_by"})
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, c := range recs {
		var legs []string
		for _, l := range c.Legs {
			legs = append(legs, l.Target+"="+l.Cause)
		}
		cw.Write([]string{c.CallID, ts(c.Start), ts(c.Answer), ts(c.End), c.Direction, csvSafe(c.Caller), csvSafe(c.CallerName), csvSafe(c.Callee), c.Trunk,
			strings.Join(c.Path, " > "), strings.Join(legs, " "), strconv.Itoa(int(c.Billable.Seconds())), c.Cause, c.HangupBy})
	}
	cw.Flush()
}

// csvSafe defuses caller-controlled text that a spreadsheet would run as a
// formula (caller-ID names come from strangers).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func (a *apiHandlers) boardState(w http.ResponseWriter, r *http.Request) {
	type btn struct {
		N     int    `json:"n"`
		Label string `json:"label"`
		LED   string `json:"led"`
	}
	var out []btn
	for _, b := range a.board.Buttons() {
		out = append(out, btn{b.N, b.Label, a.board.LED(b.N).Get().String()})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"board": a.board.Name(), "buttons": out})
}

func (a *apiHandlers) press(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		web.WriteError(w, http.StatusBadRequest, "button: want a number")
		return
	}
	kind := board.Short
	if r.URL.Query().Get("long") == "1" {
		kind = board.Long
	}
	if err := a.board.Press(n, kind); err != nil {
		web.WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	a.bus.Publish(events.BoardButton{Button: n, Long: kind == board.Long})
	w.WriteHeader(http.StatusNoContent)
}
