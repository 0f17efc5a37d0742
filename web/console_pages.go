package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"

	"ringbox/firmware/changeset"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/library"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/web/picture"
)

// picture draws the object's picture, when its kind has one: the ring
// group's timeline next to a dry run, the schedule's week, the IVR's tree.
func (c *Console) picture(r *http.Request, d *draft, k kindInfo, v reflect.Value) (template.HTML, string) {
	s := d.Site
	label := func(dest string) string { return destLabel(s, dest) }
	loc := d.Applied.Loc
	switch k.Key {
	case "ring_groups":
		g := v.Interface().(site.RingGroup)
		if len(g.Stages) == 0 {
			return "", ""
		}
		at := time.Now().In(loc)
		if q := r.URL.Query().Get("at"); q != "" {
			if t, err := parseAt(q, loc); err == nil {
				at = t
			}
		}
		var plan *flow.PlanResult
		// The dry run is of the draft (the group as shown, with the
		// draft's agents and hours) and of who is busy or unavailable now.
		if c.Flow != nil && g.ID != "" {
			snap := d.Applied
			if d.Site != d.Applied.Site {
				if cs, err := config.New(d.Site, d.Base); err == nil {
					snap = cs.Current()
				}
			}
			if slices.ContainsFunc(snap.Site.RingGroups, func(x site.RingGroup) bool { return x.ID == g.ID && reflect.DeepEqual(x, g) }) {
				if p, err := c.Flow.PlanOn(snap, g.ID, at); err == nil {
					plan = &p
				}
			}
		}
		return picture.RingGroupTimeline(g, plan, func(m string) string { return memberLabel(s, m) }), at.Format("2006-01-02T15:04")
	case "schedules":
		sc := v.Interface().(site.Schedule)
		week := time.Now().In(loc)
		if q := r.URL.Query().Get("week"); q != "" {
			if t, err := time.ParseInLocation("2006-01-02", q, loc); err == nil {
				week = t
			}
		}
		return picture.WeekGrid(sc, loc, week), week.Format("2006-01-02")
	case "ivrs":
		return picture.IVRTree(v.Interface().(site.IVR), label), ""
	}
	return "", ""
}

// memberLabel names a ring member: "101 · Front desk", an agent's name.
func memberLabel(s *site.Site, m string) string {
	if n, ok := strings.CutPrefix(m, "ext:"); ok {
		if i := slices.IndexFunc(s.Extensions, func(x site.Extension) bool { return x.Number == n }); i >= 0 {
			return named(n, s.Extensions[i].Name)
		}
	}
	if i := slices.IndexFunc(s.Agents, func(x site.Agent) bool { return x.ID == m }); i >= 0 {
		return named(m, s.Agents[i].Name)
	}
	return m
}

// siteFileBody is the site-file page.
type siteFileBody struct {
	Problems []site.Problem
	Changes  []changeset.ObjectChange
	Titles   map[string]string
	Name     string
}

func (c *Console) siteFilePage(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	cp := pc.base(w, r, "Site file", "sitefile", d)
	cp.Body = siteFileBody{}
	pc.render(w, http.StatusOK, "console-sitefile", cp)
}

func (c *Console) siteFileDownload(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	secrets := r.URL.Query().Get("secrets") == "1"
	cur := c.Config.Current()
	b, err := site.Marshal(cur.Site, secrets)
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	name := "site.yaml"
	if secrets {
		name = "site-with-secrets.yaml"
		c.Logger.Info("site file downloaded with secrets", "login", pc.p.Login)
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// siteFileUpload reads a site file into the draft after checking it with
// the same code as `ringbox check`: problems are shown with their lines,
// a valid file's changes are put in the draft for review.
func (c *Console) siteFileUpload(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxSiteFileBytes+64<<10)
	f, hdr, err := r.FormFile("site")
	if err != nil {
		redirect(w, r, "/console/sitefile", "bad", "Choose a site file (YAML) to upload.")
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSiteFileBytes+1))
	if err != nil || len(data) > maxSiteFileBytes {
		redirect(w, r, "/console/sitefile", "bad", fmt.Sprintf("The site file is too big: the limit is %d MiB.", maxSiteFileBytes>>20))
		return
	}
	body := siteFileBody{Name: hdr.Filename, Titles: kindTitles()}
	s, err := site.Parse(data, hdr.Filename)
	var probs site.Errors
	if errors.As(err, &probs) {
		for _, p := range probs {
			body.Problems = append(body.Problems, *p)
		}
		cp := pc.base(w, r, "Site file", "sitefile", d)
		cp.Flash = append(cp.Flash, flash{"bad", fmt.Sprintf("%s has %d problem(s); nothing was changed.", hdr.Filename, len(probs))})
		cp.Body = body
		pc.render(w, http.StatusUnprocessableEntity, "console-sitefile", cp)
		return
	}
	if err != nil {
		redirect(w, r, "/console/sitefile", "bad", "The site file could not be read: "+err.Error())
		return
	}
	// Secrets and passwords left out of the file keep the stored ones, as
	// `ringbox import` does.
	mergeSecrets(s, d.Applied.Site)
	// So do the web users it does not list, unless the form asks to
	// replace them: a site file rarely lists users, and the draft is
	// applied as it stands (ReplaceUsers).
	var kept []string
	if r.FormValue("replace_users") == "" {
		kept = keepUsers(s, d.Applied.Site)
	}
	if err := c.saveDraft(r.Context(), pc.p.Login, d.Base, s); err != nil {
		pc.fail(w, r, err)
		return
	}
	msg := fmt.Sprintf("%s is valid and is now your draft: review what it changes, then apply.", hdr.Filename)
	if len(kept) > 0 {
		msg += fmt.Sprintf(" Kept the web users the file does not list (%s); upload with \"Replace the users\" ticked to remove them.", strings.Join(kept, ", "))
	}
	redirect(w, r, "/console/review", "ok", msg)
}

