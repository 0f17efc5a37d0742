package web

// The installer's console: every object of the site file as a list and a
// form, edited in a per-login draft that is reviewed and applied in one
// transaction (docs/operator.md walks through it).
//
// Pages are server-rendered and work without JavaScript; console.js only
// adds rows, filters lists and shows upload progress. Every page and form
// needs the admin role, checked here on the server for GET and POST alike.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/changeset"
	"ringbox/firmware/config"
	"ringbox/firmware/flow"
	"ringbox/firmware/library"
	"ringbox/firmware/sip"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// Console is what the console's pages read and change.
type Console struct {
	Store   *store.Store
	Config  *config.Store
	Flow    *flow.Engine     // dry runs of ring groups; nil: no plan shown
	Library *library.Library // prompts and hold music; nil: no audio page
	SIP     *sip.Server      // registrations and trunk states; nil: none shown
	// Reload publishes the stored configuration now (after an apply), so
	// the next call uses it without waiting for the poll.
	Reload func(ctx context.Context) error
	// SIPAddr and Realm are shown on a phone's setup card.
	SIPHost string
	SIPPort int
	Realm   string
	Logger  *slog.Logger

	applyMu sync.Mutex // one apply at a time in this process

	draftMu sync.Mutex // protects drafts
	// drafts caches each login's draft as last read or saved: parsing a
	// big site's draft takes milliseconds and every page shows it. Only
	// this process writes drafts.
	drafts map[string]*cachedDraft
	// applied is the site file of the applied version, for diffs.
	applied struct {
		version int64
		file    []byte
	}
}

type cachedDraft struct {
	base int64
	site *site.Site // nil: no draft
	// changes is the diff against the applied version changesFor.
	changes    []changeset.ObjectChange
	changesFor int64
}

func (c *Console) getDraft(ctx context.Context, login string) (base int64, s *site.Site, updated time.Time, ok bool, err error) {
	c.draftMu.Lock()
	cd := c.drafts[login]
	c.draftMu.Unlock()
	if cd != nil {
		return cd.base, cd.site, time.Time{}, cd.site != nil, nil
	}
	base, s, updated, ok, err = c.Store.Draft(ctx, login)
	if err != nil {
		return 0, nil, time.Time{}, false, err
	}
	c.cache(login, &cachedDraft{base: base, site: s})
	return base, s, updated, ok, nil
}

func (c *Console) cache(login string, cd *cachedDraft) {
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	if c.drafts == nil {
		c.drafts = map[string]*cachedDraft{}
	}
	c.drafts[login] = cd
}

func (c *Console) saveDraft(ctx context.Context, login string, base int64, s *site.Site) error {
	if err := c.Store.SaveDraft(ctx, login, base, s); err != nil {
		c.forget(login)
		return err
	}
	c.cache(login, &cachedDraft{base: base, site: s})
	return nil
}

func (c *Console) deleteDraft(ctx context.Context, login string) error {
	if err := c.Store.DeleteDraft(ctx, login); err != nil {
		c.forget(login)
		return err
	}
	c.cache(login, &cachedDraft{})
	return nil
}

func (c *Console) forget(login string) {
	c.draftMu.Lock()
	defer c.draftMu.Unlock()
	delete(c.drafts, login)
}

// changesOf is the draft's diff against the applied version, computed
// once per draft and version.
func (c *Console) changesOf(login string, s *site.Site, applied *config.Snapshot) []changeset.ObjectChange {
	c.draftMu.Lock()
	cd := c.drafts[login]
	if cd != nil && cd.site == s && cd.changes != nil && cd.changesFor == applied.Version {
		c.draftMu.Unlock()
		return cd.changes
	}
	c.draftMu.Unlock()
	ch := changeset.Diff(applied.Site, s)
	if ch == nil {
		ch = []changeset.ObjectChange{}
	}
	c.draftMu.Lock()
	if cd := c.drafts[login]; cd != nil && cd.site == s {
		cd.changes, cd.changesFor = ch, applied.Version
	}
	c.draftMu.Unlock()
	return ch
}

// kindInfo describes one kind of object for the console.
type kindInfo struct {
	Key      string   // the site file's key
	Title    string   // "Ring groups"
	Singular string   // "ring group"
	IDField  string   // yaml name of the field that names an object; "" for routes (by position)
	Columns  []string // fields shown in the list
	Group    string   // navigation group
	Help     string
}

