package web

import (
	"encoding/csv"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/config"
	"ringbox/firmware/events"
	"ringbox/firmware/sip"
	"ringbox/firmware/store"
)

// System is what the box-wide routes read: phones and trunks (the SIP
// edge), call records (the store) and the configuration. The board's
// routes are in board.go.
type System struct {
	Store  *store.Store
	SIP    *sip.Server
	Config *config.Store
	Bus    *events.Bus
}

// SystemRoutes are the routes of registrations, trunks, call records,
// extensions and the configuration version.
func SystemRoutes(sys System) []Route {
	a := &sys
	return []Route{
		{Method: "GET", Path: "/api/v1/registrations", Role: auth.Manager, Summary: "Registered phones: extension, contact, source, user agent, expiry", Handler: http.HandlerFunc(a.registrations)},
		{Method: "GET", Path: "/api/v1/trunks", Role: auth.Manager, Summary: "Trunks and their registration state", Handler: http.HandlerFunc(a.trunks)},
		{Method: "GET", Path: "/api/v1/cdr", Role: auth.Agent, Section: "calls", Summary: "Call records, newest first (yours and your team's; ?from&to RFC 3339, number, cause, call, agent, extension, queue, outcome, limit, offset, format=csv)", Handler: http.HandlerFunc(a.cdr)},
		{Method: "GET", Path: "/api/v1/extensions", Role: auth.Agent, Section: "extensions", Summary: "Extensions with their registered contacts", Handler: http.HandlerFunc(a.extensions)},
		{Method: "GET", Path: "/api/v1/config", Role: auth.Admin, Section: "settings", Summary: "The configuration version in use", Handler: http.HandlerFunc(a.config)},
	}
}

// registrations lists the registered phones: their addresses and user
// agents are the box's network map, so a manager sees their team's
// extensions only.
func (a *System) registrations(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	sc := ScopeOf(p, a.Config.Site())
	regs := a.SIP.Registrations()
	if !sc.All {
		regs = slices.DeleteFunc(regs, func(reg sip.Registration) bool { return !sc.Extension(reg.Extension) })
	}
	writeList(w, regs)
}

func (a *System) trunks(w http.ResponseWriter, r *http.Request) {
	writeList(w, a.SIP.TrunkStates())
}

// extensions is the phone directory: every user sees every extension's
// number and name, as on an office's printed list; whether it has a
// mailbox, its calling class and how many phones are registered on it
// are shown for the extensions in the user's scope only (docs/reports.md,
// "The scope rule"). Secrets, devices and addresses are never here.
func (a *System) extensions(w http.ResponseWriter, r *http.Request) {
	type ext struct {
		Number     string `json:"number"`
		Name       string `json:"name"`
		Voicemail  *bool  `json:"voicemail,omitempty"`
		Permission string `json:"permission,omitempty"`
		Registered *int   `json:"registered_contacts,omitempty"`
	}
	p, _ := PrincipalFrom(r.Context())
	st := a.Config.Site()
	sc := ScopeOf(p, st)
	regs := map[string]int{}
	for _, reg := range a.SIP.Registrations() {
		regs[reg.Extension]++
	}
	out := []ext{}
	for _, x := range st.Extensions {
		e := ext{Number: x.Number, Name: x.Name}
		if sc.Extension(x.Number) {
			perm := x.Permission
			if perm == "" {
				perm = "national"
			}
			vm, n := x.Voicemail, regs[x.Number]
			e.Voicemail, e.Permission, e.Registered = &vm, perm, &n
		}
		out = append(out, e)
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
