// Package gitlabtest is an in-memory GitLab REST API v4 for tests,
// benchmarks and the demo. It answers like GitLab does: the same paths, JSON
// shapes, status codes and error bodies, authentication by token with the
// visibility rules of group access tokens and admins, offset and keyset
// pagination headers, per-token rate limiting with RateLimit-* and
// Retry-After, and injected faults (latency, 5xx, connection resets before
// or during an answer, 429 storms on one token, stalled and truncated
// bodies, a GitLab that is down, a token revoked mid-way). It
// counts requests per endpoint so benchmarks can report exact numbers.
// Its control API (ControlPrefix, SendEvent) lets a process outside the
// test, such as `glsyncd simulate event`, make live events: a push, a
// merge request, an issue, a pipeline, a branch or a project, each
// delivered to the hooks registered on the instance.
package gitlabtest

import (
	"encoding/json"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

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
	// triggered are the pipelines created through the API (trigger.go).
	triggered []TriggeredPipeline
	// byID is the projects sorted by id, rebuilt lazily after a project
	// is added or removed (which set its dirty flag under mu), so a
	// keyset page is a binary search and a short scan, not a sort of the
	// whole instance: listing 100,000 projects stays linear.
	byID struct {
		mu    sync.Mutex
		list  []*Project
		dirty bool
	}
	// version counts the write locks taken (lockW): a project's JSON in
	// rendered is reused while no write happened since, so listing
	// 100,000 projects does not re-encode each on every page.
	version  atomic.Uint64
	rendered sync.Map // projectKey → renderedJSON
	tokens   map[string]*Token
	hooks    map[int64]*Hook
	signing  atomic.Int32 // the SigningSupport emulated (SetSigningSupport)
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
	// lastIID is the last IID given per kind ("issue", "merge_request",
	// "pipeline") and project: GitLab never reuses one, and counting keeps
	// generating large organisations linear.
	lastIID map[iidKey]int64

	// controlToken, when set, is the only token the control API takes.
	controlToken string

	opts   Options
	faultM sync.Mutex
	faults Faults
	rnd    *rand.Rand
	// used counts the requests of each token since the faults were set
	// (for RevokeAfter), seen all requests (for ErrorBurst).
	used map[string]int
	seen int

	rateM   sync.Mutex
	windows map[string]*window

	countM   sync.Mutex
	counters map[string]int
	total    int

	deliverM   sync.Mutex
	deliveries []Delivery
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
	s.lockW()
	s.baseURL = strings.TrimRight(u, "/")
	s.mu.Unlock()
}

// SetFaults replaces the injected faults.
func (s *Server) SetFaults(f Faults) {
	s.faultM.Lock()
	s.faults = f
	s.used, s.seen = nil, 0
	s.faultM.Unlock()
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

// ServeHTTP answers one API request, or one of the control API
// (ControlPrefix).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, ControlPrefix) {
		s.serveControl(w, r)
		return
	}
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
	s.seen++
	if f.ErrorBurst > 0 && s.seen > f.ErrorBurst {
		f.ErrorRate = 0
	}
	// Rolled only when used, so the other faults draw the same numbers
	// as before these existed.
	stormRoll, body := 1.0, bodyIntact
	if len(f.TokenStorms) > 0 {
		stormRoll = s.rnd.Float64()
	}
	if f.SlowRate > 0 || f.TruncateRate > 0 || f.BodyResetRate > 0 {
		switch roll := s.rnd.Float64(); {
		case roll < f.SlowRate:
			body = bodySlow
		case roll < f.SlowRate+f.TruncateRate:
			body = bodyTruncated
		case roll < f.SlowRate+f.TruncateRate+f.BodyResetRate:
			body = bodyReset
		}
	}
	s.faultM.Unlock()

	if d := f.Latency + f.RouteLatency[rt.key]; d > 0 {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		}
	}
	if f.Down {
		writeStatus(w, http.StatusServiceUnavailable)
		return
	}
	if resetRoll < f.ResetRate {
		resetConnection(w)
		return
	}

	tok := s.authenticate(r)
	if tok != nil && s.revokeDue(f, tok.Value) {
		s.RevokeToken(tok.Value)
		tok = nil
	}
	if tok == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "401 Unauthorized"})
		return
	}
	if st, ok := f.TokenStorms[tok.Value]; ok && stormRoll < st.Rate {
		writeStorm(w, st)
		return
	}
	if !s.admitRate(w, tok.Value, tooManyRoll < f.TooManyRate) {
		return
	}
	if code, ok := f.FailRoutes[rt.key]; ok {
		writeStatus(w, code)
		return
	}
	if code, ok := f.FailPaths[r.Method+" "+strings.TrimPrefix(r.URL.Path, "/api/v4")]; ok {
		writeStatus(w, code)
		return
	}
	if errRoll < f.ErrorRate {
		writeStatus(w, []int{500, 502, 503}[which])
		return
	}
	if body == bodyIntact {
		s.dispatch(w, r, rt, tok)
		return
	}
	rec := httptest.NewRecorder()
	s.dispatch(rec, r, rt, tok)
	replay(w, r, rec, body, f.SlowDelay)
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

// lockW takes the write lock and records that the instance may change.
func (s *Server) lockW() {
	s.mu.Lock()
	s.version.Add(1)
}

func boolParam(q url.Values, name string) (val, set bool) {
	v := q.Get(name)
	if v == "" {
		return false, false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b, true
}

// iidKey names an IID sequence: one per kind and project.
type iidKey struct {
	kind    string
	project int64
}

// nextIID is the next IID of kind in project (s.mu held).
func (s *Server) nextIID(kind string, project int64) int64 {
	if s.lastIID == nil {
		s.lastIID = map[iidKey]int64{}
	}
	k := iidKey{kind, project}
	s.lastIID[k]++
	return s.lastIID[k]
}