var consoleKinds = []kindInfo{
	{"extensions", "Extensions", "extension", "number", []string{"number", "name", "voicemail", "permission"}, "People", "SIP phones and softphones: each is a number people dial and an account a phone logs in with."},
	{"agents", "Agents", "agent", "id", []string{"id", "name", "extension", "mobile", "ring_preference"}, "People", "People who take calls from queues and groups, with their hours."},
	{"users", "Web users", "web user", "login", []string{"login", "role", "agent"}, "People", "Who may log in to this page, and as what."},
	{"ring_groups", "Ring groups", "ring group", "id", []string{"id", "name", "stages", "no_answer"}, "Call routing", "Phones rung in stages: who rings when, then where the call goes."},
	{"hunt_groups", "Hunt groups", "hunt group", "id", []string{"id", "name", "strategy", "members"}, "Call routing", "Members rung one at a time."},
	{"queues", "Queues", "queue", "id", []string{"id", "name", "strategy", "agents"}, "Call routing", "Callers wait with music until an agent is free."},
	{"ivrs", "IVRs", "IVR", "id", []string{"id", "name", "greeting", "options"}, "Call routing", "Menus: press 1 for sales…"},
	{"announcements", "Announcements", "announcement", "id", []string{"id", "prompt", "next"}, "Call routing", "Play a message, then go on."},
	{"schedules", "Schedules", "schedule", "id", []string{"id", "name", "open", "holidays"}, "Call routing", "Business hours and holidays."},
	{"inbound", "Inbound routes", "inbound route", "", []string{"match", "caller", "when", "to", "otherwise"}, "Call routing", "Where calls from outside enter, by the number called. The first matching route wins; routes with a caller (a number pattern or list:ID) come first."},
	{"outbound", "Outbound routes", "outbound route", "", []string{"pattern", "trunks", "permission", "emergency"}, "Lines and trunks", "Which trunk dialled numbers leave through. The first matching pattern wins."},
	{"trunks", "Trunks", "trunk", "id", []string{"id", "host", "register", "fxo"}, "Lines and trunks", "SIP trunks and analog lines to the telephone company."},
	{"lines", "Analog phones", "analog phone", "port", []string{"port", "extension"}, "Lines and trunks", "FXS ports and the extension each one is."},
	{"voicemail", "Voicemail boxes", "voicemail box", "box", []string{"box", "name", "email"}, "People", "Shared mailboxes (each extension with voicemail has its own)."},
	{"prompts", "Prompts", "prompt", "id", []string{"id", "file"}, "Audio", "Recorded messages (upload them on the Audio page)."},
	{"hold_music", "Hold music", "hold-music class", "id", []string{"id", "files", "device"}, "Audio", "Music callers hear while they wait."},
	{"caller_lists", "Caller lists", "caller list", "id", []string{"id", "name", "numbers"}, "Call routing", "Named lists of callers' numbers (VIPs, nuisance callers) that inbound routes and IVRs match with caller: list:ID."},
}

func kindByKey(key string) (kindInfo, bool) {
	i := slices.IndexFunc(consoleKinds, func(k kindInfo) bool { return k.Key == key })
	if i < 0 {
		return kindInfo{}, false
	}
	return consoleKinds[i], true
}

// siteField returns the slice of kind in s (addressable when s is).
func siteField(s *site.Site, kind string) reflect.Value {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if n, _ := yamlName(t.Field(i)); n == kind {
			return v.Field(i)
		}
	}
	panic("web: no site field " + kind)
}

