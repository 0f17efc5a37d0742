package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"ringbox/firmware/acd"
	"ringbox/firmware/auth"
	"ringbox/firmware/events"
	"ringbox/firmware/ring"
	"ringbox/firmware/store"
)

// AgentDesk is what the agent's page (/agent) and its API need: the ACD
// for status, queues and wrap-up, the ringing engine's live offers for the
// incoming-call pop-up and decline, the store for notes and a caller's
// history, and the browser phone hub for the page's WebSocket.
//
// Routes:
//
//	GET  /agent                                      the agent's page
//	GET  /api/v1/agents/{id}/offers                  calls ringing for the agent now
//	POST /api/v1/agents/{id}/offers/{call}/decline   stop ringing the agent for call (as pressing 2)
//	POST /api/v1/agents/{id}/queues/{queue}/login    log in to one queue, by id or number (…/logout: out of it)
//	GET  /api/v1/agents/{id}/today                   today's answered, missed, declined, talk time
//	POST /api/v1/agents/{id}/callback                "call me back" {"number":"..."} (callback.go)
//	POST /api/v1/calls/{id}/notes                    a note on a call {"text":"..."}
//	GET  /api/v1/callers/{number}/history            a caller's last calls with notes
//	GET  /api/v1/agent/ws                            the browser phone's signalling (WebSocket)
type AgentDesk struct {
	ACD    *acd.Engine
	Offers *ring.Offers
	Store  DeskStore
	// Phones is the browser phone hub; nil: the page's phone is off and
	// the WebSocket answers 503.
	Phones PhoneHub
	Logger *slog.Logger // nil: the server's
	// Callback places "call me back" calls (callback.go); nil: 503.
	Callback Callbacker
}

// DeskStore is the part of *store.Store the agent page uses.
type DeskStore interface {
	InsertNote(ctx context.Context, n store.Note) (store.Note, error)
	CallerHistory(ctx context.Context, number string, limit int) ([]store.CallerCall, error)
	AnsweredFrom(ctx context.Context, agent, number, callID string) (bool, error)
	CallCaller(ctx context.Context, callID string) (string, bool, error)
}

// desk serves the agent page's routes.
type desk struct {
	d   *AgentDesk
	s   *Server
	log *slog.Logger
}

// AgentDesk registers the agent's page and its API.
func (s *Server) AgentDesk(d *AgentDesk) {
	h := &desk{d: d, s: s, log: s.log}
	if d.Logger != nil {
		h.log = d.Logger.With("pkg", "web")
	}
	for _, r := range []Route{
		{Method: "GET", Path: "/api/v1/agents/{id}/offers", Role: auth.Agent, Section: "agents", Summary: "Calls ringing for the agent now (the agent page's pop-up)", Handler: http.HandlerFunc(h.offers)},
		{Method: "POST", Path: "/api/v1/agents/{id}/offers/{call}/decline", Role: auth.Agent, Summary: "Decline a call ringing for the agent: their phones stop at once and the call moves on, counted as declined", Handler: http.HandlerFunc(h.decline)},
		{Method: "POST", Path: "/api/v1/agents/{id}/queues/{queue}/login", Role: auth.Agent, Summary: "Log in to one queue alone (a logged-out agent is logged in to it only)", Handler: h.queueCmd(true)},
		{Method: "POST", Path: "/api/v1/agents/{id}/queues/{queue}/logout", Role: auth.Agent, Summary: "Log out of one queue alone (out of the last one: logged out)", Handler: h.queueCmd(false)},
		{Method: "GET", Path: "/api/v1/agents/{id}/today", Role: auth.Agent, Section: "agents", Summary: "The agent's queue calls today (site time): answered, missed, declined, talk time", Handler: http.HandlerFunc(h.today)},
		{Method: "POST", Path: "/api/v1/calls/{id}/notes", Role: auth.Agent, Summary: `Write a note on a call offered to or answered by you: {"text":"..."} (at most 2000 characters)`, Handler: http.HandlerFunc(h.addNote)},
		{Method: "GET", Path: "/api/v1/callers/{number}/history", Role: auth.Agent, Section: "calls", Summary: "A caller's last 20 calls with notes, newest first (agents: callers offered to or answered by them)", Handler: http.HandlerFunc(h.history)},
		{Method: "GET", Path: "/api/v1/agent/ws", Role: auth.Agent, Summary: "The agent page's browser phone: a WebSocket of JSON signals (same origin, session cookie)", Handler: http.HandlerFunc(h.phoneWS)},
	} {
		s.HandleRoute(r)
	}
	s.HandleRoute(h.callbackRoute())
	s.HandlePage("GET /agent", auth.Agent, h.page)
}

