package web

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ringbox/firmware/auth"
	"ringbox/firmware/cdr"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
	"ringbox/firmware/voicemail"
)

// apiCDRFilter reads the call record API's query: from, to (RFC 3339),
// number, cause, call, agent, extension, queue, outcome, limit, offset.
// The scope is the handler's to set.
func apiCDRFilter(q url.Values) (store.CDRFilter, error) {
	var f store.CDRFilter
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, errors.New(p.name + ": want an RFC 3339 time like 2026-11-21T09:00:00Z")
			}
			*p.dst = t
		}
	}
	f.Number, f.Cause, f.CallID = q.Get("number"), q.Get("cause"), q.Get("call")
	f.Agent, f.Extension, f.Queue, f.Outcome = q.Get("agent"), q.Get("extension"), q.Get("queue"), q.Get("outcome")
	for _, p := range []struct {
		name string
		dst  *int
	}{{"limit", &f.Limit}, {"offset", &f.Offset}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, errors.New(p.name + ": want a non-negative number")
			}
			*p.dst = n
		}
	}
	if f.Limit == 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	return f, nil
}

// pageCDRLimit is how many calls the page shows at once.
const pageCDRLimit = 200

type callsBody struct {
	From, To                        string
	Number, Extension, Queue, Agent string
	Outcome                         string
	Error                           string
	Calls                           []callRow
	Agents, Queues                  []pick
	Loc                             *time.Location
	Query                           template.URL // the search, for export and paging links
	Offset, Next, Prev              int
	More                            bool
	Boxes                           []mailbox
	CanDelete                       bool
}

type pick struct{ Value, Label string }

type callRow struct {
	cdr.Record
	Outcome  string
	Duration string // h:mm:ss
}

type mailbox struct {
	Box      string
	Name     string
	Messages []vmRow
}

type vmRow struct {
	store.VoicemailMessage
	Length string // h:mm:ss
}

type callsPage struct {
	pageData
	Body callsBody
}

func (rp *Reports) calls(s *Server, w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	st, loc := rp.snap()
	sc := ScopeOf(p, st)
	q := r.URL.Query()
	from, to, fromS, toS, err := datePeriod(r, rp.Now(), loc)
	b := callsBody{From: fromS, To: toS, Number: q.Get("number"), Extension: q.Get("extension"), Queue: q.Get("queue"),
		Agent: q.Get("agent"), Outcome: q.Get("outcome"), Loc: loc, CanDelete: rp.Voicemail != nil}
	for _, id := range sc.AgentIDs(st) {
		name := id
		for _, a := range st.Agents {
			if a.ID == id && a.Name != "" {
				name = a.Name + " (" + id + ")"
			}
		}
		b.Agents = append(b.Agents, pick{id, name})
	}
	for _, qu := range st.Queues {
		if sc.Queue(qu.ID) {
			l := qu.ID
			if qu.Name != "" {
				l = qu.Name + " (" + qu.ID + ")"
			}
			b.Queues = append(b.Queues, pick{qu.ID, l})
		}
	}
	v := url.Values{}
	for _, k := range []string{"from", "to", "number", "extension", "queue", "agent", "outcome"} {
		if x := q.Get(k); x != "" {
			v.Set(k, x)
		}
	}
	// Encoded by url.Values: safe to put in a link as it is.
	b.Query = template.URL(v.Encode())
	page := callsPage{pageData: pageData{Title: "Calls", Page: "shell", Active: "calls", User: toJSON(p)}}
	status := http.StatusOK
	if err == nil {
		b.Offset, _ = strconv.Atoi(q.Get("offset"))
		b.Offset = max(b.Offset, 0)
		f := store.CDRFilter{From: from, To: to, Number: b.Number, Extension: b.Extension, Queue: b.Queue, Agent: b.Agent,
			Outcome: b.Outcome, Scope: sc.CDR(), Limit: pageCDRLimit + 1, Offset: b.Offset}
		csvOut := q.Get("format") == "csv"
		if csvOut {
			f.Limit, f.Offset = store.MaxCDRLimit, 0
		}
		var recs []cdr.Record
		recs, err = rp.Store.ListCDR(r.Context(), f)
		switch {
		case errors.Is(err, store.ErrBadFilter):
			err = errors.New("outcome: pick answered, unanswered or voicemail")
		case err != nil:
			rp.Logger.Error("list call records", "login", p.Login, "err", err)
			http.Error(w, "the call records could not be read: "+err.Error(), http.StatusInternalServerError)
			return
		case csvOut:
			writeCDRCSV(w, recs)
			return
		}
		if len(recs) > pageCDRLimit {
			recs, b.More = recs[:pageCDRLimit], true
		}
		b.Next, b.Prev = b.Offset+pageCDRLimit, max(b.Offset-pageCDRLimit, 0)
		for _, c := range recs {
			row := callRow{Record: c, Outcome: outcomeOf(c)}
			if !c.End.IsZero() {
				row.Duration = hms(c.End.Sub(c.Start))
			}
			b.Calls = append(b.Calls, row)
		}
	}
	if err != nil {
		b.Error, status = err.Error(), http.StatusBadRequest
	}
	b.Boxes, err = rp.mailboxes(r, p, st)
	if err != nil {
		rp.Logger.Error("list voicemail", "login", p.Login, "err", err)
		http.Error(w, "voicemail could not be read: "+err.Error(), http.StatusInternalServerError)
		return
	}
	page.Body = b
	rp.render(s, w, status, page)
}