// fieldByYAML returns the field of struct v whose yaml name is name.
func fieldByYAML(v reflect.Value, name string) reflect.Value {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if n, ok := yamlName(t.Field(i)); ok && n == name {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

// objKey is how URLs name object i of kind: its id, or its position for
// routes.
func objKey(k kindInfo, list reflect.Value, i int) string {
	if k.IDField == "" {
		return strconv.Itoa(i)
	}
	return fieldByYAML(list.Index(i), k.IDField).String()
}

func findObj(k kindInfo, list reflect.Value, key string) int {
	if k.IDField == "" {
		n, err := strconv.Atoi(key)
		if err != nil || n < 0 || n >= list.Len() {
			return -1
		}
		return n
	}
	for i := 0; i < list.Len(); i++ {
		if fieldByYAML(list.Index(i), k.IDField).String() == key {
			return i
		}
	}
	return -1
}

// draft is a login's working copy of the site.
type draft struct {
	Base    int64      // the applied version it started from
	Site    *site.Site // never modified in place: edits copy
	Applied *config.Snapshot
	Exists  bool // stored (it has changes)
	Rebased string
	// Conflicts are objects changed both in the draft and by an apply
	// since the draft's base; the draft cannot be applied until resolved.
	Conflicts []changeset.Conflict
	Changes   []changeset.ObjectChange
}

// loadDraft returns login's draft. A draft whose base is no longer the
// applied version is rebased onto it when nobody else touched the same
// objects, and the page says so.
func (c *Console) loadDraft(ctx context.Context, login string) (*draft, error) {
	cur := c.Config.Current()
	base, s, _, ok, err := c.getDraft(ctx, login)
	if err != nil {
		return nil, fmt.Errorf("read the draft of %s: %w", login, err)
	}
	if !ok {
		return &draft{Base: cur.Version, Site: cur.Site, Applied: cur}, nil
	}
	d := &draft{Base: base, Site: s, Applied: cur, Exists: true}
	if base != cur.Version {
		baseSite, err := c.Store.VersionSite(ctx, base)
		if err != nil {
			return nil, fmt.Errorf("read version %d, the base of %s's draft: %w", base, login, err)
		}
		merged, conflicts := changeset.Merge(baseSite, s, cur.Site)
		if len(conflicts) > 0 {
			d.Conflicts = conflicts
		} else {
			if err := c.saveDraft(ctx, login, cur.Version, merged); err != nil {
				return nil, fmt.Errorf("save the rebased draft of %s: %w", login, err)
			}
			d.Rebased = fmt.Sprintf("Version %d was applied while you were editing; your draft now builds on it.", cur.Version)
			d.Base, d.Site = cur.Version, merged
		}
	}
	d.Changes = c.changesOf(login, d.Site, cur)
	if len(d.Changes) == 0 && len(d.Conflicts) == 0 {
		// Edited back to what is applied: nothing to review.
		d.Exists = false
	}
	return d, nil
}

// routes registers the console's pages on s.
func (c *Console) routes(s *Server) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	page := func(pattern string, h func(http.ResponseWriter, *http.Request, *pageCtx)) {
		s.HandlePage(pattern, auth.Admin, func(w http.ResponseWriter, r *http.Request) {
			p, _ := PrincipalFrom(r.Context())
			pc := &pageCtx{s: s, c: c, p: p}
			h(w, r, pc)
		})
	}
	page("GET /console", c.overview)
	page("GET /console/system", c.systemForm)
	page("POST /console/system", c.systemSave)
	page("GET /console/review", c.review)
	page("GET /console/review/diff", c.reviewDiff)
	page("POST /console/apply", c.apply)
	page("POST /console/discard", c.discard)
	page("GET /console/history", c.history)
	page("POST /console/history/{v}/restore", c.restore)
	page("GET /console/sitefile", c.siteFilePage)
	page("GET /console/sitefile/download", c.siteFileDownload)
	page("POST /console/sitefile", c.siteFileUpload)
	page("GET /console/phones", c.phones)
	page("GET /console/phones/{number}", c.phoneCard)
	page("POST /console/phones/{number}/reveal", c.phoneReveal)
	page("GET /console/audio", c.audioPage)
	page("GET /console/backup", c.backupPage)
	page("GET /console/tokens", c.tokensPage)
	page("POST /console/tokens", c.tokenCreate)
	page("POST /console/tokens/{name}/revoke", c.tokenRevoke)
	page("GET /console/k/{kind}", c.list)
	page("GET /console/k/{kind}/new", c.editForm)
	page("POST /console/k/{kind}/new", c.save)
	page("GET /console/k/{kind}/o/{key}", c.editForm)
	page("POST /console/k/{kind}/o/{key}", c.save)
	page("POST /console/k/{kind}/o/{key}/delete", c.delete)
	page("POST /console/k/{kind}/o/{key}/move", c.move)
}

// pageCtx is one request's principal and helpers.
type pageCtx struct {
	s *Server
	c *Console
	p auth.Principal
}

// consolePage is the data of every console template.
type consolePage struct {
	pageData
	Nav       []navGroup
	Flash     []flash
	Draft     *draft
	DraftN    int
	Kind      kindInfo
	Body      any
	Loc       *time.Location
	Heading   string
	Crumb     string
	CrumbHref string
}

type navGroup struct {
	Title string
	Links []navLink
}

type navLink struct {
	Title, Href string
	Count       int
	Active      bool
}

type flash struct {
	Kind, Msg string // ok | bad | info
}

const flashCookie = "rbx_flash"

// setFlash leaves a message for the next page this browser loads.
// The cookie is Secure when the page came over HTTPS, as the session's is.
func setFlash(w http.ResponseWriter, r *http.Request, kind, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(kind + "|" + msg), Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 60})
}

func takeFlash(w http.ResponseWriter, r *http.Request) []flash {
	ck, err := r.Cookie(flashCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, Secure: r.TLS != nil})
	v, err := url.QueryUnescape(ck.Value)
	if err != nil {
		return nil
	}
	kind, msg, ok := strings.Cut(v, "|")
	if !ok || (kind != "ok" && kind != "bad" && kind != "info") || len(msg) > 500 {
		return nil
	}
	return []flash{{kind, msg}}
}

