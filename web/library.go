package web

// The API of the audio library (package library) and of the site import.
//
//	POST   /api/v1/prompts/{id}                admin: upload a prompt (the body is the file)
//	GET    /api/v1/prompts                     manager: uploaded and built-in prompts
//	GET    /api/v1/prompts/{id}/audio          manager: the prompt as a 16 kHz WAV, for an <audio> element
//	DELETE /api/v1/prompts/{id}                admin: remove an uploaded prompt
//	POST   /api/v1/holdmusic/{class}/tracks    admin: add a track to a class
//	GET    /api/v1/holdmusic                   manager: hold-music classes and tracks
//	GET    /api/v1/holdmusic/{class}/tracks/{n}/audio  manager: track n (from 1) as a 16 kHz WAV
//	DELETE /api/v1/holdmusic/{class}           admin: remove a class and its tracks
//	POST   /api/v1/site/import                 admin: a site file and the audio it names (multipart);
//	                                           ?replace_users=1 (or a part of that name) makes the users exactly the file's

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"ringbox/firmware/auth"
	"ringbox/firmware/library"
	"ringbox/firmware/site"
	"ringbox/firmware/store"
)

// maxSiteFileBytes bounds the site file of a site import.
const maxSiteFileBytes = 4 << 20

// LibraryRoutes returns the library's API routes, for [Server.HandleRoute].
func LibraryRoutes(lib *library.Library, log *slog.Logger) []Route {
	if log == nil {
		log = slog.Default()
	}
	a := &libraryAPI{lib: lib, log: log.With("pkg", "web")}
	return []Route{
		{Method: http.MethodPost, Path: "/api/v1/prompts/{id}", Role: auth.Admin, Section: "settings",
			Summary: "Upload a prompt (body: a WAV or MP3 file); replaces a built-in prompt of the same id", Handler: http.HandlerFunc(a.uploadPrompt)},
		{Method: http.MethodGet, Path: "/api/v1/prompts", Role: auth.Manager, Section: "settings",
			Summary: "Uploaded and built-in prompts with their durations", Handler: http.HandlerFunc(a.listPrompts)},
		{Method: http.MethodGet, Path: "/api/v1/prompts/{id}/audio", Role: auth.Manager, Section: "settings",
			Summary: "The prompt as calls play it (uploaded, recorded or built in): audio/wav, 16-bit PCM mono 16 kHz; Range requests work", Handler: http.HandlerFunc(a.promptAudio)},
		{Method: http.MethodDelete, Path: "/api/v1/prompts/{id}", Role: auth.Admin, Section: "settings",
			Summary: "Remove an uploaded prompt unless the configuration uses it", Handler: http.HandlerFunc(a.deletePrompt)},
		{Method: http.MethodPost, Path: "/api/v1/holdmusic/{class}/tracks", Role: auth.Admin, Section: "settings",
			Summary: "Add a track (body: a WAV or MP3 file) to a hold-music class, creating the class if needed", Handler: http.HandlerFunc(a.uploadTrack)},
		{Method: http.MethodGet, Path: "/api/v1/holdmusic", Role: auth.Manager, Section: "settings",
			Summary: "Hold-music classes and their tracks", Handler: http.HandlerFunc(a.listHoldMusic)},
		{Method: http.MethodGet, Path: "/api/v1/holdmusic/{class}/tracks/{n}/audio", Role: auth.Manager, Section: "settings",
			Summary: "Track n (from 1, as listed) of a hold-music class: audio/wav, 16-bit PCM mono 16 kHz; Range requests work", Handler: http.HandlerFunc(a.trackAudio)},
		{Method: http.MethodDelete, Path: "/api/v1/holdmusic/{class}", Role: auth.Admin, Section: "settings",
			Summary: "Remove a hold-music class and its uploaded tracks unless the configuration uses it", Handler: http.HandlerFunc(a.deleteHoldMusic)},
		{Method: http.MethodPost, Path: "/api/v1/site/import", Role: auth.Admin, Section: "settings",
			Summary: "Replace the configuration with a site file and the audio it names (multipart/form-data: part \"site\", one part per audio file named as the site file names it). Web users the file does not list are kept (kept_users) unless replace_users=1; an import removing every admin is refused (409)",
			Handler: http.HandlerFunc(a.importSite)},
	}
}

type libraryAPI struct {
	lib *library.Library
	log *slog.Logger
}