// keepUsers appends to s the users of old that s does not list, and
// returns their logins.
func keepUsers(s, old *site.Site) []string {
	var kept []string
	for _, u := range old.Users {
		if !slices.ContainsFunc(s.Users, func(x site.User) bool { return x.Login == u.Login }) {
			s.Users = append(s.Users, u)
			kept = append(kept, u.Login)
		}
	}
	return kept
}

// mergeSecrets fills the secrets s leaves empty from the same objects of
// old.
func mergeSecrets(s, old *site.Site) {
	for _, k := range append(consoleKinds, kindInfo{Key: "system"}) {
		if k.Key == "system" {
			keepSecrets("system", reflect.ValueOf(&s.System).Elem(), reflect.ValueOf(old.System), "")
			continue
		}
		if k.IDField == "" {
			continue
		}
		list, oldList := siteField(s, k.Key), siteField(old, k.Key)
		for i := 0; i < list.Len(); i++ {
			if j := findObj(k, oldList, objKey(k, list, i)); j >= 0 {
				keepSecrets(k.Key, list.Index(i), oldList.Index(j), "")
			}
		}
	}
}

func kindTitles() map[string]string {
	t := map[string]string{"system": "Settings"}
	for _, k := range consoleKinds {
		t[k.Key] = k.Singular
	}
	return t
}

// phonesBody is the phones and trunks page.
type phonesBody struct {
	Extensions []phoneRow
	Trunks     []sip.TrunkState
	Now        time.Time
}

type phoneRow struct {
	Number, Name string
	Regs         []regRow
}

type regRow struct {
	sip.Registration
	NAT bool
}

// behindNAT reports whether a phone's Contact names another address than
// the one its REGISTER came from: the phone is behind NAT (or misconfigured).
func behindNAT(reg sip.Registration) bool {
	u, err := url.Parse(strings.Replace(reg.Contact, "sip:", "sip://", 1))
	if err != nil {
		return false
	}
	host, _, err := net.SplitHostPort(reg.Source)
	if err != nil {
		return false
	}
	return u.Hostname() != "" && u.Hostname() != host
}

func (c *Console) phones(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	body := phonesBody{Now: time.Now()}
	regs := map[string][]regRow{}
	if c.SIP != nil {
		for _, reg := range c.SIP.Registrations() {
			regs[reg.Extension] = append(regs[reg.Extension], regRow{reg, behindNAT(reg)})
		}
		body.Trunks = c.SIP.TrunkStates()
	}
	for _, x := range d.Applied.Site.Extensions {
		body.Extensions = append(body.Extensions, phoneRow{x.Number, x.Name, regs[x.Number]})
	}
	cp := pc.base(w, r, "Phones and trunks", "phones", d)
	cp.Body = body
	pc.render(w, http.StatusOK, "console-phones", cp)
}

// phoneCardBody is a phone's setup card.
type phoneCardBody struct {
	Number, Name string
	Server       string
	Port         int
	Realm        string
	Secret       string
	QR           template.HTML
	Registered   []regRow
	Applied      bool
}

func (c *Console) phoneCard(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	c.showPhone(w, r, pc, false)
}

// phoneReveal shows the SIP password once, on request, and logs who saw it.
func (c *Console) phoneReveal(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	c.showPhone(w, r, pc, true)
}

