package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
)

// VoicemailOutboxRoutes are the voicemail e-mail outbox's routes: what
// waits, what went and what was given up on, and a retry.
func VoicemailOutboxRoutes(m *voicemail.Mailer) []Route {
	h := outboxAPI{m}
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/voicemail/outbox", Role: auth.Admin, Section: "settings",
			Summary: "Voicemail e-mails: pending, sent and failed, with attempts, next try and last error (?limit, default 100)",
			Handler: http.HandlerFunc(h.list)},
		{Method: http.MethodPost, Path: "/api/v1/voicemail/outbox/{id}/retry", Role: auth.Admin,
			Summary: "Try a failed or waiting voicemail e-mail again now", Handler: http.HandlerFunc(h.retry)},
	}
}

type outboxAPI struct{ m *voicemail.Mailer }

// outboxItem is one e-mail as the API shows it: no audio, no relay
// credentials.
type outboxItem struct {
	ID         int64      `json:"id"`
	MessageID  int64      `json:"message_id"`
	Box        string     `json:"box"`
	To         string     `json:"to"`
	Caller     string     `json:"caller"`
	CallerName string     `json:"caller_name,omitempty"`
	Time       time.Time  `json:"time"`
	DurationS  float64    `json:"duration_s"`
	State      string     `json:"state"`
	Attempts   int        `json:"attempts"`
	NextTry    *time.Time `json:"next_try,omitempty"`
	LastError  string     `json:"last_error,omitempty"`
	Queued     time.Time  `json:"queued"`
	Done       *time.Time `json:"done,omitempty"`
}

const maxOutboxList = 1000

func (h outboxAPI) list(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxOutboxList {
			WriteError(w, http.StatusBadRequest, "limit: want a number from 1 to "+strconv.Itoa(maxOutboxList))
			return
		}
		limit = n
	}
	mails, err := h.m.List(r.Context(), limit)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]outboxItem, 0, len(mails))
	for _, m := range mails {
		it := outboxItem{ID: m.ID, MessageID: m.MessageID, Box: m.Box, To: m.To, Caller: m.Caller, CallerName: m.CallerName,
			Time: m.Time.UTC(), DurationS: m.Duration.Seconds(), State: m.State, Attempts: m.Attempts, LastError: m.LastError,
			Queued: m.Created.UTC()}
		if m.State == store.MailPending {
			n := m.Next.UTC()
			it.NextTry = &n
		}
		if !m.Done.IsZero() {
			d := m.Done.UTC()
			it.Done = &d
		}
		out = append(out, it)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

func (h outboxAPI) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		WriteError(w, http.StatusBadRequest, "id: want an e-mail id from the outbox")
		return
	}
	if err := h.m.Retry(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, "no e-mail "+strconv.FormatInt(id, 10)+" waiting or failed (a sent e-mail is not sent again)")
		return
	} else if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "state": store.MailPending})
}