// redirect answers a form post with 303 and a message for the next page.
func redirect(w http.ResponseWriter, r *http.Request, to, kind, msg string) {
	if msg != "" {
		setFlash(w, r, kind, msg)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// base fills the parts of every console page.
func (pc *pageCtx) base(w http.ResponseWriter, r *http.Request, title, active string, d *draft) consolePage {
	cp := consolePage{pageData: pageData{Title: title, Page: "console", User: toJSON(pc.p), Active: "console"}, Draft: d, Heading: title}
	cp.Flash = takeFlash(w, r)
	if d != nil {
		cp.Loc = d.Applied.Loc
		cp.DraftN = len(d.Changes)
		if d.Rebased != "" {
			cp.Flash = append(cp.Flash, flash{"info", d.Rebased})
		}
	}
	if cp.Loc == nil {
		cp.Loc = pc.c.Config.Current().Loc
	}
	var s *site.Site
	if d != nil {
		s = d.Site
	}
	groups := map[string]*navGroup{}
	var order []string
	for _, k := range consoleKinds {
		g := groups[k.Group]
		if g == nil {
			g = &navGroup{Title: k.Group}
			groups[k.Group] = g
			order = append(order, k.Group)
		}
		n := 0
		if s != nil {
			n = siteField(s, k.Key).Len()
		}
		g.Links = append(g.Links, navLink{Title: k.Title, Href: "/console/k/" + k.Key, Count: n, Active: active == k.Key})
	}
	groups["Audio"].Links = append([]navLink{{Title: "Audio files", Href: "/console/audio", Count: -1, Active: active == "audio"}}, groups["Audio"].Links...)
	groups["Lines and trunks"].Links = append([]navLink{{Title: "Phones and trunks", Href: "/console/phones", Count: -1, Active: active == "phones"}}, groups["Lines and trunks"].Links...)
	groups["People"].Links = append(groups["People"].Links, navLink{Title: "API tokens", Href: "/console/tokens", Count: -1, Active: active == "tokens"})
	for _, o := range order {
		cp.Nav = append(cp.Nav, *groups[o])
	}
	cp.Nav = append(cp.Nav, navGroup{Title: "System", Links: []navLink{
		{Title: "Settings", Href: "/console/system", Count: -1, Active: active == "system"},
		{Title: "Review and apply", Href: "/console/review", Count: -1, Active: active == "review"},
		{Title: "History", Href: "/console/history", Count: -1, Active: active == "history"},
		{Title: "Site file", Href: "/console/sitefile", Count: -1, Active: active == "sitefile"},
		{Title: "Backup", Href: "/console/backup", Count: -1, Active: active == "backup"},
	}})
	return cp
}

func (pc *pageCtx) render(w http.ResponseWriter, status int, name string, cp consolePage) {
	cp.pageData = pc.s.filled(cp.pageData)
	pc.s.execute(w, status, name, cp)
}

// fail answers a page request that could not be served. The server's
// request log records the reason of every 5xx, rate-limited, so it is not
// logged twice here.
func (pc *pageCtx) fail(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, "internal error: "+err.Error(), http.StatusInternalServerError)
}

// kindDraft is the kind a page is about (404 for an unknown one) and the
// login's draft.
func (pc *pageCtx) kindDraft(w http.ResponseWriter, r *http.Request) (kindInfo, *draft, bool) {
	k, ok := kindByKey(r.PathValue("kind"))
	if !ok {
		http.NotFound(w, r)
		return kindInfo{}, nil, false
	}
	d, ok := pc.draft(w, r)
	return k, d, ok
}

func (pc *pageCtx) draft(w http.ResponseWriter, r *http.Request) (*draft, bool) {
	d, err := pc.c.loadDraft(r.Context(), pc.p.Login)
	if err != nil {
		pc.fail(w, r, err)
		return nil, false
	}
	return d, true
}

// overview lists every kind with its count.
func (c *Console) overview(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	cp := pc.base(w, r, "Configuration", "", d)
	cp.Body = consoleKinds
	pc.render(w, http.StatusOK, "console-overview", cp)
}

// listRow is one object in a list page.
type listRow struct {
	Key, Href string
	Cells     []string
	State     string // added | changed | "" (as applied)
	Search    string
}

type listBody struct {
	Columns []string
	Rows    []listRow
	Query   string
	Total   int
	Ordered bool
}

func (c *Console) list(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	k, d, ok := pc.kindDraft(w, r)
	if !ok {
		return
	}
	state := map[string]string{}
	for _, ch := range d.Changes {
		if ch.Kind == k.Key {
			state[ch.Key] = string(ch.Op)
		}
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	list := siteField(d.Site, k.Key)
	body := listBody{Query: q, Total: list.Len(), Ordered: k.IDField == ""}
	for _, col := range k.Columns {
		body.Columns = append(body.Columns, labelOf(col))
	}
	for i := 0; i < list.Len(); i++ {
		e := list.Index(i)
		row := listRow{Key: objKey(k, list, i)}
		row.Href = "/console/k/" + k.Key + "/o/" + url.PathEscape(row.Key)
		for _, col := range k.Columns {
			row.Cells = append(row.Cells, valueString(fieldByYAML(e, col)))
		}
		row.Search = strings.ToLower(strings.Join(row.Cells, " "))
		if q != "" && !strings.Contains(row.Search, strings.ToLower(q)) {
			continue
		}
		row.State = state[changeset.Key(k.Key, e.Interface())]
		body.Rows = append(body.Rows, row)
	}
	cp := pc.base(w, r, k.Title, k.Key, d)
	cp.Kind, cp.Body = k, body
	pc.render(w, http.StatusOK, "console-list", cp)
}

// formBody is an object's form.
type formBody struct {
	New       bool
	Key       string
	Action    string
	Fields    []formField
	Problems  []string // not shown at a field
	Breaks    []string // problems this change would cause elsewhere
	Picture   any
	PlanAt    string
	UsedBy    []string
	PhoneHref string
	PickData  []pickBlock
}

func (c *Console) editForm(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	k, d, ok := pc.kindDraft(w, r)
	if !ok {
		return
	}
	list := siteField(d.Site, k.Key)
	key := r.PathValue("key")
	var v reflect.Value
	if key == "" {
		v = reflect.New(list.Type().Elem()).Elem()
	} else {
		i := findObj(k, list, key)
		if i < 0 {
			redirect(w, r, "/console/k/"+k.Key, "bad", fmt.Sprintf("There is no %s %s (it may have been deleted).", k.Singular, key))
			return
		}
		v = list.Index(i)
	}
	c.showForm(w, r, pc, d, k, key, v, nil, nil, nil, http.StatusOK)
}

// showForm draws the form of v with problems (by path relative to the
// object) and the raw values of fields that did not parse.
func (c *Console) showForm(w http.ResponseWriter, r *http.Request, pc *pageCtx, d *draft, k kindInfo, key string, v reflect.Value,
	problems map[string][]string, raw map[string]string, breaks []string, status int) {
	f := &form{kind: k.Key, pick: &pickers{s: d.Site}, problems: problems, used: map[string]bool{}, raw: raw}
	body := formBody{New: key == "", Key: key, Fields: f.render(v), Breaks: breaks}
	body.Problems = f.unshown()
	body.PickData = f.pick.blocks()
	title := "New " + k.Singular
	body.Action = "/console/k/" + k.Key + "/new"
	if key != "" {
		title = strings.ToUpper(k.Singular[:1]) + k.Singular[1:] + " " + key
		body.Action = "/console/k/" + k.Key + "/o/" + url.PathEscape(key)
		body.UsedBy = usedBy(d.Site, k, v)
		if k.Key == "extensions" {
			body.PhoneHref = "/console/phones/" + url.PathEscape(key)
		}
	}
	body.Picture, body.PlanAt = c.picture(r, d, k, v)
	cp := pc.base(w, r, title, k.Key, d)
	cp.Kind, cp.Body = k, body
	cp.Crumb, cp.CrumbHref = k.Title, "/console/k/"+k.Key
	pc.render(w, status, "console-form", cp)
}

// withObject returns a copy of s where object i of kind is v (appended
// when i < 0, removed when v is invalid). s itself is not touched.
func withObject(s *site.Site, kind string, i int, v reflect.Value) *site.Site {
	ns := *s
	field := siteField(&ns, kind)
	old := field
	out := reflect.MakeSlice(old.Type(), 0, old.Len()+1)
	for j := 0; j < old.Len(); j++ {
		switch {
		case j == i && v.IsValid():
			out = reflect.Append(out, v)
		case j == i:
		default:
			out = reflect.Append(out, old.Index(j))
		}
	}
	if i < 0 {
		out = reflect.Append(out, v)
	}
	field.Set(out)
	return &ns
}

// problemsOf splits a site's problems into those of one object (by path
// relative to it) and the rest (as text).
func problemsOf(errs site.Errors, prefix string) (mine map[string][]string, rest []string) {
	mine = map[string][]string{}
	for _, p := range errs {
		switch {
		case p.Field == prefix:
			mine[""] = append(mine[""], p.Msg)
		case strings.HasPrefix(p.Field, prefix+".") || strings.HasPrefix(p.Field, prefix+"["):
			rel := strings.TrimPrefix(strings.TrimPrefix(p.Field, prefix), ".")
			mine[rel] = append(mine[rel], p.Msg)
		default:
			rest = append(rest, p.Error())
		}
	}
	return mine, rest
}

// newProblems returns the problems in after that were not in before.
func newProblems(before, after []string) []string {
	seen := map[string]int{}
	for _, p := range before {
		seen[p]++
	}
	var out []string
	for _, p := range after {
		if seen[p] > 0 {
			seen[p]--
			continue
		}
		out = append(out, p)
	}
	return out
}

// textProblems is every problem as text, to compare before and after an
// edit.
func textProblems(errs site.Errors) []string {
	out := make([]string, len(errs))
	for i, p := range errs {
		out[i] = p.Error()
	}
	return out
}

func (c *Console) save(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	k, ok := kindByKey(r.PathValue("kind"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		redirect(w, r, "/console/k/"+k.Key, "bad", "The form could not be read: "+err.Error())
		return
	}
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	list := siteField(d.Site, k.Key)
	key := r.PathValue("key")
	idx := -1
	var old reflect.Value
	if key != "" {
		idx = findObj(k, list, key)
		if idx < 0 {
			redirect(w, r, "/console/k/"+k.Key, "bad", fmt.Sprintf("There is no %s %s any more: it was deleted or renamed.", k.Singular, key))
			return
		}
		old = list.Index(idx)
	}
	v := reflect.New(list.Type().Elem()).Elem()
	problems, raw := parseForm(k.Key, r.PostForm, v, old)
	c.requiredSecrets(k, v, old, problems)
	next := withObject(d.Site, k.Key, idx, v)
	pos := idx
	if pos < 0 {
		pos = list.Len()
	}
	prefix := k.Key + "[" + strconv.Itoa(pos) + "]"
	mine, rest := problemsOf(next.Validate(), prefix)
	for p, msgs := range mine {
		problems[p] = append(problems[p], msgs...)
	}
	_, before := problemsOf(d.Site.Validate(), prefix)
	breaks := newProblems(before, rest)
	if idx < 0 {
		// A new object shifts nothing; an edit may break references to the
		// old name.
		breaks = newProblems(textProblems(d.Site.Validate()), rest)
	}
	if len(problems) > 0 || len(breaks) > 0 {
		c.showForm(w, r, pc, d, k, key, v, problems, raw, breaks, http.StatusUnprocessableEntity)
		return
	}
	if k.Key == "users" {
		// The draft keeps the new password's hash, never the password.
		if u := v.Interface().(site.User); u.Password != "" {
			h, err := c.Store.HashPassword(u.Password)
			if err != nil {
				pc.fail(w, r, err)
				return
			}
			u.Password, u.PasswordHash = "", h
			next = withObject(d.Site, k.Key, idx, reflect.ValueOf(u))
		}
	}
	if err := c.saveDraft(r.Context(), pc.p.Login, d.Base, next); err != nil {
		pc.fail(w, r, err)
		return
	}
	name := objKey(k, siteField(next, k.Key), pos)
	verb := "Changed"
	if idx < 0 {
		verb = "Added"
	}
	redirect(w, r, "/console/k/"+k.Key, "ok", fmt.Sprintf("%s %s %s in your draft. Review and apply to put it in use.", verb, k.Singular, name))
}

// parseForm reads a posted form into v, keeping old's secrets where the
// form left them empty, and returns the values that could not be read: the
// problem at each path and the text typed there, to show again.
func parseForm(kind string, vals url.Values, v, old reflect.Value) (problems map[string][]string, raw map[string]string) {
	ps := &parser{kind: kind, vals: vals}
	ps.parse(v)
	keepSecrets(kind, v, old, "")
	problems, raw = map[string][]string{}, map[string]string{}
	for _, p := range ps.probs {
		problems[p.Path] = append(problems[p.Path], p.Msg)
		raw[p.Path] = p.Raw
	}
	return problems, raw
}

// requiredSecrets asks for a password where a new object needs one.
func (c *Console) requiredSecrets(k kindInfo, v, old reflect.Value, problems map[string][]string) {
	switch k.Key {
	case "extensions":
		e := v.Interface().(site.Extension)
		switch {
		case e.Secret == "":
			problems["secret"] = append(problems["secret"], "a new extension needs a SIP password (phones cannot log in without one)")
		case len(e.Secret) < 8:
			problems["secret"] = append(problems["secret"], "the SIP password must have at least 8 characters")
		}
	case "users":
		u := v.Interface().(site.User)
		switch {
		case u.Password == "" && u.PasswordHash == "":
			problems["password"] = append(problems["password"], "a new web user needs a password")
		case u.Password != "":
			if err := CheckAdminPassword(u.Login, u.Password); err != nil {
				problems["password"] = append(problems["password"], err.Error())
			}
		}
		if u.Role == site.RoleAgent && u.Agent == "" {
			problems["agent"] = append(problems["agent"], "an agent login must be bound to an agent")
		}
	}
}

func (c *Console) delete(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	k, d, ok := pc.kindDraft(w, r)
	if !ok {
		return
	}
	list := siteField(d.Site, k.Key)
	key := r.PathValue("key")
	idx := findObj(k, list, key)
	if idx < 0 {
		redirect(w, r, "/console/k/"+k.Key, "bad", fmt.Sprintf("There is no %s %s.", k.Singular, key))
		return
	}
	if used := usedBy(d.Site, k, list.Index(idx)); len(used) > 0 {
		redirect(w, r, "/console/k/"+k.Key+"/o/"+url.PathEscape(key), "bad",
			fmt.Sprintf("%s %s is used by %s: change those first. Nothing was deleted.", strings.ToUpper(k.Singular[:1])+k.Singular[1:], key, strings.Join(used, "; ")))
		return
	}
	next := withObject(d.Site, k.Key, idx, reflect.Value{})
	if err := c.saveDraft(r.Context(), pc.p.Login, d.Base, next); err != nil {
		pc.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/k/"+k.Key, "ok", fmt.Sprintf("Deleted %s %s in your draft. Review and apply to put it in use.", k.Singular, key))
}

// move shifts a route up or down: the first matching route wins, so order
// matters.
func (c *Console) move(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	k, ok := kindByKey(r.PathValue("kind"))
	if !ok || k.IDField != "" {
		http.NotFound(w, r)
		return
	}
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	list := siteField(d.Site, k.Key)
	i := findObj(k, list, r.PathValue("key"))
	j := i - 1
	if r.FormValue("dir") == "down" {
		j = i + 1
	}
	if i < 0 || j < 0 || j >= list.Len() {
		redirect(w, r, "/console/k/"+k.Key, "bad", "That route cannot move further.")
		return
	}
	ns := *d.Site
	f := siteField(&ns, k.Key)
	out := reflect.AppendSlice(reflect.MakeSlice(f.Type(), 0, f.Len()), f)
	a, b := out.Index(i).Interface(), out.Index(j).Interface()
	out.Index(i).Set(reflect.ValueOf(b))
	out.Index(j).Set(reflect.ValueOf(a))
	f.Set(out)
	if err := c.saveDraft(r.Context(), pc.p.Login, d.Base, &ns); err != nil {
		pc.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/k/"+k.Key, "ok", fmt.Sprintf("Moved %s %d to position %d in your draft.", k.Singular, i+1, j+1))
}

// usedBy says where an object is referred to, by validating the site
// without it: every new problem names a user.
func usedBy(s *site.Site, k kindInfo, v reflect.Value) []string {
	if k.IDField == "" {
		return nil
	}
	list := siteField(s, k.Key)
	idx := findObj(k, list, fieldByYAML(v, k.IDField).String())
	if idx < 0 {
		return nil
	}
	without := withObject(s, k.Key, idx, reflect.Value{})
	prefix := k.Key + "["
	var before []string
	for _, p := range s.Validate() {
		if !strings.HasPrefix(p.Field, prefix) {
			before = append(before, p.Error())
		}
	}
	var after []string
	for _, p := range without.Validate() {
		if !strings.HasPrefix(p.Field, prefix) {
			after = append(after, p.Error())
		}
	}
	out := newProblems(before, after)
	for i, p := range out {
		out[i] = describePath(s, p)
	}
	return out
}

// describePath turns "inbound[0].to: unknown destination" into words that
// name the object: "inbound route 1 (5551234), to".
func describePath(s *site.Site, p string) string {
	field, _, _ := strings.Cut(p, ": ")
	kind, rest, ok := strings.Cut(field, "[")
	if !ok {
		return field
	}
	num, tail, _ := strings.Cut(rest, "]")
	k, ok := kindByKey(kind)
	if !ok {
		return field
	}
	i, err := strconv.Atoi(num)
	list := siteField(s, kind)
	if err != nil || i >= list.Len() {
		return field
	}
	name := objKey(k, list, i)
	if k.IDField == "" {
		name = strconv.Itoa(i+1) + " (" + valueString(list.Index(i).Field(0)) + ")"
	}
	tail = strings.TrimPrefix(tail, ".")
	if tail != "" {
		return k.Singular + " " + name + " (" + tail + ")"
	}
	return k.Singular + " " + name
}

// systemForm is the settings page: system is one object.
func (c *Console) systemForm(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	c.showSystem(w, r, pc, d, reflect.ValueOf(d.Site.System), nil, nil, nil, http.StatusOK)
}

func (c *Console) showSystem(w http.ResponseWriter, r *http.Request, pc *pageCtx, d *draft, v reflect.Value, problems map[string][]string, raw map[string]string, breaks []string, status int) {
	f := &form{kind: "system", pick: &pickers{s: d.Site}, problems: problems, used: map[string]bool{}, raw: raw}
	body := formBody{Key: "system", Action: "/console/system", Fields: f.render(v), Breaks: breaks}
	body.Problems = f.unshown()
	body.PickData = f.pick.blocks()
	cp := pc.base(w, r, "Settings", "system", d)
	cp.Kind = kindInfo{Key: "system", Title: "Settings", Singular: "settings"}
	cp.Body = body
	pc.render(w, status, "console-form", cp)
}

func (c *Console) systemSave(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	if err := r.ParseForm(); err != nil {
		redirect(w, r, "/console/system", "bad", "The form could not be read: "+err.Error())
		return
	}
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	var sys site.System
	v := reflect.ValueOf(&sys).Elem()
	problems, raw := parseForm("system", r.PostForm, v, reflect.ValueOf(d.Site.System))
	next := *d.Site
	next.System = sys
	mine, rest := problemsOf(next.Validate(), "system")
	for p, msgs := range mine {
		problems[p] = append(problems[p], msgs...)
	}
	_, before := problemsOf(d.Site.Validate(), "system")
	breaks := newProblems(before, rest)
	if len(problems) > 0 || len(breaks) > 0 {
		c.showSystem(w, r, pc, d, v, problems, raw, breaks, http.StatusUnprocessableEntity)
		return
	}
	if err := c.saveDraft(r.Context(), pc.p.Login, d.Base, &next); err != nil {
		pc.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/system", "ok", "Changed the settings in your draft. Review and apply to put them in use.")
}

// reviewBody is the review page: what the draft changes.
type reviewBody struct {
	Changes   []changeset.ObjectChange
	Titles    map[string]string
	Conflicts []changeset.Conflict
	Problems  []string
	Base      int64
	// RestoredFrom is the version being restored, when the draft came
	// from the history page; the apply records it.
	RestoredFrom string
}

func (c *Console) review(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	body := reviewBody{Changes: d.Changes, Conflicts: d.Conflicts, Base: d.Base, Titles: kindTitles()}
	if v, err := strconv.ParseInt(r.URL.Query().Get("restored_from"), 10, 64); err == nil && v > 0 {
		body.RestoredFrom = strconv.FormatInt(v, 10)
	}
	if d.Exists {
		body.Problems = textProblems(d.Site.Validate())
	}
	cp := pc.base(w, r, "Review and apply", "review", d)
	cp.Body = body
	pc.render(w, http.StatusOK, "console-review", cp)
}

// appliedFile is the applied version's site file (without secrets),
// written once per version.
func (c *Console) appliedFile(snap *config.Snapshot) ([]byte, error) {
	c.draftMu.Lock()
	if c.applied.version == snap.Version && c.applied.file != nil {
		defer c.draftMu.Unlock()
		return c.applied.file, nil
	}
	c.draftMu.Unlock()
	b, err := site.Marshal(snap.Site, false)
	if err != nil {
		return nil, err
	}
	c.draftMu.Lock()
	c.applied.version, c.applied.file = snap.Version, b
	c.draftMu.Unlock()
	return b, nil
}

// reviewDiff is the site-file diff of the draft, as text: the review page
// loads it when asked, since writing a big site file twice takes longer
// than the rest of the review.
func (c *Console) reviewDiff(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	a, err := c.appliedFile(d.Applied)
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	b, err := site.Marshal(d.Site, false)
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	diff := changeset.UnifiedDiff(fmt.Sprintf("applied (version %d)", d.Applied.Version), "your draft", a, b)
	if diff == "" {
		diff = "The draft's site file is the same as the applied one.\n"
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, diff)
}

// apply commits login's draft: one transaction, a new version, published
// at once.
func (c *Console) apply(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	c.applyMu.Lock()
	defer c.applyMu.Unlock()
	ctx := r.Context()
	base, s, _, ok, err := c.getDraft(ctx, pc.p.Login)
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	if !ok {
		redirect(w, r, "/console/review", "info", "Your draft has no changes to apply.")
		return
	}
	// The version this page showed: an apply of an older review is refused
	// even when the draft has since been rebased.
	if v := r.FormValue("base"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n != base {
			redirect(w, r, "/console/review", "bad", fmt.Sprintf("Your draft changed since this page was shown (it now builds on version %d): review it again, then apply.", base))
			return
		}
	}
	if errs := s.Validate(); len(errs) > 0 {
		redirect(w, r, "/console/review", "bad", fmt.Sprintf("Your draft has %d problem(s); fix them before applying. Nothing was changed.", len(errs)))
		return
	}
	restored, _ := strconv.ParseInt(r.FormValue("restored_from"), 10, 64)
	ch, err := c.Store.ImportSiteWith(ctx, s, pc.p.Login, store.ImportOptions{Base: base, RestoredFrom: restored, Action: "config.apply",
		// A draft is the whole stored site plus edits: a user it lacks was
		// removed in the console, on purpose.
		ReplaceUsers: true})
	var stale *store.StaleError
	if errors.As(err, &stale) {
		// Someone applied since this draft's base: never overwrite.
		// Loading the draft rebases it when the changes do not overlap.
		msg := fmt.Sprintf("Not applied: %s applied version %d at %s while you were editing. Your draft was kept: review the merged changes and apply again.",
			stale.Actor, stale.Current, stale.Applied.In(c.Config.Current().Loc).Format("2006-01-02 15:04:05"))
		if c.Reload != nil {
			_ = c.Reload(ctx)
		}
		redirect(w, r, "/console/review", "bad", msg)
		return
	}
	if err != nil {
		var probs site.Errors
		if errors.As(err, &probs) {
			redirect(w, r, "/console/review", "bad", "Not applied: "+probs.Error())
			return
		}
		var last *store.LastAdminError
		if errors.As(err, &last) {
			redirect(w, r, "/console/review", "bad", "Not applied: "+last.Error()+".")
			return
		}
		pc.fail(w, r, fmt.Errorf("apply the draft of %s: %w", pc.p.Login, err))
		return
	}
	if err := c.deleteDraft(ctx, pc.p.Login); err != nil {
		c.Logger.Warn("delete applied draft", "login", pc.p.Login, "err", err)
	}
	if c.Reload != nil {
		if err := c.Reload(ctx); err != nil {
			c.Logger.Error("publish applied configuration", "version", ch.Version, "err", err)
		}
	}
	c.Logger.Info("configuration applied", "login", pc.p.Login, "version", ch.Version, "kinds", len(ch.Kinds))
	redirect(w, r, "/console/history", "ok", fmt.Sprintf("Applied: version %d is in use. Calls in progress keep the configuration they started with.", ch.Version))
}

func (c *Console) discard(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	if err := c.deleteDraft(r.Context(), pc.p.Login); err != nil {
		pc.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/review", "ok", "Discarded your draft. Nothing that is in use changed.")
}

type historyBody struct {
	Versions []store.SiteVersion
	Current  int64
	// Audit is the audit log's latest rows: refused requests and calls,
	// bans, changes (the whole log: GET /api/v1/audit).
	Audit []store.AuditRow
}

// historyAudit is how many audit rows the history page shows.
const historyAudit = 50

func (c *Console) history(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	d, ok := pc.draft(w, r)
	if !ok {
		return
	}
	vs, err := c.Store.ListVersions(r.Context(), 200)
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	audit, err := c.Store.ListAuditFilter(r.Context(), store.AuditFilter{Limit: historyAudit})
	if err != nil {
		pc.fail(w, r, err)
		return
	}
	cp := pc.base(w, r, "History", "history", d)
	cp.Body = historyBody{Versions: vs, Current: d.Applied.Version, Audit: audit}
	pc.render(w, http.StatusOK, "console-history", cp)
}

// restore puts an earlier version in the draft, to review and apply like
// any change.
func (c *Console) restore(w http.ResponseWriter, r *http.Request, pc *pageCtx) {
	v, err := strconv.ParseInt(r.PathValue("v"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	old, err := c.Store.VersionSite(r.Context(), v)
	if err != nil {
		redirect(w, r, "/console/history", "bad", fmt.Sprintf("Version %d cannot be restored: %v", v, err))
		return
	}
	cur := c.Config.Current()
	if err := c.saveDraft(r.Context(), pc.p.Login, cur.Version, old); err != nil {
		pc.fail(w, r, err)
		return
	}
	redirect(w, r, "/console/review?restored_from="+strconv.FormatInt(v, 10), "info",
		fmt.Sprintf("Version %d is in your draft. Review what restoring it changes, then apply.", v))
}
