// Package porttest is an in-memory Port API for tests and benchmarks, in
// the spirit of gitlabtest: Port's routes, JSON shapes and error bodies,
// client-credentials auth with expiring tokens, the bulk route's limits and
// 207 answers, $datasource set from the writer's User-Agent, search, the
// integration record and kind examples, injected 429/5xx and latency, and
// request counters per route.
package porttest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	mrand "math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Entity is an entity as stored.
type Entity struct {
	Blueprint  string         `json:"blueprint"`
	Identifier string         `json:"identifier"`
	Title      string         `json:"title,omitempty"`
	Icon       string         `json:"icon,omitempty"`
	Team       any            `json:"team,omitempty"`
	Properties map[string]any `json:"properties"`
	Relations  map[string]any `json:"relations"`
	Datasource string         `json:"-"`
	// UpdatedAt is when the entity was last written (Port's updatedAt).
	UpdatedAt time.Time `json:"-"`
}

// Faults are injected into API calls (not auth).
type Faults struct {
	Latency     time.Duration
	TooManyRate float64 // 429 with Retry-After: 1
	ErrorRate   float64 // 500/502/503
	// Reject answers 422 for these entity identifiers (bulk: per entity).
	Reject map[string]bool
}

// Server is the simulated Port API.
type Server struct {
	ClientID, ClientSecret string
	// TokenTTL is the access token lifetime (default 3 hours, Port's).
	TokenTTL time.Duration

	mu           sync.Mutex
	tokens       map[string]time.Time
	blueprints   map[string]map[string]any
	entities     map[string]*Entity // blueprint + "\x00" + identifier
	integration  map[string]any
	examples     map[string][]any
	faults       Faults
	rnd          *mrand.Rand
	counts       map[string]int
	tokensIssued int
	// actions are the action runs (actions.go).
	actions actionRuns
}

// New returns a server accepting the given credentials.
func New(clientID, clientSecret string) *Server {
	return &Server{ClientID: clientID, ClientSecret: clientSecret, TokenTTL: 3 * time.Hour,
		tokens: map[string]time.Time{}, blueprints: map[string]map[string]any{}, entities: map[string]*Entity{},
		examples: map[string][]any{}, rnd: mrand.New(mrand.NewSource(1)), counts: map[string]int{}}
}

// Start serves until the test ends.
func (s *Server) Start(t interface{ Cleanup(func()) }) *httptest.Server {
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) { s.mu.Lock(); s.faults = f; s.mu.Unlock() }

// ExpireTokens makes every issued token expire now.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	for k := range s.tokens {
		s.tokens[k] = time.Now().Add(-time.Second)
	}
	s.mu.Unlock()
}

// AddBlueprint registers a blueprint (as a user would in Port's UI).
func (s *Server) AddBlueprint(id string) {
	s.mu.Lock()
	s.blueprints[id] = map[string]any{"identifier": id, "title": id, "schema": map[string]any{"properties": map[string]any{}}}
	s.mu.Unlock()
}

// Blueprint returns a stored blueprint, or nil.
func (s *Server) Blueprint(id string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blueprints[id]
}

// AddEntity stores an entity directly (written by someone else).
func (s *Server) AddEntity(e Entity) {
	s.mu.Lock()
	cp := e
	s.entities[e.Blueprint+"\x00"+e.Identifier] = &cp
	s.mu.Unlock()
}

// Entities returns the stored entities ordered by blueprint and id.
func (s *Server) Entities() []Entity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Entity
	for _, e := range s.entities {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Blueprint != out[j].Blueprint {
			return out[i].Blueprint < out[j].Blueprint
		}
		return out[i].Identifier < out[j].Identifier
	})
	return out
}

// Blueprints returns the blueprint identifiers.
func (s *Server) Blueprints() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for k := range s.blueprints {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Integration returns the integration record, or nil.
func (s *Server) Integration() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.integration
}

// SetIntegrationConfig sets the mapping held in Port (a user editing it
// in Port's UI).
func (s *Server) SetIntegrationConfig(id string, cfg map[string]any) {
	s.mu.Lock()
	s.integration = map[string]any{"identifier": id, "installationId": id, "config": cfg}
	s.mu.Unlock()
}

// Examples returns the raw examples sent for a kind.
func (s *Server) Examples(kind string) []any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.examples[kind]
}

// Requests returns request counts per route and the number of tokens issued.
func (s *Server) Requests() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.counts {
		out[k] = v
	}
	return out, s.tokensIssued
}

// ResetRequests zeroes the counters.
func (s *Server) ResetRequests() { s.mu.Lock(); s.counts = map[string]int{}; s.mu.Unlock() }

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, code int, errName, msg string) {
	reply(w, code, map[string]any{"ok": false, "error": errName, "message": msg})
}