// outcomeOf says how a call ended, in words.
func outcomeOf(c cdr.Record) string {
	if c.AnsweredBy != "" {
		return "Answered"
	}
	for _, p := range c.Path {
		if strings.HasPrefix(p, "voicemail:") {
			return "Voicemail"
		}
	}
	return "Not answered"
}

// ownBoxes are the mailboxes whose messages p may hear and delete: the
// box of the extension of p's agent, and for admins the site's group
// boxes, which belong to no one person. A manager does not hear their
// team's voicemail: a mailbox is its owner's.
func ownBoxes(p auth.Principal, st *site.Site) []mailbox {
	var out []mailbox
	if p.Agent != "" {
		for _, a := range st.Agents {
			if a.ID != p.Agent || a.Extension == "" {
				continue
			}
			if b, ok := voicemail.Lookup(st, a.Extension); ok && b.Extension {
				out = append(out, mailbox{Box: b.ID, Name: b.Name})
			}
		}
	}
	if p.Role == auth.Admin {
		for _, m := range st.Voicemail {
			out = append(out, mailbox{Box: m.Box, Name: m.Name})
		}
	}
	return out
}

func (rp *Reports) mailboxes(r *http.Request, p auth.Principal, st *site.Site) ([]mailbox, error) {
	boxes := ownBoxes(p, st)
	for i := range boxes {
		msgs, err := rp.Store.ListVoicemail(r.Context(), boxes[i].Box)
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			boxes[i].Messages = append(boxes[i].Messages, vmRow{m, hms(m.Duration)})
		}
	}
	return boxes, nil
}

// ownsBox reports whether p may hear and delete box's messages.
func ownsBox(p auth.Principal, st *site.Site, box string) bool {
	for _, b := range ownBoxes(p, st) {
		if b.Box == box {
			return true
		}
	}
	return false
}

// recording serves a call's recording when the call is in the caller's
// scope: 404 for a call that does not exist or has no recording, 403 for
// another team's call.
func (rp *Reports) recording(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	st, _ := rp.snap()
	id := r.PathValue("id")
	sc := ScopeOf(p, st)
	recs, err := rp.Store.ListCDR(r.Context(), store.CDRFilter{CallID: id, Scope: sc.CDR(), Limit: 1})
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "read the call record: "+err.Error())
		return
	}
	if len(recs) == 0 {
		if !sc.All {
			if any, err := rp.Store.ListCDR(r.Context(), store.CDRFilter{CallID: id, Limit: 1}); err == nil && len(any) > 0 {
				WriteError(w, http.StatusForbidden, "you may hear only your own calls and those of the agents who report to you")
				return
			}
		}
		WriteError(w, http.StatusNotFound, "no such call")
		return
	}
	rec := recs[0].Recording
	if rec == "" || rp.RecordingsDir == "" {
		WriteError(w, http.StatusNotFound, "this call was not recorded")
		return
	}
	rel, err := filepath.Rel(rp.RecordingsDir, rec)
	if !filepath.IsAbs(rec) {
		rel, err = rec, nil
	}
	if err != nil {
		WriteError(w, http.StatusNotFound, "this call's recording is not in the recordings directory")
		return
	}
	serveFile(w, r, rp.RecordingsDir, rel, "call-"+safeName(id)+".wav")
}

