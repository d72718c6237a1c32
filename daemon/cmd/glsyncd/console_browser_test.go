//go:build browser

package main

// The console in a real browser: `make test-ui` runs this file (build tag
// browser) against Debian's Chromium, and `make screenshots` runs it
// again to write each page's picture into docs/images. Plain `go test`
// does not build it, so a machine without Chromium skips nothing by
// accident: the tag chooses, and with it a missing browser fails.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

// chromium is the browser: GLSYNC_CHROMIUM, else Debian's.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("GLSYNC_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("no Chromium at %s (apt-get install chromium, or set GLSYNC_CHROMIUM): the browser test does not skip", path)
	}
	return path
}

func TestConsoleInBrowser(t *testing.T) {
	const (
		admin   = "console-admin-token-Hq8Vn3Kd6Ws1Zp4Xr7"
		webhook = "console-webhook-secret-Jm2Tb5Yc9"
	)
	browserPath := chromium(t) // first: without it nothing else is worth starting
	ctx := context.Background()
	sim := gitlabtest.New(gitlabtest.Options{Seed: 41})
	org := sim.Generate(gitlabtest.OrgSpec{Roots: 1, Projects: 30, Seed: 41})
	ts := sim.Start(t)
	hookAddr, adminAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("gitlabHost: %s\nappHost: http://%s\nadminToken: %s\nwebhookSecret: %s\ntokenMapping:\n  %s: ['**']\n",
		ts.URL, hookAddr, admin, webhook, org.RootTokens[0])), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	d := startChild(t, "run", "--config", cfg, "--data-dir", data, "--listen", hookAddr, "--admin-listen", adminAddr)
	waitFor(t, 60*time.Second, "start-up resync", func() bool { return metric(t, adminAddr, `glsync_resync_runs_total{result="ok"} 1`) })

	// A dead letter: GitLab answers 422 to the new project's read (a 4xx is
	// dead at once), then stops refusing; the console's Retry applies it.
	team := sim.Group(org.Roots[0].FullPath + "/DevopsTeam")
	sim.SetFaults(gitlabtest.Faults{FailRoutes: map[string]int{"GET /projects/:id": http.StatusUnprocessableEntity}})
	p := sim.AddProject(team, "ConsoleRetry")
	if ds := sim.Push(ctx, p.ID); len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("push: %+v", ds)
	}
	deadLettered := func() bool {
		r := runCLI(t, nil, "queue", "list", "--data-dir", data, "-o", "json")
		var listed struct {
			DeadLetters []struct{ ID int64 } `json:"dead_letters"`
		}
		return json.Unmarshal([]byte(r.stdout), &listed) == nil && len(listed.DeadLetters) == 1
	}
	for start := time.Now(); !deadLettered(); time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the push was not dead-lettered within 30s; the daemon's log:\n%s", d.out.String())
		}
	}
	sim.SetFaults(gitlabtest.Faults{})

	base := "http://" + adminAddr
	b := newBrowser(t, browserPath)
	shots := os.Getenv("GLSYNC_SCREENSHOTS")
	secrets := append([]string{admin, webhook, org.AdminToken}, org.RootTokens...)
	pages := 0
	// visit checks that the page the browser is on holds no secret, and
	// pictures it when asked.
	visit := func(name string) {
		t.Helper()
		html := value(b, chromedp.OuterHTML(chromedp.CSS("html")))
		for _, s := range secrets {
			if strings.Contains(html, s) || strings.Contains(html, s[len(s)-12:]) {
				t.Fatalf("%s (%s) shows a token or secret", name, b.location())
			}
		}
		pages++
		// The pictures in the docs: one per page, the Events page with its
		// dead letter (Retry and Drop) rather than after it.
		if shots != "" && name != "related" && name != "events-after-retry" {
			b.screenshot(filepath.Join(shots, "console-"+name+".png"))
		}
	}

	// Log in.
	b.do(chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.ID("token")))
	visit("login")
	b.do(chromedp.SendKeys(chromedp.ID("token"), admin), chromedp.Submit(chromedp.ID("token")), chromedp.WaitVisible(chromedp.ID("queue-depth")))

	// The overview's numbers are /status's.
	status := adminStatus(t, adminAddr, admin)
	depth, replicas, leader, dead := b.text("#queue-depth"), b.text("#replicas"), b.text("#leader"), b.text("#dead-letters")
	if depth != strconv.Itoa(int(status["queue_depth"].(float64))) || replicas != strconv.Itoa(len(status["replicas"].([]any))) ||
		leader != status["leader"] || dead != "1" {
		t.Fatalf("overview: queue %s, replicas %s, leader %s, dead letters %s; /status %v", depth, replicas, leader, dead, status)
	}
	visit("overview")

	// Find a project by typing part of its name (search as you type),
	// open it, follow its relation to its group.
	p0 := sim.Projects()[0]
	target := strings.ReplaceAll(p0.PathWithNamespace, " ", "") // the default mapping's identifier
	link := chromedp.CSS(`#entities a[href$="id=` + url.QueryEscape(target) + `"]`)
	b.do(chromedp.Navigate(base+"/ui/catalog"), chromedp.WaitVisible(chromedp.ID("q")))
	visit("catalog")
	b.do(chromedp.SendKeys(chromedp.ID("q"), p0.Path), chromedp.WaitVisible(link), chromedp.Click(link), chromedp.WaitVisible(chromedp.ID("identifier")))
	if got := b.text("#identifier"); got != target {
		t.Fatalf("entity page of %q shows %q", target, got)
	}
	visit("entity")
	b.do(chromedp.Click(chromedp.CSS("a.relation")))
	waitFor(t, 10*time.Second, "the related group's page", func() bool { return strings.Contains(b.location(), "blueprint=gitlabGroup") })
	b.do(chromedp.WaitVisible(chromedp.ID("identifier")))
	if got := b.text("#identifier"); got != strconv.FormatInt(p0.NamespaceID, 10) {
		t.Fatalf("the group relation led to %q, want the group %d", got, p0.NamespaceID)
	}
	visit("related")

	// Retry the dead letter; the project it is about reaches the catalog.
	b.do(chromedp.Navigate(base+"/ui/events"), chromedp.WaitVisible(chromedp.ID("dead-letter-table")))
	visit("events")
	// By keyboard: the first Tab reaches the skip link, and Enter on the
	// focused Retry button sends its form.
	b.do(chromedp.KeyEvent("\t"))
	if got := value(b, chromedp.Evaluate[string](`document.activeElement.textContent`)); got != "Skip to content" {
		t.Fatalf("the first Tab reaches %q", got)
	}
	b.do(chromedp.Focus(chromedp.CSS(`#dead-letter-table button[value="retry"]`)), chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS(".flash")))
	waitFor(t, 30*time.Second, "the retried event applied", func() bool {
		b.do(chromedp.Navigate(base+"/ui/catalog?q=ConsoleRetry"), chromedp.WaitVisible(chromedp.ID("results")))
		return value(b, chromedp.Evaluate[float64](`document.querySelectorAll("#entities tbody tr").length`)) == 1
	})
	b.do(chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.ID("dead-letters")))
	if dead := b.text("#dead-letters"); dead != "0" {
		t.Fatalf("dead letters after the retry: %s", dead)
	}
	b.do(chromedp.Navigate(base+"/ui/events"), chromedp.WaitVisible(chromedp.ID("deliveries")))
	if out := b.text("#deliveries"); !strings.Contains(out, "applied") {
		t.Fatalf("deliveries after the retry:\n%s", out)
	}
	visit("events-after-retry")
	b.do(chromedp.Navigate(base+"/ui/settings"), chromedp.WaitVisible(chromedp.ID("config")))
	visit("settings")

	// Readable on a phone: nothing wider than the screen (the tables
	// scroll inside their own box).
	b.do(chromedp.EmulateViewport(390, 844))
	for _, page := range []string{"/ui/", "/ui/catalog", "/ui/catalog/entity?" + url.Values{"blueprint": {"service"}, "id": {target}}.Encode(), "/ui/events", "/ui/settings"} {
		b.do(chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS("main")))
		if value(b, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
			t.Errorf("%s is wider than a 390 px screen", page)
		}
	}
	if shots != "" {
		b.do(chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("main")))
		b.screenshot(filepath.Join(shots, "console-overview-390.png"))
	}
	if out := d.out.String(); strings.Contains(out, admin) || strings.Contains(out, webhook) || strings.Contains(out, org.RootTokens[0]) {
		t.Fatal("a token or secret appears in the daemon's log")
	}
	t.Logf("%d pages checked for secrets", pages)
}