// route names a request like the client's stats do.
func route(method, p string) string {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	n := len(segs)
	if n >= 3 && segs[1] == "blueprints" {
		segs[2] = ":b"
	}
	if n >= 5 && segs[1] == "blueprints" && segs[3] == "entities" && segs[4] != "bulk" {
		segs[4] = ":id"
	}
	if n >= 3 && segs[1] == "integration" {
		segs[2] = ":id"
	}
	if n >= 4 && segs[1] == "actions" && segs[2] == "runs" && segs[3] != "claim-pending" && segs[3] != "ack" {
		segs[3] = ":id"
	}
	if n >= 5 && segs[1] == "integration" && segs[3] == "kinds" {
		segs[4] = ":kind"
	}
	return method + " /" + strings.Join(segs, "/")
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.EscapedPath() // identifiers may hold encoded slashes
	rt := route(r.Method, p)
	s.mu.Lock()
	s.counts[rt]++
	f := s.faults
	roll, roll2, which := s.rnd.Float64(), s.rnd.Float64(), s.rnd.Intn(3)
	s.mu.Unlock()
	if p == "/v1/auth/access_token" && r.Method == http.MethodPost {
		s.auth(w, r)
		return
	}
	if f.Latency > 0 {
		time.Sleep(f.Latency)
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
		return
	}
	if time.Now().After(exp) {
		fail(w, http.StatusUnauthorized, "token_expired", "The access token has expired")
		return
	}
	if roll < f.TooManyRate {
		w.Header().Set("Retry-After", "1")
		fail(w, http.StatusTooManyRequests, "rate_limit_exceeded", "Too many requests")
		return
	}
	if roll2 < f.ErrorRate {
		code := []int{500, 502, 503}[which]
		fail(w, code, "internal_error", http.StatusText(code))
		return
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, sg := range segs {
		if u, err := url.PathUnescape(sg); err == nil {
			segs[i] = u
		}
	}
	p = r.URL.Path
	ds := r.Header.Get("User-Agent")
	switch {
	case r.Method == http.MethodPost && p == "/v1/entities/search":
		s.search(w, r)
	case r.Method == http.MethodPost && p == "/v1/blueprints/entities/datasource-entities":
		s.datasourceEntities(w, r)
	case len(segs) == 6 && segs[1] == "blueprints" && segs[3] == "bulk" && segs[4] == "entities" && segs[5] == "delete" && r.Method == http.MethodPost:
		s.bulkDelete(w, r, segs[2])
	case len(segs) == 3 && segs[1] == "blueprints" && r.Method == http.MethodGet:
		s.mu.Lock()
		bp, ok := s.blueprints[segs[2]]
		s.mu.Unlock()
		if !ok {
			fail(w, http.StatusNotFound, "not_found", "Blueprint with identifier \""+segs[2]+"\" was not found")
			return
		}
		reply(w, http.StatusOK, map[string]any{"ok": true, "blueprint": bp})
	case len(segs) == 2 && segs[1] == "blueprints" && r.Method == http.MethodPost:
		var bp map[string]any
		if err := json.NewDecoder(r.Body).Decode(&bp); err != nil || bp["identifier"] == nil {
			fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema")
			return
		}
		id, _ := bp["identifier"].(string)
		s.mu.Lock()
		_, exists := s.blueprints[id]
		if !exists {
			s.blueprints[id] = bp
		}
		s.mu.Unlock()
		if exists {
			fail(w, http.StatusConflict, "identifier_taken", "A blueprint with identifier \""+id+"\" already exists")
			return
		}
		reply(w, http.StatusCreated, map[string]any{"ok": true, "blueprint": bp})
	case len(segs) == 4 && segs[1] == "blueprints" && segs[3] == "entities" && r.Method == http.MethodPost:
		s.upsertOne(w, r, segs[2], ds, f)
	case len(segs) == 5 && segs[1] == "blueprints" && segs[3] == "entities" && segs[4] == "bulk" && r.Method == http.MethodPost:
		s.bulk(w, r, segs[2], ds, f)
	case len(segs) == 5 && segs[1] == "blueprints" && segs[3] == "entities" && r.Method == http.MethodDelete:
		id := segs[4]
		key := segs[2] + "\x00" + id
		s.mu.Lock()
		_, ok := s.entities[key]
		delete(s.entities, key)
		s.mu.Unlock()
		if !ok {
			fail(w, http.StatusNotFound, "not_found", "Entity with identifier \""+id+"\" was not found")
			return
		}
		reply(w, http.StatusOK, map[string]any{"ok": true})
	case len(segs) == 3 && segs[1] == "integration" && r.Method == http.MethodGet:
		s.mu.Lock()
		in := s.integration
		s.mu.Unlock()
		if in == nil || in["identifier"] != segs[2] {
			fail(w, http.StatusNotFound, "not_found", "Integration with identifier \""+segs[2]+"\" was not found")
			return
		}
		reply(w, http.StatusOK, map[string]any{"ok": true, "integration": in})
	case len(segs) == 2 && segs[1] == "integration" && r.Method == http.MethodPost:
		var in map[string]any
		_ = json.NewDecoder(r.Body).Decode(&in)
		in["identifier"] = in["installationId"]
		s.mu.Lock()
		s.integration = in
		s.mu.Unlock()
		reply(w, http.StatusCreated, map[string]any{"ok": true, "integration": in})
	case len(segs) == 3 && segs[1] == "integration" && r.Method == http.MethodPatch:
		var patch map[string]any
		_ = json.NewDecoder(r.Body).Decode(&patch)
		s.mu.Lock()
		if s.integration == nil {
			s.mu.Unlock()
			fail(w, http.StatusNotFound, "not_found", "Integration was not found")
			return
		}
		for k, v := range patch {
			s.integration[k] = v
		}
		in := s.integration
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]any{"ok": true, "integration": in})
	case len(segs) == 6 && segs[1] == "integration" && segs[3] == "kinds" && segs[5] == "examples" && r.Method == http.MethodPost:
		var body struct {
			Examples []any `json:"examples"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		s.mu.Lock()
		s.examples[segs[4]] = body.Examples
		s.mu.Unlock()
		reply(w, http.StatusOK, map[string]any{"ok": true})
	case len(segs) >= 3 && segs[1] == "actions" && segs[2] == "runs":
		s.serveActions(w, r, segs[3:])
	default:
		fail(w, http.StatusNotFound, "not_found", "Route "+r.Method+" "+p+" was not found")
	}
}

func (s *Server) auth(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ClientID     string `json:"clientId"`
		ClientSecret string `json:"clientSecret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ClientID != s.ClientID || in.ClientSecret != s.ClientSecret {
		fail(w, http.StatusUnauthorized, "unauthorized", "Invalid client credentials")
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	tok := "eyJ" + hex.EncodeToString(b)
	s.mu.Lock()
	ttl := s.TokenTTL
	s.tokens[tok] = time.Now().Add(ttl)
	s.tokensIssued++
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"ok": true, "accessToken": tok, "expiresIn": int(math.Ceil(ttl.Seconds())), "tokenType": "Bearer"})
}

