// Package gitlabtest is an in-memory GitLab REST API v4 for tests,
// benchmarks and the demo. It answers like GitLab does: the same paths, JSON
// shapes, status codes and error bodies, authentication by token with the
// visibility rules of group access tokens and admins, offset and keyset
// pagination headers, per-token rate limiting with RateLimit-* and
// Retry-After, and injected faults (latency, 5xx, connection resets). It
// counts requests per endpoint so benchmarks can report exact numbers.
package gitlabtest

import (
	"encoding/json"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TokenKind says what a token may see.
type TokenKind int

const (
	// GroupAccessToken belongs to a group's bot user: it sees that group's
	// subtree and the projects shared with it.
	GroupAccessToken TokenKind = iota
	// AdminToken belongs to an instance administrator: it sees everything.
	AdminToken
)

// Token is an access token known to the simulated instance.
type Token struct {
	Value string
	Kind  TokenKind
	// GroupID is the group of a group access token.
	GroupID int64
	// AccessLevel is the bot's role in GroupID (10..50); 50 (owner) if zero.
	AccessLevel int
	// OAuth marks an OAuth access token: GitLab takes it only as
	// "Authorization: Bearer", while access tokens work in either header.
	OAuth     bool
	Name      string
	UserID    int64
	Scopes    []string
	ExpiresAt string
}

// Faults are injected into every request.
type Faults struct {
	// Latency is added before each answer.
	Latency time.Duration
	// ErrorRate is the fraction of requests answered 500, 502 or 503.
	ErrorRate float64
	// ResetRate is the fraction of connections closed without an answer.
	ResetRate float64
	// TooManyRate is the fraction of requests answered 429 regardless of
	// the rate limit (a "429 storm").
	TooManyRate float64
	// FailRoutes answers the given status on every request to a route,
	// keyed like the counters, e.g. "GET /projects".
	FailRoutes map[string]int
	// RouteLatency adds latency to one route, e.g. "GET /projects/:id".
	RouteLatency map[string]time.Duration
}

// Options configure a Server.
type Options struct {
	// RateLimit is the number of requests per RateWindow per token; zero
	// disables rate limiting.
	RateLimit int
	// RateWindow is the rate limit period; GitLab uses one minute.
	RateWindow time.Duration
	// Seed drives fault injection.
	Seed int64
	// AdvancedSearch turns on GitLab's advanced (Elasticsearch) search:
	// blob search across a group works instead of answering 400.
	AdvancedSearch bool
}

// Server is the simulated GitLab instance. Its exported methods are safe
// for concurrent use.
type Server struct {
	mu       sync.RWMutex
	baseURL  string
	groups   map[int64]*Group
	byPath   map[string]*Group
	projects map[int64]*Project
	tokens   map[string]*Token
	hooks    map[int64]*Hook
	mrs      map[int64]*MergeRequest
	obj      objects
	files    map[int64]map[string]*string
	// commits keep each pushed commit's file overrides (project → sha),
	// so reads at a commit sha see the repository as it was; heads are
	// the default branch's newest pushed commit.
	commits map[int64]map[string]map[string]*string
	heads   map[int64]string
	// refs are branches and tags pushed or deleted by tests (project →
	// "refs/heads/x" or "refs/tags/x" → commit sha; "" once deleted).
	refs   map[int64]map[string]string
	nextID struct{ group, project, hook, user, mr int64 }

	opts   Options
	faultM sync.Mutex
	faults Faults
	rnd    *rand.Rand

	rateM   sync.Mutex
	windows map[string]*window

	countM   sync.Mutex
	counters map[string]int
	total    int

	deliverM   sync.Mutex
	deliveries []Delivery
}

type window struct {
	start time.Time
	used  int
}

// New returns an empty instance. Use Generate or the Add methods to fill it.
func New(opts Options) *Server {
	if opts.RateWindow == 0 {
		opts.RateWindow = time.Minute
	}
	s := &Server{
		baseURL:  "http://gitlab.example.com",
		groups:   map[int64]*Group{},
		byPath:   map[string]*Group{},
		projects: map[int64]*Project{},
		tokens:   map[string]*Token{},
		hooks:    map[int64]*Hook{},
		mrs:      map[int64]*MergeRequest{},
		opts:     opts,
		rnd:      rand.New(rand.NewSource(opts.Seed)),
		windows:  map[string]*window{},
		counters: map[string]int{},
	}
	s.nextID.group, s.nextID.project, s.nextID.hook, s.nextID.user = 1000, 5000, 1, 100
	s.obj.init()
	return s
}

// Start serves the instance on a loopback port until the test ends.
func (s *Server) Start(t interface{ Cleanup(func()) }) *httptest.Server {
	ts := httptest.NewServer(s)
	s.SetBaseURL(ts.URL)
	t.Cleanup(ts.Close)
	return ts
}

// SetBaseURL sets the URL used in web_url and Link headers.
func (s *Server) SetBaseURL(u string) {
	s.mu.Lock()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.faultM.Lock()
	s.faults = f
	s.faultM.Unlock()
}

// SetRateLimit changes the per-token rate limit.
func (s *Server) SetRateLimit(perWindow int, period time.Duration) {
	s.rateM.Lock()
	s.opts.RateLimit, s.opts.RateWindow = perWindow, period
	s.windows = map[string]*window{}
	s.rateM.Unlock()
}

// Requests returns the number of requests per route ("GET /projects") and
// their total, counting every request that reached the server, including
// the ones answered 429, 5xx or reset.
func (s *Server) Requests() (map[string]int, int) {
	s.countM.Lock()
	defer s.countM.Unlock()
	out := make(map[string]int, len(s.counters))
	for k, v := range s.counters {
		out[k] = v
	}
	return out, s.total
}

// ResetRequests zeroes the counters.
func (s *Server) ResetRequests() {
	s.countM.Lock()
	s.counters, s.total = map[string]int{}, 0
	s.countM.Unlock()
}

func (s *Server) webURL(p string) string { return s.baseURL + "/" + p }
func (s *Server) apiURL(p string) string { return s.baseURL + "/api/v4/" + p }
func (s *Server) hostname() string {
	u, err := url.Parse(s.baseURL)
	if err != nil {
		return "gitlab.example.com"
	}
	return u.Hostname()
}

// route is a request after the /api/v4 prefix, split into unescaped
// segments, with the counter key naming its pattern.
type route struct {
	segs []string
	key  string
}

func parseRoute(r *http.Request) (route, bool) {
	p := r.URL.EscapedPath()
	const prefix = "/api/v4/"
	if !strings.HasPrefix(p, prefix) {
		return route{}, false
	}
	raw := strings.Split(strings.TrimSuffix(p[len(prefix):], "/"), "/")
	segs := make([]string, len(raw))
	pat := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return route{}, false
		}
		segs[i] = u
		pat[i] = s
		// ids (numeric or encoded paths) sit at odd positions after a collection name
		if i%2 == 1 {
			pat[i] = ":id"
		}
	}
	return route{segs: segs, key: r.Method + " /" + strings.Join(pat, "/")}, true
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := parseRoute(r)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
		return
	}
	s.countM.Lock()
	s.counters[rt.key]++
	s.total++
	s.countM.Unlock()

	s.faultM.Lock()
	f := s.faults
	resetRoll, errRoll, tooManyRoll, which := s.rnd.Float64(), s.rnd.Float64(), s.rnd.Float64(), s.rnd.Intn(3)
	s.faultM.Unlock()

	if d := f.Latency + f.RouteLatency[rt.key]; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if resetRoll < f.ResetRate {
		resetConnection(w)
		return
	}

	tok := s.authenticate(r)
	if tok == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	if !s.admitRate(w, tok.Value, tooManyRoll < f.TooManyRate) {
		return
	}
	if code, ok := f.FailRoutes[rt.key]; ok {
		writeStatus(w, code)
		return
	}
	if errRoll < f.ErrorRate {
		writeStatus(w, []int{500, 502, 503}[which])
		return
	}
	s.dispatch(w, r, rt, tok)
}

