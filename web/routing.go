package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/flow"
)

// RoutingRoutes are the routing engine's routes: ring-group dry runs and
// schedule overrides.
func RoutingRoutes(fl *flow.Engine) []Route {
	h := routing{fl}
	return []Route{
		{Method: "GET", Path: "/api/v1/ringgroups/{id}/plan", Role: auth.Manager, Section: "routing",
			Summary: "Dry run of a ring group: who rings when (?at=RFC 3339 or YYYY-MM-DDTHH:MM in the site's zone, &busy=agent,ext:101)",
			Handler: http.HandlerFunc(h.plan)},
		{Method: "GET", Path: "/api/v1/schedules/{id}/override", Role: auth.Manager, Section: "routing",
			Summary: "A schedule's state and manual override", Handler: http.HandlerFunc(h.schedule)},
		{Method: "POST", Path: "/api/v1/schedules/{id}/override", Role: auth.Manager,
			Summary: `Override a schedule: {"state": "open" | "closed" | "auto"}`, Handler: http.HandlerFunc(h.schedule)},
	}
}

type routing struct{ fl *flow.Engine }

// plan serves the dry run of a ring group as JSON (flow.PlanResult).
func (h routing) plan(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	at := time.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		t, err := parseAt(v, h.fl.Config.Current().Loc)
		if err != nil {
			WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		at = t
	}
	var busy []string
	for _, k := range strings.Split(r.URL.Query().Get("busy"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			busy = append(busy, k)
		}
	}
	res, err := h.fl.Plan(id, at, busy...)
	if errors.Is(err, flow.ErrUnknownGroup) {
		WriteError(w, http.StatusNotFound, "no ring group "+id)
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, res)
}

// schedule serves GET (the state) and POST {"state": "open" | "closed" |
// "auto"} of a schedule's override.
func (h routing) schedule(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if r.Method == http.MethodPost {
		var body struct {
			State string `json:"state"`
		}
		if err := DecodeJSON(r, &body); err != nil {
			writeDecodeError(w, err)
			return
		}
		actor := "api"
		if p, ok := PrincipalFrom(r.Context()); ok {
			actor = p.Login
		}
		var err error
		switch body.State {
		case "open", "closed":
			err = h.fl.SetOverride(r.Context(), actor, id, body.State == "open")
		case "auto":
			err = h.fl.ClearOverride(r.Context(), actor, id)
		default:
			WriteError(w, http.StatusBadRequest, `state: want "open", "closed" or "auto"`)
			return
		}
		if errors.Is(err, flow.ErrUnknownSchedule) {
			WriteError(w, http.StatusNotFound, "no schedule "+id)
			return
		}
	}
	st, err := h.fl.ScheduleStateAt(id, time.Now())
	if errors.Is(err, flow.ErrUnknownSchedule) {
		WriteError(w, http.StatusNotFound, "no schedule "+id)
		return
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, st)
}

func parseAt(v string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("at: want RFC 3339 or YYYY-MM-DDTHH:MM[:SS] in the site's time zone")
}