func (h *desk) page(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	h.s.render(w, http.StatusOK, "agent.html", pageData{Title: "My desk", Page: "agent", Active: "agent", User: toJSON(p)})
}

// self reports whether p may act as agent id on the desk's calls: the
// agent themself, or an admin.
func self(p auth.Principal, id string) bool {
	return p.Role == auth.Admin || (p.Agent != "" && p.Agent == id)
}

func (h *desk) offers(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, _ := PrincipalFrom(r.Context())
	if !ScopeOf(p, h.d.ACD.Site()).Agent(id) {
		WriteError(w, http.StatusForbidden, "you may see only your own calls and those of the agents who report to you")
		return
	}
	out := h.d.Offers.Live(id)
	if out == nil {
		out = []events.AgentOffered{}
	}
	WriteJSON(w, http.StatusOK, out)
}

func (h *desk) decline(w http.ResponseWriter, r *http.Request) {
	id, callID := r.PathValue("id"), r.PathValue("call")
	p, _ := PrincipalFrom(r.Context())
	if !self(p, id) {
		WriteError(w, http.StatusForbidden, "only the agent themself (or an admin) may decline their calls")
		return
	}
	if err := h.d.Offers.Decline(id, callID); err != nil {
		if errors.Is(err, ring.ErrNoOffer) {
			WriteError(w, http.StatusConflict, "that call is not ringing for the agent any more")
			return
		}
		WriteInternalError(w, r, h.log, err)
		return
	}
	h.log.Info("offer declined from the page", "agent", id, "call", callID, "by", p.Login)
	w.WriteHeader(http.StatusNoContent)
}

func (h *desk) queueCmd(in bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, q := r.PathValue("id"), h.queueParam(r.PathValue("queue"))
		p, _ := PrincipalFrom(r.Context())
		if !ScopeOf(p, h.d.ACD.Site()).Agent(id) {
			WriteError(w, http.StatusForbidden, "you may change only yourself and the agents who report to you")
			return
		}
		var res acd.Result
		var err error
		if in {
			res, err = h.d.ACD.LoginQueue(r.Context(), id, q, acd.SourceAPI)
		} else {
			res, err = h.d.ACD.LogoutQueue(r.Context(), id, q, acd.SourceAPI)
		}
		if errors.Is(err, acd.ErrNoQueue) {
			WriteError(w, http.StatusNotFound, "the agent is not in that queue")
			return
		}
		if err != nil {
			writeAgentErr(w, err)
			return
		}
		WriteJSON(w, http.StatusOK, res)
	}
}

// Today is an agent's queue figures since midnight in the site's zone.
type Today struct {
	Agent       string    `json:"agent"`
	Since       time.Time `json:"since"`
	Answered    int       `json:"answered"`
	Missed      int       `json:"missed"`
	Declined    int       `json:"declined"`
	TalkSeconds int       `json:"talk_seconds"`
}

func (h *desk) today(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, _ := PrincipalFrom(r.Context())
	if !ScopeOf(p, h.d.ACD.Site()).Agent(id) {
		WriteError(w, http.StatusForbidden, "you may see only yourself and the agents who report to you")
		return
	}
	loc, err := time.LoadLocation(h.s.timeZone())
	if err != nil {
		loc = time.UTC
	}
	now := time.Now().In(loc)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	entries, err := h.d.ACD.QueueLog(r.Context(), midnight, time.Time{}, "")
	if err != nil {
		WriteInternalError(w, r, h.log, err)
		return
	}
	WriteJSON(w, http.StatusOK, todayOf(id, midnight, entries))
}

