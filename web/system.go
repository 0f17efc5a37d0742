package web

import (
	"encoding/csv"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ringbox/board"
	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/sip"
	"ringbox/firmware/store"
)

// System is what the box-wide routes read: phones and trunks (the SIP
// edge), call records (the store), the configuration and the board.
type System struct {
	Store  *store.Store
	SIP    *sip.Server
	Config *config.Store
	Bus    *events.Bus
	Board  board.Board
}

// SystemRoutes are the routes of registrations, trunks, call records,
// extensions, the configuration version and the board.
func SystemRoutes(sys System) []Route {
	a := &sys
	return []Route{
		{Method: "GET", Path: "/api/v1/registrations", Role: auth.Manager, Summary: "Registered phones: extension, contact, source, user agent, expiry", Handler: http.HandlerFunc(a.registrations)},
		{Method: "GET", Path: "/api/v1/trunks", Role: auth.Manager, Summary: "Trunks and their registration state", Handler: http.HandlerFunc(a.trunks)},
		{Method: "GET", Path: "/api/v1/cdr", Role: auth.Agent, Section: "calls", Summary: "Call records, newest first (yours and your team's; ?from&to RFC 3339, number, cause, call, agent, extension, queue, outcome, limit, offset, format=csv)", Handler: http.HandlerFunc(a.cdr)},
		{Method: "GET", Path: "/api/v1/extensions", Role: auth.Agent, Section: "extensions", Summary: "Extensions with their registered contacts", Handler: http.HandlerFunc(a.extensions)},
		{Method: "GET", Path: "/api/v1/config", Role: auth.Admin, Section: "settings", Summary: "The configuration version in use", Handler: http.HandlerFunc(a.config)},
		{Method: "GET", Path: "/api/v1/board", Role: auth.Agent, Summary: "The box's buttons and their LEDs", Handler: http.HandlerFunc(a.boardState)},
		{Method: "POST", Path: "/api/v1/board/buttons/{n}/press", Role: auth.Admin, Summary: "Press a button of the simulated board (?long=1)", Handler: http.HandlerFunc(a.press)},
	}
}

func (a *System) registrations(w http.ResponseWriter, r *http.Request) {
	writeList(w, a.SIP.Registrations())
}

func (a *System) trunks(w http.ResponseWriter, r *http.Request) {
	writeList(w, a.SIP.TrunkStates())
}

func (a *System) extensions(w http.ResponseWriter, r *http.Request) {
	type ext struct {
		Number     string `json:"number"`
		Name       string `json:"name"`
		Voicemail  bool   `json:"voicemail"`
		Permission string `json:"permission"`
		Registered int    `json:"registered_contacts"`
	}
	regs := map[string]int{}
	for _, reg := range a.SIP.Registrations() {
		regs[reg.Extension]++
	}
	out := []ext{}
	for _, x := range a.Config.Site().Extensions {
		p := x.Permission
		if p == "" {
			p = "national"
		}
		out = append(out, ext{x.Number, x.Name, x.Voicemail, p, regs[x.Number]})
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *System) config(w http.ResponseWriter, r *http.Request) {
	snap := a.Config.Current()
	WriteJSON(w, http.StatusOK, map[string]any{"version": snap.Version, "loaded": snap.Loaded})
}

// cdr lists call records in the caller's scope, newest first. Query:
// from, to (RFC 3339), number, cause, call, agent, extension, queue,
// outcome, limit, offset, format=csv.
func (a *System) cdr(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := apiCDRFilter(q)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	// Everyone sees the calls of their scope only (scope.go).
	p, _ := PrincipalFrom(r.Context())
	f.Scope = ScopeOf(p, a.Config.Site()).CDR()
	recs, err := a.Store.ListCDR(r.Context(), f)
	if errors.Is(err, store.ErrBadFilter) {
		WriteError(w, http.StatusBadRequest, "outcome: want answered, unanswered or voicemail")
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "list call records: "+err.Error())
		return
	}
	if q.Get("format") != "csv" {
		writeList(w, recs)
		return
	}
	writeCDRCSV(w, recs)
}

// writeCDRCSV answers recs as a spreadsheet (the API's and the call
// records page's export).
func writeCDRCSV(w http.ResponseWriter, recs []cdr.Record) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cdr.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"call_id", "start", "answer", "end", "direction", "caller", "caller_name", "callee", "trunk", "path", "legs", "billable_seconds", "cause", "hangup_by",
		"number_sent", "agent", "answered_by", "recording"})
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
			strings.Join(c.Path, " > "), strings.Join(legs, " "), strconv.Itoa(int(c.Billable.Seconds())), c.Cause, c.HangupBy,
			csvSafe(c.NumberSent), c.Agent, c.AnsweredBy, c.Recording})
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

func (a *System) boardState(w http.ResponseWriter, r *http.Request) {
	type btn struct {
		N     int    `json:"n"`
		Label string `json:"label"`
		LED   string `json:"led"`
	}
	out := []btn{}
	for _, b := range a.Board.Buttons() {
		out = append(out, btn{b.N, b.Label, a.Board.LED(b.N).Get().String()})
	}
	WriteJSON(w, http.StatusOK, map[string]any{"board": a.Board.Name(), "buttons": out})
}

func (a *System) press(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		WriteError(w, http.StatusBadRequest, "button: want a number")
		return
	}
	kind := board.Short
	if r.URL.Query().Get("long") == "1" {
		kind = board.Long
	}
	sim, ok := a.Board.(interface{ Press(int, board.Press) error })
	if !ok {
		WriteError(w, http.StatusConflict, "this board's buttons are real: press them on the box")
		return
	}
	if err := sim.Press(n, kind); err != nil {
		WriteError(w, http.StatusNotFound, err.Error())
		return
	}
	a.Bus.Publish(events.BoardButton{Button: n, Long: kind == board.Long})
	w.WriteHeader(http.StatusNoContent)
}