// validate checks an entity like Port: an identifier, properties and
// relations objects, and a known blueprint.
func (s *Server) validate(bp string, e *Entity, f Faults) (int, string) {
	if _, ok := s.blueprints[bp]; !ok {
		return http.StatusNotFound, "Blueprint with identifier \"" + bp + "\" was not found"
	}
	if e.Identifier == "" || len(e.Identifier) > 1000 {
		return http.StatusUnprocessableEntity, "identifier must be a non-empty string"
	}
	if f.Reject[e.Identifier] {
		return http.StatusUnprocessableEntity, "The property \"url\" does not match the blueprint's schema"
	}
	return 0, ""
}

func (s *Server) store(bp, ds string, e *Entity, merge bool) bool {
	e.Blueprint, e.Datasource, e.UpdatedAt = bp, ds, time.Now()
	if e.Properties == nil {
		e.Properties = map[string]any{}
	}
	if e.Relations == nil {
		e.Relations = map[string]any{}
	}
	key := bp + "\x00" + e.Identifier
	old, existed := s.entities[key]
	if existed && merge {
		// merge=true: what the write leaves out is kept (Port: "equivalent
		// to a PATCH request for each individual field provided").
		if e.Title == "" {
			e.Title = old.Title
		}
		if e.Icon == "" {
			e.Icon = old.Icon
		}
		if e.Team == nil {
			e.Team = old.Team
		}
		for k, v := range old.Properties {
			if _, ok := e.Properties[k]; !ok {
				e.Properties[k] = v
			}
		}
		for k, v := range old.Relations {
			if _, ok := e.Relations[k]; !ok {
				e.Relations[k] = v
			}
		}
	}
	cp := *e
	s.entities[key] = &cp
	return !existed
}