func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN, like a dropped proxy connection
	}
	_ = conn.Close()
}

func writeStatus(w http.ResponseWriter, code int) {
	switch code {
	case 502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>\n"))
	case 503:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(code)
		_, _ = w.Write([]byte("<html><body><h1>503 Service Unavailable</h1></body></html>\n"))
	default:
		writeJSON(w, code, map[string]any{"message": strconv.Itoa(code) + " " + http.StatusText(code)})
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authenticate(r *http.Request) *Token {
	v := r.Header.Get("PRIVATE-TOKEN")
	private := v != ""
	if v == "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
			v = strings.TrimPrefix(a, "Bearer ")
		}
	}
	if v == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	t := s.tokens[v]
	if t != nil && t.OAuth && private {
		return nil // GitLab refuses an OAuth token in PRIVATE-TOKEN
	}
	return t
}

// ReplaceToken makes token old invalid and new valid in its place, as an
// OAuth refresh does (new inherits old's kind, group and role).
func (s *Server) ReplaceToken(old, new string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tokens[old]
	if t == nil {
		return
	}
	cp := *t
	cp.Value = new
	delete(s.tokens, old)
	s.tokens[new] = &cp
}

// admitRate applies the per-token fixed-window limit and sets GitLab's
// RateLimit-* headers. forced answers 429 even under the limit.
func (s *Server) admitRate(w http.ResponseWriter, token string, forced bool) bool {
	s.rateM.Lock()
	limit, period := s.opts.RateLimit, s.opts.RateWindow
	if limit <= 0 && !forced {
		s.rateM.Unlock()
		return true
	}
	now := time.Now()
	win := s.windows[token]
	if win == nil || now.Sub(win.start) >= period {
		win = &window{start: now}
		s.windows[token] = win
	}
	win.used++
	used := win.used
	reset := win.start.Add(period)
	s.rateM.Unlock()

	h := w.Header()
	over := limit > 0 && used > limit
	if limit > 0 {
		remaining := limit - used
		if remaining < 0 {
			remaining = 0
		}
		h.Set("RateLimit-Name", "throttle_authenticated_api")
		h.Set("RateLimit-Limit", strconv.Itoa(limit))
		h.Set("RateLimit-Observed", strconv.Itoa(used))
		h.Set("RateLimit-Remaining", strconv.Itoa(remaining))
		h.Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
		h.Set("RateLimit-ResetTime", reset.UTC().Format(http.TimeFormat))
	}
	if !over && !forced {
		return true
	}
	retry := int(time.Until(reset).Seconds() + 0.999)
	if forced || retry < 1 {
		retry = 1
	}
	h.Set("Retry-After", strconv.Itoa(retry))
	h.Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusTooManyRequests)
	_, _ = w.Write([]byte("Retry later\n"))
	return false
}

