package web

import (
	"net/http"
	"regexp"
	"strings"
)

// wildcard matches a ServeMux wildcard: {name}, {name...} or {$}.
var wildcard = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)?(\.\.\.)?(\$)?\}`)

// openapiPath turns a ServeMux path into an OpenAPI path and its parameters.
func openapiPath(p string) (string, []string) {
	var params []string
	out := wildcard.ReplaceAllStringFunc(p, func(m string) string {
		sm := wildcard.FindStringSubmatch(m)
		if sm[3] != "" {
			return ""
		}
		params = append(params, sm[1])
		return "{" + sm[1] + "}"
	})
	return out, params
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	WriteJSON(w, http.StatusOK, s.openapiDoc())
}

// openapiDoc describes every registered API route. Bodies are not
// described (handlers do not declare them); roles are, as x-ringbox-role.
func (s *Server) openapiDoc() map[string]any {
	errResp := map[string]any{"description": "error", "content": map[string]any{
		"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	paths := map[string]map[string]any{}
	add := func(method, path, summary string, op map[string]any) {
		p, params := openapiPath(path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op["summary"] = summary
		op["operationId"] = strings.ToLower(method) + operationName(p)
		if len(params) > 0 {
			var ps []any
			for _, n := range params {
				ps = append(ps, map[string]any{"name": n, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			op["parameters"] = ps
		}
		paths[p][strings.ToLower(method)] = op
	}
	for _, rt := range s.Routes() {
		resp := map[string]any{"2XX": map[string]any{"description": "success"}, "4XX": errResp}
		op := map[string]any{"responses": resp}
		if rt.public {
			op["security"] = []any{}
		} else {
			resp["401"] = errResp
			resp["403"] = errResp
			role := rt.Role
			if role == "" {
				role = "any"
			}
			op["x-ringbox-role"] = role
		}
		add(rt.Method, rt.Path, rt.Summary, op)
	}
	openapiScopeAudit(paths, errResp)
	if s.cfg.Metrics != nil {
		add("GET", "/metrics", "Prometheus metrics: no authentication from the box itself, else a bearer token",
			map[string]any{
				"security":  []any{map[string]any{}, map[string]any{"bearer": []any{}}},
				"responses": map[string]any{"200": map[string]any{"description": "Prometheus text format"}, "401": errResp},
			})
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "Ringbox API",
			"version":     s.cfg.Version,
			"description": "The JSON API of a Ringbox PBX. Authenticate with a bearer API token or the rbx_session cookie from POST /api/v1/session; cookie-authenticated POST, PUT, PATCH and DELETE requests must send X-Requested-With: ringbox.",
		},
		"paths": paths,
		"security": []any{
			map[string]any{"bearer": []any{}},
			map[string]any{"session": []any{}},
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{
				"bearer":  map[string]any{"type": "http", "scheme": "bearer"},
				"session": map[string]any{"type": "apiKey", "in": "cookie", "name": CookieName},
			},
			"schemas": map[string]any{
				"Error": map[string]any{
					"type":       "object",
					"required":   []string{"error"},
					"properties": map[string]any{"error": map[string]any{"type": "string"}},
				},
			},
		},
	}
}

// operationName makes "/api/v1/extensions/{id}" into "ExtensionsId".
func operationName(p string) string {
	p = strings.TrimPrefix(p, "/api/v1")
	var b strings.Builder
	up := true
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

// openapiScopeAudit adds what the routes of scope, streams and the audit
// log answer beyond the generic: the live streams' 429, the audit log's
// query parameters, and the scope rule every route applies.
func openapiScopeAudit(paths map[string]map[string]any, errResp map[string]any) {
	for _, p := range []string{"/api/v1/events", "/api/v1/agent/ws"} {
		if op, ok := paths[p]["get"].(map[string]any); ok {
			op["responses"].(map[string]any)["429"] = map[string]any{"description": "too many live streams open for this login (at most 8, the event stream and the agent page's socket together); Retry-After says when to try again",
				"content": errResp["content"]}
		}
	}
	if op, ok := paths["/api/v1/audit"]["get"].(map[string]any); ok {
		q := func(name, typ, desc string) map[string]any {
			return map[string]any{"name": name, "in": "query", "required": false, "description": desc, "schema": map[string]any{"type": typ}}
		}
		op["parameters"] = []any{
			q("kind", "string", "the entries whose kind is this or starts with it and a dot: web (web.forbidden), call.forbidden, tollfraud, disa, ban, config..."),
			q("from", "string", "RFC 3339: entries at or after"),
			q("to", "string", "RFC 3339: entries before"),
			q("limit", "integer", "at most this many (default 100, at most 1000)"),
			q("offset", "integer", "skip this many (the next page)"),
		}
		op["description"] = "Newest first. Each entry: id, time, kind (open-ended: whoever writes the log names it), actor (a login, token:NAME, sip, system), object, detail. Refused attempts (web.forbidden, call.forbidden, tollfraud.*, disa.*) are rate-limited: a row that stands for more says so in its detail."
	}
	for _, ops := range paths {
		for _, v := range ops {
			if op, ok := v.(map[string]any); ok && op["x-ringbox-role"] != nil && op["x-ringbox-role"] != "admin" {
				op["x-ringbox-scope"] = "admins see everything; managers their own agent, the agents who report to them (transitively) and the queues those serve; agents themselves (docs/reports.md, The scope rule)"
			}
		}
	}
}