func (s *Server) upsertOne(w http.ResponseWriter, r *http.Request, bp, ds string, f Faults) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		fail(w, http.StatusRequestEntityTooLarge, "request_too_large", "Request body is too large (limit is 1MiB)")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body, code, msg := s.searchIdentifier(bp, body)
	if code != 0 {
		name := "invalid_request"
		if code == http.StatusNotFound {
			name = "not_found"
		}
		fail(w, code, name, msg)
		return
	}
	var e Entity
	if err := json.Unmarshal(body, &e); err != nil {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema")
		return
	}
	if code, msg := s.validate(bp, &e, f); code != 0 {
		fail(w, code, "invalid_entity", msg)
		return
	}
	s.store(bp, ds, &e, r.URL.Query().Get("merge") == "true")
	reply(w, http.StatusCreated, map[string]any{"ok": true, "entity": e})
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, bp, ds string, f Faults) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(body) > 1<<20 {
		fail(w, http.StatusRequestEntityTooLarge, "request_too_large", "Request body is too large (limit is 1MiB)")
		return
	}
	var in struct {
		Entities []Entity `json:"entities"`
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Entities) == 0 || len(in.Entities) > 20 {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "The json provided does not match the route's schema: entities must hold 1 to 20 items")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.blueprints[bp]; !ok {
		fail(w, http.StatusNotFound, "not_found", "Blueprint with identifier \""+bp+"\" was not found")
		return
	}
	var okList, errs []any
	for i := range in.Entities {
		e := &in.Entities[i]
		if code, msg := s.validate(bp, e, f); code != 0 {
			errs = append(errs, map[string]any{"identifier": e.Identifier, "index": i, "statusCode": code, "error": "invalid_entity", "message": msg})
			continue
		}
		created := s.store(bp, ds, e, r.URL.Query().Get("merge") == "true")
		okList = append(okList, map[string]any{"identifier": e.Identifier, "index": i, "created": created})
	}
	code := http.StatusOK
	if len(errs) > 0 {
		code = http.StatusMultiStatus
	}
	if okList == nil {
		okList = []any{}
	}
	if errs == nil {
		errs = []any{}
	}
	reply(w, code, map[string]any{"ok": len(errs) == 0, "entities": okList, "errors": errs})
}

// datasourceEntities serves POST /v1/blueprints/entities/datasource-entities,
// the listing Ocean reconciles with (port_ocean/clients/port/mixins/
// entities.py, search_entities): entities whose $datasource starts with
// datasource_prefix and ends with datasource_suffix, last written before
// "before", limit at a time, paged with from/next.
func (s *Server) datasourceEntities(w http.ResponseWriter, r *http.Request) {
	var q struct {
		Prefix string `json:"datasource_prefix"`
		Suffix string `json:"datasource_suffix"`
		Limit  int    `json:"limit"`
		From   string `json:"from"`
		Before string `json:"before"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil || q.Prefix == "" || q.Suffix == "" {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "datasource_prefix and datasource_suffix are required")
		return
	}
	if q.Limit <= 0 || q.Limit > 5000 {
		q.Limit = 5000
	}
	var before time.Time
	if q.Before != "" {
		var err error
		if before, err = time.Parse(time.RFC3339Nano, q.Before); err != nil {
			fail(w, http.StatusUnprocessableEntity, "invalid_request", "before must be an ISO 8601 date-time")
			return
		}
	}
	s.mu.Lock()
	keys := make([]string, 0, len(s.entities))
	for k, e := range s.entities {
		if strings.HasPrefix(e.Datasource, q.Prefix) && strings.HasSuffix(e.Datasource, q.Suffix) && (before.IsZero() || e.UpdatedAt.Before(before)) && k > q.From {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var next any
	if len(keys) > q.Limit {
		keys = keys[:q.Limit]
		next = keys[len(keys)-1]
	}
	out := make([]any, 0, len(keys))
	for _, k := range keys {
		e := s.entities[k]
		out = append(out, map[string]any{"blueprint": e.Blueprint, "identifier": e.Identifier})
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"ok": true, "entities": out, "next": next})
}

// bulkDelete serves POST /v1/blueprints/:b/bulk/entities/delete: up to 100
// identifiers; deletedEntities lists the ones that were there.
func (s *Server) bulkDelete(w http.ResponseWriter, r *http.Request, bp string) {
	var body struct {
		Entities []string `json:"entities"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Entities) == 0 || len(body.Entities) > 100 {
		fail(w, http.StatusUnprocessableEntity, "invalid_request", "entities must hold 1 to 100 identifiers")
		return
	}
	s.mu.Lock()
	deleted := []string{}
	for _, id := range body.Entities {
		key := bp + "\x00" + id
		if _, ok := s.entities[key]; ok {
			delete(s.entities, key)
			deleted = append(deleted, id)
		}
	}
	s.mu.Unlock()
	reply(w, http.StatusOK, map[string]any{"ok": true, "deletedEntities": deleted})
}