// visibleGroup reports whether tok can see g.
func (s *Server) visibleGroup(tok *Token, g *Group) bool {
	if tok.Kind == AdminToken {
		return true
	}
	return s.isDescendant(g.ID, tok.GroupID)
}

// isDescendant reports whether group id is root or below it.
func (s *Server) isDescendant(id, root int64) bool {
	for g := s.groups[id]; g != nil; g = s.groups[g.ParentID] {
		if g.ID == root {
			return true
		}
	}
	return false
}

// visibleProject reports whether tok can see p: its namespace is in the
// token's subtree or it is shared with a group there.
func (s *Server) visibleProject(tok *Token, p *Project) bool {
	if tok.Kind == AdminToken {
		return true
	}
	if s.isDescendant(p.NamespaceID, tok.GroupID) {
		return true
	}
	for _, gid := range p.SharedWith {
		if s.isDescendant(gid, tok.GroupID) {
			return true
		}
	}
	return false
}

func (s *Server) accessLevel(tok *Token) int {
	if tok.AccessLevel == 0 {
		return 50
	}
	return tok.AccessLevel
}

// findGroup resolves ":id" (numeric or full path) for tok, or nil.
func (s *Server) findGroup(tok *Token, id string) *Group {
	var g *Group
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		g = s.groups[n]
	} else {
		g = s.byPath[id]
	}
	if g == nil || !s.visibleGroup(tok, g) {
		return nil
	}
	return g
}

func (s *Server) findProject(tok *Token, id string) *Project {
	var p *Project
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		p = s.projects[n]
	} else {
		for _, c := range s.projects {
			if s.groups[c.NamespaceID].FullPath+"/"+c.Path == id {
				p = c
				break
			}
		}
	}
	if p == nil || !s.visibleProject(tok, p) {
		return nil
	}
	return p
}

func (s *Server) sortedGroups(filter func(*Group) bool) []*Group {
	var out []*Group
	for _, g := range s.groups {
		if filter(g) {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) sortedProjects(filter func(*Project) bool) []*Project {
	var out []*Project
	for _, p := range s.projects {
		if filter(p) {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func boolParam(q url.Values, name string) (val, set bool) {
	v := q.Get(name)
	if v == "" {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b, true
}
