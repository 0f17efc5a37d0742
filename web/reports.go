package web

// The managers' pages: /reports (numbers, charts and timelines of the
// agents and queues in the user's scope over a period) and /calls (call
// records with search, export, recordings and the user's voicemail).
// docs/reports.md describes them for users. Every page, export and audio
// file is filtered by the user's scope (scope.go) on the server.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/config"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
	"ringbox/web/picture"
)

// Reports is what the report and call record pages read.
type Reports struct {
	Store  *store.Store
	Config *config.Store
	// RecordingsDir holds call recordings; a recording is served only
	// from under it. "": no recordings are served.
	RecordingsDir string
	// DataDir holds voicemail messages (DataDir/voicemail/BOX/).
	DataDir string
	// Voicemail deletes messages and keeps the phones' message-waiting
	// lights right; nil: messages are listed and played, not deleted.
	Voicemail *voicemail.Service
	Logger    *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// Reports registers the report and call record pages and their files:
//
//	GET  /reports                          manager: the period's report (?from&to dates, format=csv&table=agents|queues|activity)
//	GET  /calls                            agent: call records (?from&to dates, number, extension, queue, agent, outcome, format=csv)
//	GET  /api/v1/calls/{id}/recording      agent: a call's recording, if the call is in scope (?download=1)
//	GET  /api/v1/voicemail/{id}/audio      agent: a message of the user's own mailbox (?download=1)
//	POST /calls/voicemail/{id}/delete      agent: delete a message of the user's own mailbox
func (s *Server) Reports(rp *Reports) {
	if rp.Logger == nil {
		rp.Logger = slog.Default()
	}
	if rp.Now == nil {
		rp.Now = time.Now
	}
	s.HandleSection("reports", auth.Manager, func(w http.ResponseWriter, r *http.Request) { rp.reports(s, w, r) })
	s.HandleSection("calls", auth.Agent, func(w http.ResponseWriter, r *http.Request) { rp.calls(s, w, r) })
	s.HandlePage("POST /calls/voicemail/{id}/delete", auth.Agent, func(w http.ResponseWriter, r *http.Request) { rp.deleteMessage(w, r) })
	s.HandleRoute(Route{Method: "GET", Path: "/api/v1/calls/{id}/recording", Role: auth.Agent, File: true,
		Summary: "A call's recording (WAV), if the call is yours or your team's (?download=1)", Handler: http.HandlerFunc(rp.recording)})
	s.HandleRoute(Route{Method: "GET", Path: "/api/v1/voicemail/{id}/audio", Role: auth.Agent, File: true,
		Summary: "A voicemail message (WAV) of your own mailbox (?download=1)", Handler: http.HandlerFunc(rp.messageAudio)})
}

// snap is the configuration in use and its zone.
func (rp *Reports) snap() (*site.Site, *time.Location) {
	c := rp.Config.Current()
	loc := c.Loc
	if loc == nil {
		loc = time.UTC
	}
	return c.Site, loc
}

// Timeline lines read for the page and for its export: past them the page
// says the list is cut, so nobody takes a part for the whole.
const (
	maxTimelinePage = 5000
	maxTimelineCSV  = 100000
)

// maxReportDays bounds a period: a year of a busy box's queue log is
// more than a page should read at once.
const maxReportDays = 92

// datePeriod reads ?from&to as dates (YYYY-MM-DD) in loc, both days
// included; either defaults to today. It returns [from 00:00, the day
// after to 00:00) and the dates as given.
func datePeriod(r *http.Request, now time.Time, loc *time.Location) (from, to time.Time, fromS, toS string, err error) {
	today := now.In(loc).Format(time.DateOnly)
	fromS, toS = r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if fromS == "" {
		fromS = today
	}
	if toS == "" {
		toS = today
	}
	from, err = time.ParseInLocation(time.DateOnly, fromS, loc)
	if err != nil {
		return from, to, fromS, toS, errors.New("from: want a date like 2026-03-01")
	}
	last, err := time.ParseInLocation(time.DateOnly, toS, loc)
	if err != nil {
		return from, to, fromS, toS, errors.New("to: want a date like 2026-03-01")
	}
	// AddDate keeps the wall clock: the day after is midnight even across
	// a DST change.
	to = last.AddDate(0, 0, 1)
	if !to.After(from) {
		return from, to, fromS, toS, errors.New("to must not be before from")
	}
	if to.Sub(from) > maxReportDays*24*time.Hour+time.Hour {
		return from, to, fromS, toS, fmt.Errorf("a period is at most %d days", maxReportDays)
	}
	return from, to, fromS, toS, nil
}

// agentRow is one agent's line of the report.
type agentRow struct {
	store.AgentTotals
	Name         string
	Talk, Wrapup string // h:mm:ss
	Strip        template.HTML
	Lines        []activityLine
}

// activityLine is one line of an agent's timeline, in words.
type activityLine struct {
	store.Activity
	What string
}

// hms writes d as h:mm:ss, as call centre reports do.
func hms(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d:%02d", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60)
}

type queueRow struct {
	store.QueueTotals
	Name string
}

type reportsBody struct {
	From, To string // the dates as entered
	Error    string
	Agents   []agentRow
	Queues   []queueRow
	Bars     template.HTML
	Loc      *time.Location
	Query    template.URL // the period, for export links (encoded here)
	// Truncated is the number of timeline lines shown when there were
	// more; 0 when all are.
	Truncated int
}

type reportsPage struct {
	pageData
	Body reportsBody
}

func (rp *Reports) reports(s *Server, w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	st, loc := rp.snap()
	sc := ScopeOf(p, st)
	now := rp.Now()
	from, to, fromS, toS, err := datePeriod(r, now, loc)
	page := reportsPage{pageData: pageData{Title: "Reports", Page: "shell", Active: "reports", User: toJSON(p)}}
	page.Body = reportsBody{From: fromS, To: toS, Loc: loc, Query: template.URL(url.Values{"from": {fromS}, "to": {toS}}.Encode())}
	if err != nil {
		page.Body.Error = err.Error()
		rp.render(s, w, http.StatusBadRequest, page)
		return
	}
	ctx := r.Context()
	ids := sc.AgentIDs(st)
	names := map[string]string{}
	for _, a := range st.Agents {
		names[a.ID] = a.Name
	}
	var targets []store.QueueTarget
	qnames := map[string]string{}
	for _, q := range st.Queues {
		if sc.Queue(q.ID) {
			targets = append(targets, store.QueueTarget{Queue: q.ID, Target: q.ServiceTarget()})
			qnames[q.ID] = q.Name
		}
	}
	totals, err := rp.Store.AgentTotals(ctx, ids, from, to, now)
	if err == nil {
		var qt []store.QueueTotals
		qt, err = rp.Store.QueueTotals(ctx, targets, from, to)
		for _, q := range qt {
			page.Body.Queues = append(page.Body.Queues, queueRow{q, qnames[q.Queue]})
		}
	}
	var lines []store.Activity
	var spans []store.Span
	limit := maxTimelinePage
	if r.URL.Query().Get("format") == "csv" {
		limit = maxTimelineCSV
	}
	if err == nil {
		lines, err = rp.Store.AgentTimeline(ctx, ids, from, to, limit+1)
	}
	if len(lines) > limit {
		lines, page.Body.Truncated = lines[:limit], limit
	}
	if err == nil {
		spans, err = rp.Store.AgentSpans(ctx, ids, from, to, now)
	}
	if err != nil {
		rp.Logger.Error("report", "login", p.Login, "err", err)
		http.Error(w, "the report could not be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	switch r.URL.Query().Get("format") {
	case "csv":
		rp.reportCSV(w, r, totals, page.Body.Queues, lines, names, loc)
		return
	case "":
	default:
		page.Body.Error = "format: want csv, or none for the page"
		rp.render(s, w, http.StatusBadRequest, page)
		return
	}
	byAgent := map[string][]activityLine{}
	for _, l := range lines {
		what := ""
		switch l.Kind {
		case "status":
			what = label(l.Status, l.Reason)
		case "state":
			what = label(l.State, "")
		default:
			what = label(l.Kind, "") + " a call"
		}
		byAgent[l.Agent] = append(byAgent[l.Agent], activityLine{l, what})
	}
	spansOf := map[string][]picture.StripSpan{}
	for _, sp := range spans {
		kind := sp.Status
		if sp.Status == "available" && sp.State != "idle" || sp.Status == "unavailable" && sp.State != "idle" && sp.State != "" {
			kind = sp.State // what is happening shows over what was chosen
		}
		title := fmt.Sprintf("%s %s to %s (%s)", label(kind, sp.Reason), sp.From.In(loc).Format("15:04:05"), sp.To.In(loc).Format("15:04:05"),
			sp.To.Sub(sp.From).Round(time.Second))
		spansOf[sp.Agent] = append(spansOf[sp.Agent], picture.StripSpan{From: sp.From, To: sp.To, Kind: kind, Title: title})
	}
	var bars []picture.AgentCount
	for _, t := range totals {
		name := names[t.Agent]
		if name == "" {
			name = t.Agent
		}
		page.Body.Agents = append(page.Body.Agents, agentRow{AgentTotals: t, Name: name, Talk: hms(t.Talk), Wrapup: hms(t.Wrapup),
			Strip: picture.ActivityStrip(name, from, to, loc, spansOf[t.Agent]), Lines: byAgent[t.Agent]})
		bars = append(bars, picture.AgentCount{Label: name, Answered: t.Answered, Missed: t.Missed, Declined: t.Declined})
	}
	if len(bars) > 0 {
		page.Body.Bars = picture.AgentBars(bars)
	}
	rp.render(s, w, http.StatusOK, page)
}

// label says a status or state in words.
func label(kind, reason string) string {
	l := map[string]string{"available": "Available", "unavailable": "Unavailable", "logged_out": "Logged out",
		"offered": "Offered a call", "on_call": "On a call", "wrapup": "Wrap-up", "idle": "Idle",
		"answered": "Answered", "missed": "Missed", "declined": "Declined"}[kind]
	if l == "" {
		l = kind
	}
	if reason != "" {
		l += " (" + reason + ")"
	}
	return l
}

// render draws a report page; page embeds pageData, filled here.
func (rp *Reports) render(s *Server, w http.ResponseWriter, status int, page any) {
	name := "reports"
	switch p := page.(type) {
	case reportsPage:
		p.pageData = s.filled(p.pageData)
		page = p
	case callsPage:
		p.pageData = s.filled(p.pageData)
		page, name = p, "calls"
	}
	s.execute(w, status, name, page)
}

// reportCSV answers one table of the report as a spreadsheet.
func (rp *Reports) reportCSV(w http.ResponseWriter, r *http.Request, totals []store.AgentTotals, queues []queueRow,
	lines []store.Activity, names map[string]string, loc *time.Location) {
	table := r.URL.Query().Get("table")
	var rows [][]string
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
	itoa := strconv.Itoa
	switch table {
	case "agents":
		rows = append(rows, []string{"agent", "name", "offered", "answered", "declined", "missed", "talk_seconds", "wrapup_seconds"})
		for _, t := range totals {
			rows = append(rows, []string{t.Agent, csvSafe(names[t.Agent]), itoa(t.Offered), itoa(t.Answered), itoa(t.Declined), itoa(t.Missed), secs(t.Talk), secs(t.Wrapup)})
		}
	case "queues":
		rows = append(rows, []string{"queue", "name", "offered", "answered", "abandoned", "answered_within_target", "target_seconds", "service_level_percent",
			"answered_by_skill", "answered_after_widening"})
		for _, q := range queues {
			rows = append(rows, []string{q.Queue, csvSafe(q.Name), itoa(q.Offered), itoa(q.Answered), itoa(q.Abandoned), itoa(q.InService),
				secs(q.Target), strconv.FormatFloat(q.ServiceLevel(), 'f', 1, 64), itoa(q.BySkill), itoa(q.Widened)})
		}
	case "activity":
		rows = append(rows, []string{"time", "agent", "event", "status", "state", "reason", "source", "queue", "call_id"})
		for _, l := range lines {
			rows = append(rows, []string{l.Time.In(loc).Format("2006-01-02 15:04:05"), l.Agent, l.Kind, l.Status, l.State,
				csvSafe(l.Reason), l.Source, l.Queue, l.CallID})
		}
	default:
		http.Error(w, "table: want agents, queues or activity", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report-`+table+`.csv"`)
	cw := csv.NewWriter(w)
	cw.WriteAll(rows)
}
