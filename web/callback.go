package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"ringbox/firmware/auth"
	"ringbox/firmware/flow"
)

// The agent page's "call me back" (issue 14 part 5):
//
//	POST /api/v1/agents/{id}/callback   {"number": "...", "phone": "..."}
//
// The box rings the agent's mobile (or phone, an extension or an outside
// number) and, once answered, calls number as the agent's extension: its
// permission, the office caller ID. 202 with the call id; 4xx before
// anything rings when it cannot be placed.

// Callbacker starts a call back (flow.Engine.Callback).
type Callbacker interface {
	Callback(ctx context.Context, r flow.CallbackRequest) (string, error)
}

type callbackBody struct {
	Number string `json:"number"`
	Phone  string `json:"phone,omitempty"`
}

// CallbackStarted is the answer to a call-back request.
type CallbackStarted struct {
	Call   string `json:"call"`
	Phone  string `json:"phone"`
	Number string `json:"number"`
}

func (h *desk) callbackRoute() Route {
	return Route{Method: "POST", Path: "/api/v1/agents/{id}/callback", Role: auth.Agent,
		Summary: `Call me back: {"number":"..."} rings the agent's mobile (or "phone"), then the number, as the agent's extension (its permission, the office caller ID); only the agent themself`,
		Handler: http.HandlerFunc(h.callback)}
}

func (h *desk) callback(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	p, _ := PrincipalFrom(r.Context())
	if p.Agent == "" || p.Agent != id {
		WriteError(w, http.StatusForbidden, "only the agent themself may ask to be called back")
		return
	}
	if h.d.Callback == nil {
		WriteError(w, http.StatusServiceUnavailable, "call back is not available on this box")
		return
	}
	var b callbackBody
	if !decode(w, r, &b) {
		return
	}
	b.Number, b.Phone = strings.TrimSpace(b.Number), strings.TrimSpace(b.Phone)
	if b.Number == "" {
		WriteError(w, http.StatusBadRequest, `missing "number": the number to call once your phone answers`)
		return
	}
	var ext, mobile string
	for _, a := range h.d.ACD.Site().Agents {
		if a.ID == id {
			ext, mobile = a.Extension, a.Mobile
		}
	}
	phone := b.Phone
	if phone == "" {
		phone = mobile
	}
	// The call is not bound to this request: it goes on after the answer.
	callID, err := h.d.Callback.Callback(context.WithoutCancel(r.Context()),
		flow.CallbackRequest{Extension: ext, Phone: phone, Number: b.Number, By: p.Login})
	switch {
	case errors.Is(err, flow.ErrCallbackNoExtension):
		WriteError(w, http.StatusConflict, "you have no extension: a call back is placed as your extension (its permission and caller ID)")
	case errors.Is(err, flow.ErrCallbackNoPhone):
		WriteError(w, http.StatusConflict, `you have no mobile in the site file: give "phone", the number to ring first`)
	case errors.Is(err, flow.ErrCallbackForbidden):
		WriteError(w, http.StatusForbidden, "your extension may not call that number ("+err.Error()+")")
	case errors.Is(err, flow.ErrCallbackNoRoute):
		WriteError(w, http.StatusUnprocessableEntity, "no outbound route reaches that number ("+err.Error()+")")
	case errors.Is(err, flow.ErrCallbackBadNumber):
		WriteError(w, http.StatusBadRequest, "not a phone number: digits, optionally after a + ("+err.Error()+")")
	case err != nil:
		WriteInternalError(w, r, h.log, err)
	default:
		h.log.Info("call back started", "agent", id, "by", p.Login, "call", callID)
		WriteJSON(w, http.StatusAccepted, CallbackStarted{Call: callID, Phone: phone, Number: b.Number})
	}
}

// queueParam is the queue id a {queue} path names: its id, or its number.
func (h *desk) queueParam(q string) string {
	for _, qc := range h.d.ACD.Site().Queues {
		if qc.ID == q {
			return q
		}
	}
	for _, qc := range h.d.ACD.Site().Queues {
		if qc.Number != "" && qc.Number == q {
			return qc.ID
		}
	}
	return q
}
