package service

import (
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/hooks"
	"github.com/glsync/terraform-provider-glsync/shared/port/porttest"
)

// consoleClient logs in to the running daemon's console.
func (h *harness) consoleClient() (*http.Client, string) {
	h.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	base := "http://" + h.svc.AdminAddr()
	resp, err := c.PostForm(base+"/ui/login", url.Values{"token": {adminToken}})
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/ui/" || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("login ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	return c, base
}

func getPage(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The console is served on the admin listener and reads the daemon as
// /status does: the hooks it manages, the last resync, the settings
// without a token in them; its Resync now button starts a resync.
func TestConsoleOnTheAdminListener(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.ready()
	c, base := h.consoleClient()
	eventually(t, 10*time.Second, "the start-up resync on the overview", func() bool {
		_, body := getPage(t, c, base+"/ui/")
		return strings.Contains(body, `id="last-outcome">ok<`)
	})
	_, body := getPage(t, c, base+"/ui/")
	for _, want := range []string{`id="replicas">1<`, `id="queue-depth">0<`, "Last hook reconciliation", `<span class="state ok">enabled</span> created: it was missing`,
		h.org.Roots[0].FullPath} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	// A delivery accepted and a forged one refused show on the hook's row.
	root := h.org.Roots[0]
	h.newProject("ConsoleDelivered")
	forged, _ := http.NewRequest("POST", "http://"+h.svc.WebhookAddr()+hooks.GroupHookPath+strconv.FormatInt(root.ID, 10), strings.NewReader(`{}`))
	forged.Header.Set("X-Gitlab-Token", "not-the-secret")
	forged.Header.Set("X-Gitlab-Event", "Push Hook")
	if resp, err := http.DefaultClient.Do(forged); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %v %v", resp, err)
	}
	row := regexp.MustCompile(`<th scope="row">` + regexp.QuoteMeta(root.FullPath) + `</th>.*?</tr>`)
	eventually(t, 10*time.Second, "the root hook's deliveries on the overview", func() bool {
		_, body := getPage(t, c, base+"/ui/")
		r := row.FindString(strings.ReplaceAll(body, "\n", " "))
		return strings.Contains(r, "<time ") && strings.Contains(r, `<td class="num bad">1</td>`)
	})
	// A token mapping added through the admin API shows by name, its
	// token by its kind only.
	req, _ := http.NewRequest("PUT", base+"/admin/token-mappings/extra", strings.NewReader(`{"token": "`+h.org.AdminToken+`", "patterns": ["nothing/**"]}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT token mapping: %v %v", resp, err)
	}
	_, settings := getPage(t, c, base+"/ui/settings")
	if !strings.Contains(settings, `<th scope="row">extra</th>`) || !strings.Contains(settings, "nothing/**") {
		t.Fatalf("settings page lacks the admin API's mapping:\n%s", settings)
	}
	if !strings.Contains(settings, "adminToken") || !strings.Contains(settings, "set (hidden)") {
		t.Fatalf("settings page:\n%s", settings)
	}
	for _, page := range []string{body, settings} {
		for _, tok := range append([]string{adminToken, h.org.AdminToken}, h.org.RootTokens...) {
			if strings.Contains(page, tok) || strings.Contains(page, tok[len(tok)-10:]) {
				t.Fatal("a page shows a token")
			}
		}
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if csrf == nil {
		t.Fatal("no CSRF token on the overview")
	}
	before := h.svc.LastResync().Run
	resp, err := c.PostForm(base+"/ui/resync", url.Values{"csrf": {csrf[1]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	eventually(t, 10*time.Second, "the console's resync", func() bool {
		l := h.svc.LastResync()
		return l != nil && l.Run > before
	})
	// The catalog and events pages read the store's catalog.Browser.
	p := h.sim.Projects()[0]
	id := strings.ReplaceAll(p.PathWithNamespace, " ", "")
	if code, page := getPage(t, c, base+"/ui/catalog?q="+url.QueryEscape(p.Path)); code != http.StatusOK || !strings.Contains(page, ">"+id+"<") {
		t.Fatalf("catalog search for %s: %d\n%s", p.Path, code, page)
	}
	if code, page := getPage(t, c, base+"/ui/catalog/entity?"+url.Values{"blueprint": {"service"}, "id": {id}}.Encode()); code != http.StatusOK ||
		!strings.Contains(page, "kind <code>project</code>") {
		t.Fatalf("entity page of %s: %d\n%s", id, code, page)
	}
	if code, _ := getPage(t, c, base+"/ui/events"); code != http.StatusOK {
		t.Fatalf("events page: %d", code)
	}
	// Without a session, nothing but the login form.
	if code, page := getPage(t, http.DefaultClient, base+"/ui/settings"); code != http.StatusOK || !strings.Contains(page, `action="/ui/login"`) {
		t.Fatalf("settings without a session: %d", code)
	}
}

// Each managed hook's state on the console: what GitLab showed, or what
// the cycle did about it.
func TestConsoleHookStates(t *testing.T) {
	plan := &hooks.Plan{Actions: []hooks.Action{
		{Op: hooks.OpKeep, Desired: hooks.Desired{Scope: "group:1", GroupPath: "acme"}, Existing: &hooks.Existing{ID: 11}},
		{Op: hooks.OpKeep, Desired: hooks.Desired{Scope: "group:2", GroupPath: "beta"},
			Existing: &hooks.Existing{ID: 12, AlertStatus: "temporarily_disabled", DisabledUntil: "2099-01-01T00:00:00Z"}},
		{Op: hooks.OpCreate, Desired: hooks.Desired{Scope: "group:3", GroupPath: "gamma"}},
		{Op: hooks.OpUpdate, Desired: hooks.Desired{Scope: "group:4", GroupPath: "delta"}, Existing: &hooks.Existing{ID: 14}, Reason: "events differ"},
		{Op: hooks.OpCreate, Desired: hooks.Desired{Scope: "project:5", ProjectPath: "user/epsilon"}},
		{Op: hooks.OpDelete, Existing: &hooks.Existing{ID: 16}},
	}}
	res := hooks.Result{Failed: []hooks.Problem{{Scope: "project:5", Err: errors.New("creating the hook: 403")}}}
	got := map[string]string{}
	for _, h := range consoleHooks(plan, res) {
		got[h.Target] = h.State + ": " + h.Detail
	}
	want := map[string]string{
		"acme":         "enabled: ",
		"beta":         "disabled: (alert_status temporarily_disabled, disabled_until 2099-01-01T00:00:00Z)",
		"gamma":        "enabled: created: it was missing",
		"delta":        "enabled: repaired: events differ",
		"user/epsilon": "missing: creating the hook: 403",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("hook states:\n%v\nwant\n%v", got, want)
	}
}

// In Port mode the console reads the mirror of what glsync wrote to
// Port: the same pages, the same entities.
func TestConsoleInPortMode(t *testing.T) {
	h := newHarness(t)
	ps := porttest.New("cid", "csecret-not-for-the-console")
	pts := ps.Start(t)
	h.cfg.Catalog, h.cfg.PortClientID, h.cfg.PortClientSecret, h.cfg.PortBaseURL = "port", "cid", "csecret-not-for-the-console", pts.URL
	h.cfg.IntegrationIdentifier, h.cfg.DeletionThreshold = "gl", 0.5
	h.start()
	eventually(t, 10*time.Second, "start-up resync into Port", func() bool { return len(ps.Entities()) > 50 })
	c, base := h.consoleClient()
	e := ps.Entities()[0]
	code, page := getPage(t, c, base+"/ui/catalog/entity?"+url.Values{"blueprint": {e.Blueprint}, "id": {e.Identifier}}.Encode())
	if code != http.StatusOK || !strings.Contains(page, `id="identifier">`+e.Identifier+`<`) {
		t.Fatalf("entity %s/%s in Port mode: %d\n%s", e.Blueprint, e.Identifier, code, page)
	}
	for _, p := range []string{"/ui/", "/ui/catalog", "/ui/events", "/ui/settings"} {
		code, page := getPage(t, c, base+p)
		if code != http.StatusOK || strings.Contains(page, "csecret-not-for-the-console") {
			t.Fatalf("%s in Port mode: %d", p, code)
		}
	}
}