func adminStatus(t *testing.T, addr, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/status", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var st map[string]any
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/status: %v: %s", err, body)
	}
	return st
}

// browser is a headless Chromium driven through the DevTools protocol.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, path string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900),
		// CI runs as root, where Chromium's sandbox does not start.
		chromedp.NoSandbox)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx}
	// The first action starts the browser, with no timeout (one would
	// stop the browser with it).
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return b
}

// do runs steps, bounded so a missing element fails the test instead of
// hanging it.
func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser at %s: %v", b.location(), err)
	}
}

// value runs one action and returns its value.
func value[T any](b *browser, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(value(b, chromedp.Text(chromedp.CSS(sel))))
}

func (b *browser) location() string {
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	return loc
}

// screenshotPalette is the stylesheet's colours exactly, a ramp of greys
// for anti-aliased text, and the web-safe colours for the rest.
var screenshotPalette = func() color.Palette {
	p := color.Palette{}
	for _, c := range []uint32{0x1d2330, 0x5a6275, 0xffffff, 0xd8dce4, 0x2456c7, 0x1e7a3c, 0x9a6200, 0xb3261e, 0xf5f7fa,
		0x14213d, 0xdfe6f5, 0xe8f1fd, 0xb6cdf3, 0x9aa3b5} {
		p = append(p, color.RGBA{uint8(c >> 16), uint8(c >> 8), uint8(c), 0xff})
	}
	for g := 0; len(p) < 256-len(palette.WebSafe); g++ {
		v := uint8(g * 255 / 25)
		p = append(p, color.RGBA{v, v, v, 0xff})
	}
	return append(p, palette.WebSafe...)
}()

// screenshot writes the page as a paletted PNG: the console's flat
// colours survive 256 colours, and the files kept in docs/images are a
// third of Chromium's size.
func (b *browser) screenshot(path string) {
	b.t.Helper()
	img, err := png.Decode(bytes.NewReader(value(b, chromedp.CaptureScreenshot())))
	if err != nil {
		b.t.Fatal(err)
	}
	pal := image.NewPaletted(img.Bounds(), screenshotPalette)
	draw.Draw(pal, pal.Rect, img, img.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, pal); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.t.Fatal(err)
	}
}
