package console

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/resync"
)

// Known secrets: the no-secret test looks for each of them, and for
// pieces of them, in every page.
const (
	gitlabToken  = "glpat-Sx7Kq2Lm9Np4Rt6Vw8Yz"
	adminToken   = "admin-Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc"
	hookSecret   = "hooksecret-Mn4Bv6Cx8Zl0Kj2Hg"
	portSecret   = "portsecret-Pq1Wo2Ie3Ru4Ty5"
	systemSecret = "systemsecret-Aa9Bb8Cc7Dd6"
)

type fixture struct {
	t       *testing.T
	srv     *httptest.Server
	client  *http.Client
	status  *fakeStatus
	queue   *fakeQueue
	catalog *fakeCatalog
}

// newFixture serves a console over fakes; tweak adjusts its options.
func newFixture(t *testing.T, tweak func(*Options)) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("tokenMapping:\n  "+gitlabToken+": ['acme/**']\nadminToken: "+adminToken+
		"\nwebhookSecret: "+hookSecret+"\nsystemHookSecret: "+systemSecret+"\nportClientId: portid-Zz1Yy2Xx3Ww4\nportClientSecret: "+portSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, status: &fakeStatus{o: Overview{Replica: "r1", Leader: "r1", Replicas: []string{"r1", "r2"}, QueueDepth: 3, OldestQueued: time.Now().Add(-90 * time.Second), DeadLetters: 2,
		Schedule: "every 1h0m0s", NextResync: testTime.Add(30 * 60e9),
		LastResync: &resync.Record{Run: 7, OK: true, Outcome: "ok", Replica: "r1", FinishedAt: testTime, DurationSeconds: 1.5, Requests: 42,
			Kinds:      map[string]map[string]int{"project": {"fetched": 12, "selected": 11, "created": 10, "requests": 5, "duration_ms": 1500}},
			FileErrors: []resync.FileErrorRecord{{Kind: "file", Project: "acme/api", Path: "port.yml", Reason: "does not parse"}}, FileErrorsTotal: 1},
		LastCompleted: &resync.Record{Run: 6, OK: true, FinishedAt: testTime},
		Hooks:         []Hook{{Scope: "group:1", Target: "acme", HookID: 5, State: "disabled", Detail: "alert_status temporarily_disabled", Refused: 4}},
		GitLab:        GitLabStats{Requests: 42, Retries: 1, RateLimited: 0},
		RateLimits:    []RateLimit{{Token: "token 1 (glpat-…)", Known: true, Remaining: 57, Reset: testTime.Add(60e9), InFlight: 8, Requests: 40, Retries: 1, RateLimited: 2}, {Token: "token 2 (…)", InFlight: 4}}}},
		queue: &fakeQueue{dead: []catalog.DeadLetter{
			{ID: 11, Delivery: "d-11", Type: "Push Hook", Object: "project:4", ReceivedAt: testTime, Attempts: 1, LastError: "gitlab: 403"},
			{ID: 12, Delivery: "d-12", Type: "Merge Request Hook", Object: "project:4", ReceivedAt: testTime, Attempts: 10,
				LastError: "gitlab: 502 at https://user:" + portSecret + "@gitlab.example.com/api with " + gitlabToken}}},
		catalog: &fakeCatalog{
			entities: []*catalog.Entity{
				{Blueprint: "service", Identifier: "acme/api", Title: "API", Properties: map[string]any{"url": "https://gitlab.example.com/acme/api", "stars": 3},
					Relations: map[string]any{"group": "acme"}},
				{Blueprint: "service", Identifier: "acme/web", Title: "Web front", Properties: map[string]any{}, Relations: map[string]any{"group": "acme"}},
				{Blueprint: "service", Identifier: "acme/worker", Title: "Worker", Properties: map[string]any{}},
				{Blueprint: "group", Identifier: "acme", Title: "Acme", Properties: map[string]any{"link": "javascript:alert(1)"}},
			},
			prov: map[catalog.Key]catalog.Provenance{{Blueprint: "service", Identifier: "acme/api"}: {Kind: "project", Source: "acme/api:port.yml", Project: 4,
				ChangedAt: testTime, ChangedBy: "event Push Hook d-9"}},
			deliveries: []catalog.DeliveryRecord{{Delivery: "d-9", Type: "Push Hook", Object: "acme/api", Outcome: "applied", Latency: 120e6, At: testTime}},
		}}
	o := Options{AdminToken: cfg.AdminToken, GitLabHost: "https://gitlab.example.com", Status: f.status, Catalog: f.catalog, Queue: f.queue,
		Settings: fakeSettings{SettingsView{Config: cfg.Effective(), MappingSource: "the file mapping.yml",
			MappingYAML: "resources:\n  - kind: project\n", APIMappings: []APIMapping{{Name: "team", Token: "glpat-…", Patterns: []string{"team/**"}}}}},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PageSize: 2}
	if tweak != nil {
		tweak(&o)
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(Prefix, c)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	jar, _ := cookiejar.New(nil)
	f.client = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// get fetches a page and returns its status and body.
func (f *fixture) get(path string) (int, string, http.Header) {
	f.t.Helper()
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (f *fixture) post(path string, form url.Values) *http.Response {
	f.t.Helper()
	resp, err := f.client.PostForm(f.srv.URL+path, form)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// login logs the fixture's client in with the admin token.
func (f *fixture) login() {
	f.t.Helper()
	resp := f.post("/ui/login", url.Values{"token": {adminToken}, "next": {"/ui/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		f.t.Fatalf("login: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the token in a page's forms.
func (f *fixture) csrf(path string) string {
	f.t.Helper()
	_, body, _ := f.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		f.t.Fatalf("%s has no CSRF field", path)
	}
	return m[1]
}

// pages are every page, with something each must show.
var pages = map[string]string{
	"/ui/":              `id="queue-depth">3<`,
	"/ui/catalog":       `acme/api`,
	"/ui/catalog?q=web": `Web front`,
	"/ui/catalog/entity?blueprint=service&id=acme%2Fapi": `acme/api:port.yml`,
	"/ui/events":   `gitlab: 403`,
	"/ui/settings": `webhookSecret`,
}

func TestPagesRenderAfterLogin(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	for path, want := range pages {
		code, body, _ := f.get(path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in:\n%s", path, code, want, body)
		}
	}
}

func TestOverviewShowsTheDaemon(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	_, body, _ := f.get("/ui/")
	for _, want := range []string{`id="leader">r1<`, `id="oldest-queued">oldest received <time`, `>1m ago</time>`, `id="replicas">2<`, `id="dead-letters">2<`, `<th scope="row">project</th><td class="num">12</td><td class="num">11</td><td class="num">10</td>`,
		`<td class="num">5</td><td class="num">1.5s</td>`, `id="last-completed">Last completed resync (what the catalog is based on): run 6`, `<span class="state bad">disabled</span>`, `temporarily_disabled`, `<td>never</td><td class="num bad">4</td>`, `<code>port.yml</code>`, `action="/ui/resync"`, "42 GitLab requests",
		`<th scope="row">token 1 (glpat-…)</th><td class="num">40</td><td class="num">1</td><td class="num warn">2</td><td class="num warn">57</td>`, "no limit announced now"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
}

func TestLoginRequiredAndCookieFlags(t *testing.T) {
	f := newFixture(t, nil)
	for path := range pages {
		code, _, h := f.get(path)
		if code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/ui/login?next=") {
			t.Errorf("%s without a session: %d %s", path, code, h.Get("Location"))
		}
	}
	if resp := f.post("/ui/login", url.Values{"token": {adminToken + "x"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	resp := f.post("/ui/login", url.Values{"token": {adminToken}, "next": {"https://evil.example/"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("login going elsewhere: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != Prefix || len(ck[0].Value) < 40 ||
		strings.Contains(ck[0].Value, adminToken) {
		t.Fatalf("session cookie %+v", ck)
	}
	if code, _, _ := f.get("/ui/"); code != http.StatusOK {
		t.Fatalf("after login: %d", code)
	}
	// Logging out ends the session on the server, not only in the browser.
	f.post("/ui/logout", url.Values{"csrf": {f.csrf("/ui/")}})
	f.client.Jar.SetCookies(mustURL(f.srv.URL+"/ui/"), ck)
	if code, _, _ := f.get("/ui/"); code != http.StatusSeeOther {
		t.Fatalf("old session after logout: %d", code)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestPostsNeedTheSessionsCSRFToken(t *testing.T) {
	f := newFixture(t, nil)
	f.login()
	token := f.csrf("/ui/events")
	for _, form := range []url.Values{
		{"id": {"11"}, "action": {"retry"}},
		{"id": {"11"}, "action": {"retry"}, "csrf": {"wrong"}},
		{"id": {"11"}, "action": {"retry"}, "csrf": {token[:len(token)-1]}},
	} {
		if resp := f.post("/ui/events/dead-letters", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%v: %d", form, resp.StatusCode)
		}
	}
	// Another site's form, even with the token, is refused by its Origin.
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/resync", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := f.client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin POST: %v %v", resp.StatusCode, err)
	}
	if len(f.queue.requeued)+len(f.queue.dropped) != 0 || f.status.requests != 0 {
		t.Fatal("a refused POST acted")
	}
	resp := f.post("/ui/events/dead-letters", url.Values{"id": {"11"}, "action": {"retry"}, "csrf": {token}})
	if resp.StatusCode != http.StatusSeeOther || len(f.queue.requeued) != 1 || f.queue.requeued[0] != 11 {
		t.Fatalf("retry: %d, requeued %v", resp.StatusCode, f.queue.requeued)
	}
	if _, body, _ := f.get("/ui/events"); !strings.Contains(body, "Dead letter 11 put back in the queue.") || strings.Contains(body, "d-11") {
		t.Fatalf("events after retry:\n%s", body)
	}
	// The outcome is shown once.
	if _, body, _ := f.get("/ui/events"); strings.Contains(body, "put back in the queue") {
		t.Fatal("the outcome is shown again")
	}
	f.post("/ui/events/dead-letters", url.Values{"id": {"12"}, "action": {"drop"}, "csrf": {token}})
	if len(f.queue.dropped) != 1 {
		t.Fatalf("drop: %v", f.queue.dropped)
	}
	f.post("/ui/resync", url.Values{"csrf": {token}})
	f.post("/ui/resync", url.Values{"csrf": {token}})
	if _, body, _ := f.get("/ui/"); f.status.requests != 2 || !strings.Contains(body, "already running or queued") {
		t.Fatalf("second resync request: %d\n%s", f.status.requests, body)
	}
}

func TestSecurityHeadersOnEveryAnswer(t *testing.T) {
	f := newFixture(t, nil)
	paths := []string{"/ui/login", "/ui/static/style.css", "/ui/nowhere"}
	f.login()
	for p := range pages {
		paths = append(paths, p)
	}
	for _, p := range paths {
		_, _, h := f.get(p)
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP %q allows unsafe", p, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
	// Nothing inline for the policy to refuse.
	for p := range pages {
		_, body, _ := f.get(p)
		if regexp.MustCompile(`<script>|<style|style="|\son[a-z]+=`).MatchString(body) {
			t.Errorf("%s has inline script or style", p)
		}
	}
}

func TestReadOnlyWithoutAdminTokenOffLoopback(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AdminToken, o.Loopback = "", false })
	for path, want := range pages {
		code, body, _ := f.get(path)
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d", path, code)
		}
		if strings.Contains(body, `method="post"`) || strings.Contains(body, `name="csrf"`) {
			t.Errorf("%s offers a button that changes something", path)
		}
	}
	for _, p := range []string{"/ui/resync", "/ui/events/dead-letters", "/ui/logout"} {
		if resp := f.post(p, url.Values{"id": {"11"}, "action": {"retry"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s: %d", p, resp.StatusCode)
		}
	}
	if len(f.queue.requeued) != 0 || f.status.requests != 0 {
		t.Fatal("a read-only console acted")
	}
}

func TestOpenOnLoopbackActsForLocalhostOnly(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AdminToken, o.Loopback = "", true })
	token := f.csrf("/ui/events")
	if resp := f.post("/ui/events/dead-letters", url.Values{"id": {"11"}, "action": {"retry"}, "csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry on loopback: %d", resp.StatusCode)
	}
	// A name rebound to 127.0.0.1 is not this console's.
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/", nil)
	req.Host = "rebound.evil.example"
	if resp, err := f.client.Do(req); err != nil || resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("rebound host: %v %v", resp.StatusCode, err)
	}
}

func TestNoSecretOnAnyPage(t *testing.T) {
	f := newFixture(t, nil)
	_, loginPage, _ := f.get("/ui/login")
	f.login()
	bodies := map[string]string{"/ui/login": loginPage}
	for p := range pages {
		_, bodies[p], _ = f.get(p)
	}
	_, bodies["resolve"], _ = f.get("/ui/catalog/resolve?id=nothing")
	for p, body := range bodies {
		for _, s := range []string{gitlabToken, adminToken, hookSecret, portSecret, systemSecret} {
			// Whole, or the characters after a prefix a mask might keep.
			for _, piece := range []string{s, s[strings.IndexAny(s, "-")+1:][:8]} {
				if strings.Contains(body, piece) {
					t.Errorf("%s shows %q", p, piece)
				}
			}
		}
	}
	if !strings.Contains(bodies["/ui/settings"], "set (hidden)") {
		t.Fatal("the settings page does not say the secrets are set")
	}
}

func TestCatalogPagesSearchAndRelations(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.AdminToken, o.Loopback = "", true })
	_, body, _ := f.get("/ui/catalog?blueprint=service")
	next := regexp.MustCompile(`href="(/ui/catalog\?[^"]+)" rel="next"`).FindStringSubmatch(body)
	if next == nil || !strings.Contains(body, "acme/web") || strings.Contains(body, "acme/worker") {
		t.Fatalf("first page:\n%s", body)
	}
	_, body, _ = f.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	if !strings.Contains(body, "acme/worker") || strings.Contains(body, "acme/api<") || strings.Contains(body, `rel="next"`) {
		t.Fatalf("second page:\n%s", body)
	}
	if _, body, _ = f.get("/ui/catalog?q=FRONT"); !strings.Contains(body, "acme/web") || strings.Contains(body, "acme/api") {
		t.Fatalf("search:\n%s", body)
	}
	_, body, _ = f.get("/ui/catalog/entity?blueprint=service&id=acme%2Fapi")
	for _, want := range []string{`href="https://gitlab.example.com/acme/api" rel="noreferrer noopener" id="gitlab-link"`, "event Push Hook d-9",
		`href="/ui/catalog/resolve?id=acme&amp;relation=group"`, "kind <code>project</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("entity page lacks %q", want)
		}
	}
	code, _, h := f.get("/ui/catalog/resolve?id=acme&relation=group")
	if code != http.StatusSeeOther || h.Get("Location") != "/ui/catalog/entity?blueprint=group&id=acme" {
		t.Fatalf("following a relation: %d %s", code, h.Get("Location"))
	}
	// A javascript: "link" is shown as text, never linked.
	if _, body, _ = f.get("/ui/catalog/entity?blueprint=group&id=acme"); strings.Contains(body, `href="javascript`) || strings.Contains(body, "gitlab-link") {
		t.Fatalf("group page:\n%s", body)
	}
	if code, _, h := f.get("/ui/catalog/entity?blueprint=group&id=none"); code != http.StatusNotFound || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("missing entity: %d %q", code, h.Get("Content-Type"))
	}
}

func TestSessionsAreBounded(t *testing.T) {
	ss := newSessions(time.Hour)
	first := ss.create()
	for range maxSessions {
		ss.create()
	}
	if len(ss.m) != maxSessions {
		t.Fatalf("%d sessions held", len(ss.m))
	}
	if _, ok := ss.m[first.id]; ok {
		t.Fatal("the oldest session was kept")
	}
}
