package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"ringbox/firmware/auth"
	"ringbox/firmware/edge"
)

// BanList is the SIP edge filter's bans (package edge): listed and lifted
// by administrators, on the API and on the System page's Security card.
type BanList interface {
	Bans() []edge.Ban
	Lift(ctx context.Context, key, by string) (edge.Ban, error)
}

// Security serves the bans.
type Security struct {
	Bans   BanList
	Logger *slog.Logger
}

// SecurityRoutes are the API routes of the bans (admin only).
func SecurityRoutes(sec *Security) []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/bans", Role: auth.Admin, Section: "system",
			Summary: "SIP bans in force: key (an address or ext:NUMBER), reason, failures, offence, since, until, exempt addresses", Handler: http.HandlerFunc(sec.list)},
		{Method: "DELETE", Path: "/api/v1/bans/{key}", Role: auth.Admin,
			Summary: "Lift a SIP ban now (key: an address or ext:NUMBER); 404 when not banned", Handler: http.HandlerFunc(sec.lift)},
	}
}

func (sec *Security) list(w http.ResponseWriter, r *http.Request) {
	writeList(w, sec.Bans.Bans())
}

func (sec *Security) lift(w http.ResponseWriter, r *http.Request) {
	pr, _ := PrincipalFrom(r.Context())
	b, err := sec.Bans.Lift(r.Context(), r.PathValue("key"), pr.Login)
	switch {
	case errors.Is(err, edge.ErrNoBan):
		WriteError(w, http.StatusNotFound, err.Error())
	case err != nil && b.Key == "":
		WriteError(w, http.StatusBadRequest, err.Error())
	case err != nil:
		sec.logger().Error("lift sip ban", "key", b.Key, "err", err)
		WriteError(w, http.StatusInternalServerError, err.Error())
	default:
		WriteJSON(w, http.StatusOK, b)
	}
}

func (sec *Security) logger() *slog.Logger {
	if sec.Logger == nil {
		return slog.Default()
	}
	return sec.Logger
}

// liftForm is the Security card's Lift button: POST /system/bans/lift
// with key, back to the card with a flash.
func (p *SystemPage) liftForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSystemForm)
	if p.Bans == nil {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		p.render(w, r, http.StatusBadRequest, systemPageData{BanError: "the form could not be read: " + err.Error()})
		return
	}
	pr, _ := PrincipalFrom(r.Context())
	key := r.PostForm.Get("key")
	if _, err := p.Bans.Lift(r.Context(), key, pr.Login); err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, edge.ErrNoBan) {
			status = http.StatusNotFound
		}
		p.render(w, r, status, systemPageData{BanError: err.Error()})
		return
	}
	http.Redirect(w, r, "/system?saved=lifted#security", http.StatusSeeOther)
}
