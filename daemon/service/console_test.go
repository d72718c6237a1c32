package service

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
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
	for _, want := range []string{`id="replicas">1<`, `id="queue-depth">0<`, "Last hook reconciliation", `<span class="state ok">created</span>`,
		h.org.Roots[0].FullPath} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	_, settings := getPage(t, c, base+"/ui/settings")
	if !strings.Contains(settings, "adminToken") || !strings.Contains(settings, "set (hidden)") {
		t.Fatalf("settings page:\n%s", settings)
	}
	for _, page := range []string{body, settings} {
		for _, tok := range append([]string{adminToken}, h.org.RootTokens...) {
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
	// Without a session, nothing but the login form.
	if code, page := getPage(t, http.DefaultClient, base+"/ui/settings"); code != http.StatusOK || !strings.Contains(page, `action="/ui/login"`) {
		t.Fatalf("settings without a session: %d", code)
	}
}
