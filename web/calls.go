package web

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"ringbox/firmware/store"
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
