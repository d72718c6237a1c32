package porttest

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
)

// searchQuery is Port's search body: rules, or nested {combinator,
// rules} groups.
type searchQuery struct {
	Combinator string        `json:"combinator"`
	Rules      []searchQuery `json:"rules"`
	Property   string        `json:"property"`
	Operator   string        `json:"operator"`
	Value      any           `json:"value"`
}

// matches evaluates a rule or a group on an entity. Only the properties
// and operators the clients use are known; anything else matches nothing,
// so a search never returns more than it asked for.
func (q searchQuery) matches(e *Entity) bool {
	if q.Rules != nil || q.Combinator != "" {
		if len(q.Rules) == 0 {
			return false
		}
		for _, r := range q.Rules {
			m := r.matches(e)
			if q.Combinator == "or" && m {
				return true
			}
			if q.Combinator != "or" && !m {
				return false
			}
		}
		return q.Combinator != "or"
	}
	var have any
	switch q.Property {
	case "$datasource":
		have = e.Datasource
	case "$blueprint":
		have = e.Blueprint
	case "$identifier":
		have = e.Identifier
	case "$title":
		have = e.Title
	default:
		if strings.HasPrefix(q.Property, "$") {
			return false
		}
		v, ok := e.Properties[q.Property]
		if !ok {
			return false
		}
		have = v
	}
	switch q.Operator {
	case "=":
		return reflect.DeepEqual(q.Value, have)
	case "contains":
		v, _ := q.Value.(string)
		h, ok := have.(string)
		return ok && strings.Contains(h, v)
	case "in":
		list, _ := q.Value.([]any)
		for _, x := range list {
			if reflect.DeepEqual(x, have) {
				return true
			}
		}
	}
	return false
}

// searchIdentifier resolves an upsert body whose identifier is a search
// query (Port's "map by property", docs.port.io configure-mapping): the
// query runs on the request's blueprint and must return exactly one
// entity, whose identifier the write then takes; none creates nothing
// and fails the request, as do several. Port documents that the request
// fails, not its status: 404 for none and 422 for several here, which
// glsync reads as any 4xx, a refusal of that one entity. Called with mu
// held.
func (s *Server) searchIdentifier(bp string, body []byte) ([]byte, int, string) {
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return body, http.StatusUnprocessableEntity, "The json provided does not match the route's schema"
	}
	qv, ok := raw["identifier"].(map[string]any)
	if !ok {
		return body, 0, ""
	}
	qb, _ := json.Marshal(qv)
	var q searchQuery
	if err := json.Unmarshal(qb, &q); err != nil || len(q.Rules) == 0 {
		return body, http.StatusUnprocessableEntity, "The json provided does not match the route's schema"
	}
	var found []string
	for _, e := range s.entities {
		if e.Blueprint == bp && q.matches(e) {
			found = append(found, e.Identifier)
		}
	}
	switch len(found) {
	case 1:
	case 0:
		return body, http.StatusNotFound, "No entity of blueprint \"" + bp + "\" matches the search identifier"
	default:
		return body, http.StatusUnprocessableEntity, "The search identifier matches more than one entity of blueprint \"" + bp + "\""
	}
	raw["identifier"] = found[0]
	out, _ := json.Marshal(raw)
	return out, 0, ""
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var q searchQuery
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil || len(q.Rules) == 0 {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema")
		return
	}
	if q.Combinator == "" {
		q.Combinator = "and"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []any{}
	for _, e := range s.entities {
		if q.matches(e) {
			out = append(out, map[string]any{"blueprint": e.Blueprint, "identifier": e.Identifier})
		}
	}
	reply(w, http.StatusOK, map[string]any{"ok": true, "entities": out})
}
