package web

// The factory reset, raised by holding the box's service button
// (board/panel) and confirmed here by an admin.
//
//	GET  /api/v1/system/factory-reset          admin: whether a request waits, since when, until when
//	POST /api/v1/system/factory-reset/confirm  admin: {"password"}: erase the box and restart; 409 when none waits
//	POST /api/v1/system/factory-reset/cancel   admin: withdraw the request; 409 when none waits
//	GET  /system/factory-reset                 admin: the page with the confirmation form
//	POST /system/factory-reset                 admin: the form (action=confirm with password, or action=cancel)
//
// Confirming takes the admin's password again, checked like a login (and
// counted against the same failed-login limit), so a session left open
// or stolen cannot wipe the box: it needs the box in hand (the button)
// and the password.

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"ringbox/firmware/auth"
)

// ResetRequest is the factory-reset request (panel.Reset).
type ResetRequest interface {
	Pending() (since time.Time, ok bool)
	// Confirm erases the box and restarts it; by is the admin.
	Confirm(by string) error
	Cancel(by string)
}

// FactoryReset wires the factory-reset routes and page.
type FactoryReset struct {
	Request ResetRequest  // required
	TTL     time.Duration // how long a request waits (for the answer's expires); 0: 5 minutes
	// IsNone reports whether a Confirm error means no request waits
	// (errors.Is(err, panel.ErrNoReset)); nil: none does.
	IsNone func(error) bool
	Logger *slog.Logger // nil: slog.Default()
}

// FactoryReset registers the factory-reset routes and page, and the
// banner every page shows admins while a request waits.
func (s *Server) FactoryReset(f *FactoryReset) {
	if f.Logger == nil {
		f.Logger = slog.Default()
	}
	if f.TTL == 0 {
		f.TTL = 5 * time.Minute
	}
	if f.IsNone == nil {
		f.IsNone = func(error) bool { return false }
	}
	fr := &factoryAPI{s: s, f: f, log: f.Logger.With("pkg", "web")}
	s.mu.Lock()
	s.resetPending = func() bool { _, ok := f.Request.Pending(); return ok }
	s.mu.Unlock()
	for _, r := range []Route{
		{Method: http.MethodGet, Path: "/api/v1/system/factory-reset", Role: auth.Admin, Section: "settings",
			Summary: "Factory reset: whether one was requested with the box's service button (pending, since, expires)",
			Handler: http.HandlerFunc(fr.get)},
		{Method: http.MethodPost, Path: "/api/v1/system/factory-reset/confirm", Role: auth.Admin,
			Summary: "Confirm the requested factory reset (body: password, the admin's own): erases everything and restarts the box",
			Handler: http.HandlerFunc(fr.confirmAPI)},
		{Method: http.MethodPost, Path: "/api/v1/system/factory-reset/cancel", Role: auth.Admin,
			Summary: "Cancel the requested factory reset",
			Handler: http.HandlerFunc(fr.cancelAPI)},
	} {
		s.HandleRoute(r)
	}
	s.HandlePage("GET /system/factory-reset", auth.Admin, fr.page)
	s.HandlePage("POST /system/factory-reset", auth.Admin, fr.form)
}

type factoryAPI struct {
	s   *Server
	f   *FactoryReset
	log *slog.Logger
}