// todayOf counts agent's lines of the queue log: CONNECT is answered,
// RINGNOANSWER missed (declined when its data says so), COMPLETE* adds the
// talk time.
func todayOf(agent string, since time.Time, entries []store.QueueLogEntry) Today {
	t := Today{Agent: agent, Since: since}
	for _, en := range entries {
		if en.Agent != agent {
			continue
		}
		switch en.Event {
		case acd.EvConnect:
			t.Answered++
		case acd.EvRingNoAnswer:
			if len(en.Data) > 1 && en.Data[1] == "declined" {
				t.Declined++
			} else {
				t.Missed++
			}
		case acd.EvCompleteAgent, acd.EvCompleteCaller:
			if len(en.Data) > 1 {
				n, _ := strconv.Atoi(en.Data[1])
				t.TalkSeconds += n
			}
		}
	}
	return t
}

type noteBody struct {
	Text string `json:"text"`
}

func (h *desk) addNote(w http.ResponseWriter, r *http.Request) {
	callID := r.PathValue("id")
	p, _ := PrincipalFrom(r.Context())
	var b noteBody
	if !decode(w, r, &b) {
		return
	}
	caller, ok, err := h.noteScope(r.Context(), p, callID)
	if err != nil {
		WriteInternalError(w, r, h.log, err)
		return
	}
	if !ok {
		WriteError(w, http.StatusForbidden, "you may write notes only on calls offered to you or answered by you")
		return
	}
	n, err := h.d.Store.InsertNote(r.Context(), store.Note{CallID: callID, Caller: caller, Author: p.Login, Agent: p.Agent, Text: b.Text})
	switch {
	case errors.Is(err, store.ErrNoteEmpty):
		WriteError(w, http.StatusBadRequest, "the note is empty")
	case errors.Is(err, store.ErrNoteTooLong):
		WriteError(w, http.StatusBadRequest, "the note is too long: at most "+strconv.Itoa(store.MaxNoteLen)+" characters")
	case err != nil:
		WriteInternalError(w, r, h.log, err)
	default:
		WriteJSON(w, http.StatusCreated, n)
	}
}

// noteScope says whether p may write on call callID, and the call's
// caller number: admins on any call; others on calls the ringing engine
// offered to their agent (even still ringing, before any CDR exists) or
// that their agent answered.
func (h *desk) noteScope(ctx context.Context, p auth.Principal, callID string) (string, bool, error) {
	if p.Agent != "" {
		if caller, ok := h.d.Offers.OfferedCall(p.Agent, callID); ok {
			return caller, true, nil
		}
	}
	caller, found, err := h.d.Store.CallCaller(ctx, callID)
	if err != nil {
		return "", false, err
	}
	if p.Role == auth.Admin {
		return caller, true, nil
	}
	if !found || p.Agent == "" {
		return "", false, nil
	}
	ok, err := h.d.Store.AnsweredFrom(ctx, p.Agent, "", callID)
	return caller, ok, err
}

func (h *desk) history(w http.ResponseWriter, r *http.Request) {
	number := r.PathValue("number")
	p, _ := PrincipalFrom(r.Context())
	if number == "" || len(number) > 64 {
		WriteError(w, http.StatusBadRequest, "give a caller number")
		return
	}
	if p.Role != auth.Admin {
		ok := p.Agent != "" && h.d.Offers.WasOffered(p.Agent, number)
		if !ok && p.Agent != "" {
			var err error
			if ok, err = h.d.Store.AnsweredFrom(r.Context(), p.Agent, number, ""); err != nil {
				WriteInternalError(w, r, h.log, err)
				return
			}
		}
		if !ok {
			WriteError(w, http.StatusForbidden, "you may read the history only of callers offered to you or answered by you")
			return
		}
	}
	limit := store.MaxHistory
	if v := r.URL.Query().Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			limit = min(n, store.MaxHistory)
		}
	}
	calls, err := h.d.Store.CallerHistory(r.Context(), number, limit)
	if err != nil {
		WriteInternalError(w, r, h.log, err)
		return
	}
	writeList(w, calls)
}

// offerForOther reports whether ev is an offer event of an agent other
// than agent: agents' event streams leave those out.
func offerForOther(ev events.Event, agent string) bool {
	switch d := ev.Data.(type) {
	case events.AgentOffered:
		return d.Agent != agent
	case events.AgentOfferEnded:
		return d.Agent != agent
	}
	return false
}
