package flow

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// PlanHandler serves GET /api/v1/ringgroups/{id}/plan: the dry run of a
// ring group as JSON (PlanResult). Query: at (RFC 3339, or
// "2006-01-02T15:04" in the site's time zone; default now) and busy (a
// comma list of agent ids or presence keys such as ext:101 to treat as on
// a call, on top of the real presence).
func (e *Engine) PlanHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := pathID(r, "ringgroups")
		at := time.Now()
		if v := r.URL.Query().Get("at"); v != "" {
			t, err := parseAt(v, e.Config.Current().Loc)
			if err != nil {
				writeJSONError(w, http.StatusBadRequest, err.Error())
				return
			}
			at = t
		}
		extra := map[string]bool{}
		for _, k := range strings.Split(r.URL.Query().Get("busy"), ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if !strings.Contains(k, ":") {
				k = "agent:" + k
			}
			extra[k] = true
		}
		busy := func(keys ...string) bool {
			for _, k := range keys {
				if extra[k] {
					return true
				}
			}
			return e.presence().Busy(keys...)
		}
		res, err := e.plan(id, at, busy)
		if errors.Is(err, ErrUnknownGroup) {
			writeJSONError(w, http.StatusNotFound, "no ring group "+id)
			return
		}
		if err != nil {
			writeJSONError(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, res)
	})
}

// ScheduleHandler serves GET and POST /api/v1/schedules/{id}/override.
// GET returns the schedule's state (ScheduleState); POST takes
// {"state": "open" | "closed" | "auto"} and returns the new state.
func (e *Engine) ScheduleHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := pathID(r, "schedules")
		switch r.Method {
		case http.MethodGet:
		case http.MethodPost:
			var body struct {
				State string `json:"state"`
			}
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil {
				writeJSONError(w, http.StatusBadRequest, "body must be {\"state\": \"open\"|\"closed\"|\"auto\"}")
				return
			}
			actor := "api"
			if e.Actor != nil {
				actor = e.Actor(r)
			}
			var err error
			switch body.State {
			case "open", "closed":
				err = e.setOverride(r.Context(), actor, id, body.State == "open")
			case "auto":
				err = e.clearOverride(r.Context(), actor, id)
			default:
				writeJSONError(w, http.StatusBadRequest, "state must be open, closed or auto")
				return
			}
			if errors.Is(err, ErrUnknownSchedule) {
				writeJSONError(w, http.StatusNotFound, "no schedule "+id)
				return
			}
		default:
			w.Header().Set("Allow", "GET, POST")
			writeJSONError(w, http.StatusMethodNotAllowed, "GET or POST")
			return
		}
		st, err := e.ScheduleStateAt(id, time.Now())
		if errors.Is(err, ErrUnknownSchedule) {
			writeJSONError(w, http.StatusNotFound, "no schedule "+id)
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}

// pathID is the {id} of the route, or the path segment after kind when
// the handler is mounted without a pattern.
func pathID(r *http.Request, kind string) string {
	if id := r.PathValue("id"); id != "" {
		return id
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == kind {
			return parts[i+1]
		}
	}
	return ""
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
	return time.Time{}, errors.New("at must be RFC 3339 or YYYY-MM-DDTHH:MM[:SS] in the site's time zone")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