type resetJSON struct {
	Pending bool       `json:"pending"`
	Since   *time.Time `json:"since,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

func (fr *factoryAPI) state() resetJSON {
	since, ok := fr.f.Request.Pending()
	if !ok {
		return resetJSON{}
	}
	exp := since.Add(fr.f.TTL)
	return resetJSON{Pending: true, Since: &since, Expires: &exp}
}

func (fr *factoryAPI) get(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, fr.state())
}

var (
	errResetNone     = errors.New("no factory reset is waiting: hold the box's service button for 10 seconds first")
	errResetPassword = errors.New("wrong password")
	errResetBlocked  = errors.New("too many wrong passwords from your address: try again later")
)

// confirm checks the admin's password and confirms; the status goes with
// the error.
func (fr *factoryAPI) confirm(r *http.Request, p auth.Principal, password string) (int, error) {
	if _, ok := fr.f.Request.Pending(); !ok {
		return http.StatusConflict, errResetNone
	}
	ip := clientIP(r)
	if _, blocked := fr.s.limiter.blocked(ip); blocked {
		return http.StatusTooManyRequests, errResetBlocked
	}
	// The principal's own password: an API token ("token:NAME") has none,
	// so only a person can confirm.
	checked, err := fr.s.cfg.Auth.CheckPassword(r.Context(), p.Login, password)
	switch {
	case errors.Is(err, auth.ErrInvalid) || (err == nil && (checked.Login != p.Login || !auth.Allows(checked.Role, auth.Admin))):
		fr.s.limiter.fail(ip)
		fr.log.Warn("factory reset: wrong password", "login", p.Login, "ip", ip)
		return http.StatusForbidden, errResetPassword
	case err != nil:
		return http.StatusInternalServerError, err
	}
	if err := fr.f.Request.Confirm(p.Login); err != nil {
		if fr.f.IsNone(err) {
			return http.StatusConflict, errResetNone
		}
		return http.StatusInternalServerError, err
	}
	fr.log.Warn("factory reset confirmed: the box erases its data and restarts", "login", p.Login, "ip", ip)
	return http.StatusAccepted, nil
}

func (fr *factoryAPI) confirmAPI(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	var req struct {
		Password string `json:"password"`
	}
	if err := DecodeJSON(r, &req); err != nil {
		writeDecodeError(w, err)
		return
	}
	if req.Password == "" {
		WriteError(w, http.StatusBadRequest, "password is required: your own, again")
		return
	}
	status, err := fr.confirm(r, p, req.Password)
	switch {
	case status == http.StatusInternalServerError:
		WriteInternalError(w, r, fr.log, err)
	case err != nil:
		WriteError(w, status, err.Error())
	default:
		WriteJSON(w, status, map[string]string{"state": "confirmed"})
	}
}

func (fr *factoryAPI) cancelAPI(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	if _, ok := fr.f.Request.Pending(); !ok {
		WriteError(w, http.StatusConflict, errResetNone.Error())
		return
	}
	fr.f.Request.Cancel(p.Login)
	fr.log.Info("factory reset cancelled", "login", p.Login)
	WriteJSON(w, http.StatusOK, map[string]string{"state": "cancelled"})
}

type factoryPage struct {
	pageData
	Reset     resetJSON
	Done      string // "confirmed", "cancelled"
	Error     string
	ExpiresIn string
}

func (fr *factoryAPI) render(w http.ResponseWriter, r *http.Request, status int, d factoryPage) {
	p, _ := PrincipalFrom(r.Context())
	d.pageData = fr.s.filled(pageData{Title: "Factory reset", Page: "shell", Active: "settings", User: toJSON(p)})
	d.Reset = fr.state()
	if d.Reset.Pending {
		d.ExpiresIn = time.Until(*d.Reset.Expires).Round(time.Second).String()
	}
	fr.s.execute(w, status, "factory.html", d)
}

func (fr *factoryAPI) page(w http.ResponseWriter, r *http.Request) {
	fr.render(w, r, http.StatusOK, factoryPage{})
}

func (fr *factoryAPI) form(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	switch r.PostFormValue("action") {
	case "cancel":
		fr.f.Request.Cancel(p.Login)
		fr.render(w, r, http.StatusOK, factoryPage{Done: "cancelled"})
	case "confirm":
		status, err := fr.confirm(r, p, r.PostFormValue("password"))
		switch {
		case status == http.StatusInternalServerError:
			fr.log.Error("factory reset", "err", err)
			fr.render(w, r, status, factoryPage{Error: "The factory reset failed; the box's logs say why."})
		case err != nil:
			fr.render(w, r, status, factoryPage{Error: err.Error()})
		default:
			fr.render(w, r, status, factoryPage{Done: "confirmed"})
		}
	default:
		fr.render(w, r, http.StatusBadRequest, factoryPage{Error: "unknown action"})
	}
}