// Problem is one problem of a refused site file, in an API answer.
type Problem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// fail answers err: a library refusal with its status and words, a site
// file's problems with 400 and each problem, anything else with 500 and
// the details only in the log.
func (a *libraryAPI) fail(w http.ResponseWriter, r *http.Request, err error) {
	var probs site.Errors
	if errors.As(err, &probs) {
		out := make([]Problem, len(probs))
		for i, p := range probs {
			out[i] = Problem{File: p.File, Line: p.Line, Field: p.Field, Message: p.Msg}
		}
		n := "1 problem"
		if len(probs) != 1 {
			n = fmt.Sprintf("%d problems", len(probs))
		}
		WriteJSON(w, http.StatusBadRequest, map[string]any{
			"error":    fmt.Sprintf("the site file has %s; nothing was changed:\n%s", n, probs.Error()),
			"problems": out,
		})
		return
	}
	// Users an import would lose: refused, nothing changed.
	var last *store.LastAdminError
	if errors.As(err, &last) {
		WriteError(w, http.StatusConflict, last.Error())
		return
	}
	var kept *store.KeptUserError
	if errors.As(err, &kept) {
		WriteError(w, http.StatusConflict, kept.Error())
		return
	}
	var le *library.Error
	if errors.As(err, &le) {
		status := http.StatusBadRequest
		switch {
		case errors.Is(err, library.ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(err, library.ErrConflict):
			status = http.StatusConflict
		case errors.Is(err, library.ErrTooBig):
			status = http.StatusRequestEntityTooLarge
		case errors.Is(err, library.ErrUnsupported):
			status = http.StatusUnsupportedMediaType
		}
		WriteError(w, status, le.Msg)
		return
	}
	WriteInternalError(w, r, a.log, err)
}

func actor(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok && p.Login != "" {
		return p.Login
	}
	return "api"
}

// audioBody checks an upload's Content-Type and size and returns its body,
// read through a limit, and a file name whose extension hints the format
// to the decoder.
func audioBody(w http.ResponseWriter, r *http.Request) (io.Reader, string, error) {
	ext, err := contentExt(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, "", err
	}
	if r.ContentLength > library.MaxUploadBytes {
		return nil, "", &library.Error{Kind: library.ErrTooBig, Msg: fmt.Sprintf("file is too big: the limit is %d MiB", library.MaxUploadBytes>>20)}
	}
	// One byte over the limit lets the library tell a file that is too big.
	return http.MaxBytesReader(w, r.Body, library.MaxUploadBytes+1), "upload" + ext, nil
}

// contentExt checks the upload's Content-Type and returns a file-name
// extension hinting the format to the decoder ("" when the type says
// nothing).
func contentExt(ct string) (string, error) {
	if ct == "" {
		return "", nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
	case mt == "audio/mpeg" || mt == "audio/mp3":
		return ".mp3", nil
	case mt == "audio/wav" || mt == "audio/x-wav" || mt == "audio/wave" || mt == "audio/vnd.wave":
		return ".wav", nil
	case strings.HasPrefix(mt, "audio/") || mt == "application/octet-stream":
		return "", nil
	}
	return "", &library.Error{Kind: library.ErrUnsupported, Msg: fmt.Sprintf(
		"Content-Type %q: send the file itself with Content-Type audio/mpeg, audio/wav or application/octet-stream (curl: -H 'Content-Type: audio/mpeg' --data-binary @file.mp3)", ct)}
}

func (a *libraryAPI) uploadPrompt(w http.ResponseWriter, r *http.Request) {
	body, name, err := audioBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.lib.UploadPrompt(r.Context(), r.PathValue("id"), body, name, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *libraryAPI) listPrompts(w http.ResponseWriter, r *http.Request) {
	out, err := a.lib.Prompts(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(w, out)
}

func (a *libraryAPI) promptAudio(w http.ResponseWriter, r *http.Request) {
	au, err := a.lib.PromptAudio(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	serveAudio(w, r, au)
}

func (a *libraryAPI) trackAudio(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		a.fail(w, r, &library.Error{Kind: library.ErrNotFound, Msg: fmt.Sprintf("track %q: tracks are numbered from 1, as listed", r.PathValue("n"))})
		return
	}
	au, err := a.lib.TrackAudio(r.Context(), r.PathValue("class"), n)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	serveAudio(w, r, au)
}

// serveAudio answers with stored audio through http.ServeContent, so an
// <audio> element can seek (Range) and revalidate (Last-Modified).
func serveAudio(w http.ResponseWriter, r *http.Request, au *library.Audio) {
	defer au.Close()
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": au.Name}))
	// A prompt recorded again keeps its URL: the browser must ask each
	// time, and Last-Modified makes the answer a cheap 304 when unchanged.
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, au.Name, au.ModTime, au)
}

func (a *libraryAPI) deletePrompt(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	builtin, err := a.lib.DeletePrompt(r.Context(), id, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": id, "deleted": true, "builtin_remains": builtin})
}

func (a *libraryAPI) uploadTrack(w http.ResponseWriter, r *http.Request) {
	body, name, err := audioBody(w, r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.lib.AddTrack(r.Context(), r.PathValue("class"), body, name, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, out)
}

func (a *libraryAPI) listHoldMusic(w http.ResponseWriter, r *http.Request) {
	out, err := a.lib.HoldMusic(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeList(w, out)
}

func (a *libraryAPI) deleteHoldMusic(w http.ResponseWriter, r *http.Request) {
	class := r.PathValue("class")
	builtin, err := a.lib.DeleteHoldMusic(r.Context(), class, actor(r))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"id": class, "deleted": true, "builtin_remains": builtin})
}

// importSite takes a multipart/form-data body: the part named "site" is
// the site file; every other part is an audio file, named (the part's form
// name) as the site file names it. A part named "file" or "files" goes by
// its file name instead, for curl -F file=@welcome.mp3.
//
// Users stored but not in the file are kept unless replace_users is set,
// as a query parameter or a part of that name ("1", "true", "on" or
// "yes"); the answer's kept_users names them. Replacing or not, an import
// that removes every admin is refused (409).
func (a *libraryAPI) importSite(w http.ResponseWriter, r *http.Request) {
	replace, ok := formBool(r.URL.Query().Get("replace_users"))
	if !ok {
		a.fail(w, r, &library.Error{Kind: library.ErrInvalid, Msg: "replace_users: want 1 or 0 (true, false)"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, library.MaxBundleBytes+maxSiteFileBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		a.fail(w, r, &library.Error{Kind: library.ErrUnsupported, Msg: "send multipart/form-data: a part named site holding the site file, and one part per audio file it names, named as the site file names it " +
			"(curl -F site=@site.yaml -F welcome.mp3=@welcome.mp3)"})
		return
	}
	bundle, err := a.lib.NewBundle()
	if err != nil {
		a.fail(w, r, err)
		return
	}
	defer bundle.Close()
	var siteData []byte
	siteName := "site.yaml"
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			a.fail(w, r, multipartError(err))
			return
		}
		name := part.FormName()
		switch name {
		case "site":
			if siteData != nil {
				a.fail(w, r, &library.Error{Kind: library.ErrInvalid, Msg: "two parts named site: send one site file"})
				return
			}
			if fn := part.FileName(); fn != "" {
				siteName = fn
			}
			siteData, err = io.ReadAll(io.LimitReader(part, maxSiteFileBytes+1))
			if err != nil {
				a.fail(w, r, multipartError(err))
				return
			}
			if len(siteData) > maxSiteFileBytes {
				a.fail(w, r, &library.Error{Kind: library.ErrTooBig, Msg: fmt.Sprintf("the site file is too big: the limit is %d MiB", maxSiteFileBytes>>20)})
				return
			}
			continue
		case "replace_users":
			v, err := io.ReadAll(io.LimitReader(part, 16))
			if err != nil {
				a.fail(w, r, multipartError(err))
				return
			}
			b, ok := formBool(strings.TrimSpace(string(v)))
			if !ok {
				a.fail(w, r, &library.Error{Kind: library.ErrInvalid, Msg: "replace_users: want 1 or 0 (true, false)"})
				return
			}
			replace = replace || b
			continue
		case "file", "files":
			name = part.FileName()
		}
		if err := bundle.Add(name, part); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				err = multipartError(err)
			}
			a.fail(w, r, err)
			return
		}
	}
	if siteData == nil {
		a.fail(w, r, &library.Error{Kind: library.ErrInvalid, Msg: "no part named site: send the site file as -F site=@site.yaml"})
		return
	}
	f, err := site.ParseFile(siteData, siteName)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ch, err := a.lib.ImportSiteWith(r.Context(), f.Site, bundle.Open, actor(r), store.ImportOptions{ReplaceUsers: replace})
	var probs site.Errors
	if errors.As(err, &probs) {
		err = f.Locate(probs)
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, ch)
}

// formBool reads a yes/no form value; "" is no.
func formBool(v string) (b, ok bool) {
	switch strings.ToLower(v) {
	case "", "0", "false", "off", "no":
		return false, true
	case "1", "true", "on", "yes":
		return true, true
	}
	return false, false
}

// multipartError says what is wrong with a multipart body that could not
// be read.
func multipartError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &library.Error{Kind: library.ErrTooBig, Msg: fmt.Sprintf("the upload is too big: the limit is %d MiB", mbe.Limit>>20)}
	}
	return &library.Error{Kind: library.ErrInvalid, Msg: fmt.Sprintf("the multipart body cannot be read: %v", err)}
}