// messageAudio serves a voicemail message to its mailbox's owner; the
// first full listen moves it to the old messages, as on the phone.
func (rp *Reports) messageAudio(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	st, _ := rp.snap()
	m, ok := rp.message(w, r, p, st)
	if !ok {
		return
	}
	// A player's first request asks for the whole file, or from byte 0
	// (Chrome sends Range: bytes=0-); seeking asks for later bytes and is
	// not a new listen.
	rng := r.Header.Get("Range")
	if !m.Heard && (rng == "" || strings.HasPrefix(rng, "bytes=0-")) && rp.Voicemail != nil {
		if err := rp.Voicemail.MarkHeard(r.Context(), st, m.Box, m.ID); err != nil {
			rp.Logger.Warn("mark voicemail heard", "id", m.ID, "err", err)
		}
	}
	serveFile(w, r, rp.DataDir, m.File, "voicemail-"+safeName(m.Box)+"-"+strconv.FormatInt(m.ID, 10)+".wav")
}

// message finds the message of the request's {id} and checks that p owns
// its mailbox, answering the error itself when not.
func (rp *Reports) message(w http.ResponseWriter, r *http.Request, p auth.Principal, st *site.Site) (store.VoicemailMessage, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		WriteError(w, http.StatusNotFound, "no such message")
		return store.VoicemailMessage{}, false
	}
	m, err := rp.Store.VoicemailByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, "no such message")
		return m, false
	}
	if err != nil {
		WriteError(w, http.StatusInternalServerError, err.Error())
		return m, false
	}
	if !ownsBox(p, st, m.Box) {
		WriteError(w, http.StatusForbidden, "only the mailbox's owner may hear or delete its messages")
		return m, false
	}
	return m, true
}

func (rp *Reports) deleteMessage(w http.ResponseWriter, r *http.Request) {
	p, _ := PrincipalFrom(r.Context())
	st, _ := rp.snap()
	if rp.Voicemail == nil {
		http.Error(w, "voicemail is not available", http.StatusServiceUnavailable)
		return
	}
	m, ok := rp.message(w, r, p, st)
	if !ok {
		return
	}
	if err := rp.Voicemail.Delete(r.Context(), st, m.Box, m.ID, m.File); err != nil {
		rp.Logger.Error("delete voicemail", "id", m.ID, "err", err)
		http.Error(w, "the message could not be deleted: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rp.Logger.Info("voicemail deleted", "login", p.Login, "box", m.Box, "id", m.ID)
	http.Redirect(w, r, "/calls#voicemail", http.StatusSeeOther)
}

// serveFile serves file rel under dir, never outside it (os.Root
// refuses "..", absolute paths and symbolic links that leave dir).
func serveFile(w http.ResponseWriter, r *http.Request, dir, rel, name string) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		WriteError(w, http.StatusNotFound, "the audio file is missing")
		return
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		WriteError(w, http.StatusNotFound, "the audio file is missing")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		WriteError(w, http.StatusNotFound, "the audio file is missing")
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "private, no-store")
	disp := "inline"
	if r.URL.Query().Get("download") != "" {
		disp = "attachment"
	}
	w.Header().Set("Content-Disposition", disp+`; filename="`+name+`"`)
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// safeName keeps a file name to letters, digits, '-', '_' and '.'.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	return string(b)
}
