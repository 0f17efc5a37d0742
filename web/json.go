package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// MaxBodyBytes is the largest JSON request body [DecodeJSON] reads.
const MaxBodyBytes = 1 << 20

// WriteJSON answers with v encoded as JSON. API answers are never cached:
// they carry live and personal data.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// A handler bug, not the client's: say so without details.
		status = http.StatusInternalServerError
		b = []byte(`{"error":"internal error: response could not be encoded"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// WriteError answers {"error": msg} with status.
func WriteError(w http.ResponseWriter, status int, msg string) {
	WriteJSON(w, status, map[string]string{"error": msg})
}

// WriteInternalError answers 500 without details (they may name internal
// paths or data) and logs err with the request. The log is rate-limited:
// a burst of failures (a full disk under a busy web page) logs the first
// few, then one line a second saying how many were left out.
func WriteInternalError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if info := infoFrom(r.Context()); info != nil {
		info.logged = true
	}
	if n, ok := internalLogs.allow(time.Now()); ok {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err, "suppressed", n)
	}
	WriteError(w, http.StatusInternalServerError, "internal error: the change was not made (see the appliance log)")
}

// internalLogs limits the 500 log lines: a burst of 10, then one a second.
var internalLogs = &logLimit{burst: 10, every: time.Second}

type logLimit struct {
	burst int
	every time.Duration

	mu         sync.Mutex // protects following
	tokens     float64
	last       time.Time
	suppressed int
}

// allow reports whether to log now, and how many lines were left out
// since the last one logged.
func (l *logLimit) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last.IsZero() {
		l.tokens = float64(l.burst)
	} else {
		l.tokens = min(float64(l.burst), l.tokens+now.Sub(l.last).Seconds()/l.every.Seconds())
	}
	l.last = now
	if l.tokens < 1 {
		l.suppressed++
		return 0, false
	}
	l.tokens--
	n := l.suppressed
	l.suppressed = 0
	return n, true
}

// RequestError is a problem with the client's request body, in words the
// client can act on. Status is the HTTP status to answer with (400, 413 or
// 415).
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, args ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// DecodeJSON decodes the request body, a single JSON value of at most
// [MaxBodyBytes], into v, refusing fields v does not have. Its errors are
// *[RequestError]s naming the offending field, fit to send back:
//
//	if err := web.DecodeJSON(r, &req); err != nil {
//		web.WriteError(w, http.StatusBadRequest, err.Error())
//		return
//	}
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &RequestError{Status: http.StatusUnsupportedMediaType,
				Msg: fmt.Sprintf("Content-Type must be application/json, not %q", ct)}
		}
	}
	if r.Body == nil {
		return badRequest("request body is empty: expected a JSON object")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	// One value only: "{} {}" or trailing garbage is a client bug worth saying.
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return badRequest("request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) *RequestError {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.Is(err, io.EOF):
		return badRequest("request body is empty: expected a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body is truncated JSON")
	case errors.As(err, &mbe):
		return &RequestError{Status: http.StatusRequestEntityTooLarge,
			Msg: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.As(err, &syn):
		return badRequest("invalid JSON at byte %d: %s", syn.Offset, strings.TrimPrefix(syn.Error(), "json: "))
	case errors.As(err, &typ):
		if typ.Field == "" {
			return badRequest("request body must be %s, not %s", jsonKind(typ.Type.Kind().String()), typ.Value)
		}
		return badRequest("field %q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind().String()), typ.Value)
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return badRequest("unknown field %s", f)
	}
	return badRequest("invalid JSON: %s", strings.TrimPrefix(msg, "json: "))
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return k
}

// writeList answers 200 with list as a JSON array: [] when it is empty,
// never null, so a page or script reading it sees "none" rather than
// "no answer".
func writeList[T any](w http.ResponseWriter, list []T) {
	if list == nil {
		list = []T{}
	}
	WriteJSON(w, http.StatusOK, list)
}