func (c *Console) showPhone(w http.ResponseWriter, r *http.Request, pc *pageCtx, reveal bool) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	n := r.PathValue("number")
	i := slices.IndexFunc(d.Applied.Site.Extensions, func(x site.Extension) bool { return x.Number == n })
	if i < 0 {
		redirect(w, r, "/console/phones", "bad", fmt.Sprintf("Extension %s is not in use yet: apply your draft first.", n))
		return
	}
	x := d.Applied.Site.Extensions[i]
	host := c.SIPHost
	if host == "" {
		host, _, _ = net.SplitHostPort(r.Host)
		if host == "" {
			host = r.Host
		}
	}
	body := phoneCardBody{Number: x.Number, Name: x.Name, Server: host, Port: c.SIPPort, Realm: c.Realm, Applied: true}
	if c.SIP != nil {
		for _, reg := range c.SIP.Registrations() {
			if reg.Extension == n {
				body.Registered = append(body.Registered, regRow{reg, behindNAT(reg)})
			}
		}
	}
	if reveal {
		body.Secret = x.Secret
		c.Logger.Info("SIP password shown", "extension", n, "login", pc.p.Login)
		uri := fmt.Sprintf("sip:%s:%s@%s:%d", url.PathEscape(x.Number), url.PathEscape(x.Secret), host, c.SIPPort)
		if qr, err := picture.QR(uri); err == nil {
			body.QR = qr
		}
	}
	cp := pc.base(w, r, "Set up a phone for "+n, "phones", d)
	cp.Crumb, cp.CrumbHref = "Phones and trunks", "/console/phones"
	cp.Body = body
	pc.render(w, http.StatusOK, "console-phone", cp)
}

// audioBodyPage is the audio page.
type audioPageBody struct {
	Prompts []library.PromptInfo
	Music   []library.ClassInfo
	Limit   int
}

func (c *Console) audioPage(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	body := audioPageBody{Limit: library.MaxUploadBytes >> 20}
	if c.Library != nil {
		var err error
		if body.Prompts, err = c.Library.Prompts(r.Context()); err != nil {
			pc.fail(w, r, err)
			return
		}
		if body.Music, err = c.Library.HoldMusic(r.Context()); err != nil {
			pc.fail(w, r, err)
			return
		}
	}
	cp := pc.base(w, r, "Audio files", "audio", d)
	cp.Body = body
	pc.render(w, http.StatusOK, "console-audio", cp)
}

type tokensBody struct {
	Tokens []store.TokenInfo
	New    string // the token just created, shown once
	Name   string
}

func (c *Console) tokensPage(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	c.showTokens(w, r, pc, "", "", http.StatusOK)
}

func (c *Console) showTokens(w http.ResponseWriter, r *http.Request, pc *pageCtx, plain, name string, status int) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	toks, err := c.Store.ListTokens(r.Context())
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	cp := pc.base(w, r, "API tokens", "tokens", d)
	cp.Body = tokensBody{Tokens: toks, New: plain, Name: name}
	pc.render(w, status, "console-tokens", cp)
}

func (c *Console) tokenCreate(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	name := strings.TrimSpace(r.FormValue("name"))
	role := r.FormValue("role")
	if name == "" || len(name) > 64 {
		redirect(w, r, "/console/tokens", "bad", "Give the token a name (up to 64 characters) that says who uses it.")
		return
	}
	plain, err := c.Store.CreateToken(r.Context(), name, role)
	if errors.Is(err, store.ErrExists) {
		redirect(w, r, "/console/tokens", "bad", fmt.Sprintf("There is already a token named %s.", name))
		return
	}
	if err != nil {
		redirect(w, r, "/console/tokens", "bad", "The token was not created: "+err.Error())
		return
	}
	c.Logger.Info("API token created", "token", name, "role", role, "login", pc.p.Login)
	c.showTokens(w, r, pc, plain, name, http.StatusOK)
}

func (c *Console) tokenRevoke(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	name := r.PathValue("name")
	if err := c.Store.RevokeToken(r.Context(), name); err != nil {
		redirect(w, r, "/console/tokens", "bad", fmt.Sprintf("Token %s was not revoked: %v", name, err))
		return
	}
	c.Logger.Info("API token revoked", "token", name, "login", pc.p.Login)
	redirect(w, r, "/console/tokens", "ok", fmt.Sprintf("Revoked token %s: programs using it are refused from now on.", name))
}

// backupPage downloads a backup and restores one (the API routes of
// backup.go do the work; the page shows progress and what a restore
// replaces).
func (c *Console) backupPage(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	cp := pc.base(w, r, "Backup and restore", "backup", d)
	pc.render(w, http.StatusOK, "console-backup", cp)
}
