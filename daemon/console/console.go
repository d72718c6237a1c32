// Package console is glsyncd's web console: a few server-rendered pages
// under /ui/ on the admin listener that answer "is it healthy, what does
// the catalog hold, what failed" without another tool. It declares the
// small interfaces it reads through; daemon/service adapts the running
// daemon to them, so the console knows nothing of how the daemon is
// wired and its tests run on fakes.
//
// Every page reads without JavaScript (one small script makes the
// catalog search update as one types). With adminToken set, the pages
// require a session obtained by logging in with it; every state-changing
// button is a POST carrying the session's CSRF token.
package console

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Prefix is where the console is served.
const Prefix = "/ui/"

// Status is the daemon's state, for the Overview page, and its one
// action.
type Status interface {
	Overview(ctx context.Context) (Overview, error)
	// RequestResync asks the leader for a resync and returns the admin
	// API's request id; ErrBusy when one is running or waiting.
	RequestResync(ctx context.Context) (string, error)
}

// ErrBusy is RequestResync's answer while a resync runs or waits.
var ErrBusy = errors.New("a resync is already running or queued")

// DeadLetters is the part of the webhook queue an operator acts on.
type DeadLetters interface {
	// DeadLetters counts them (the Overview's number).
	DeadLetters(ctx context.Context) (int, error)
	ListDeadLetters(ctx context.Context, limit int) ([]catalog.DeadLetter, error)
	RequeueDeadLetters(ctx context.Context, ids []int64) (int, error)
	DropDeadLetters(ctx context.Context, ids []int64) (int, error)
}

// Settings is what the Settings page shows: the daemon's configuration as
// it runs, and its mapping.
type Settings interface {
	Settings(ctx context.Context) (SettingsView, error)
}

// SettingsView is the effective configuration: config.Effective's rows
// (secrets already hidden there), the token mappings added through the
// admin API, and the mapping.
type SettingsView struct {
	Config []config.Effective
	// APIMappings are the token mappings stored through the admin API,
	// their tokens masked.
	APIMappings []APIMapping
	// MappingSource says where the mapping came from (a file, Port, the
	// built-in default); MappingYAML is the mapping document.
	MappingSource string
	MappingYAML   string
}

// APIMapping is a token mapping added through the admin API.
type APIMapping struct {
	Name, Token string
	Patterns    []string
}

// Options configure the console.
type Options struct {
	// AdminToken, when set, is what the login form takes: every page then
	// needs a session.
	AdminToken string
	// Loopback is true when the admin listener listens on a loopback
	// address only: without AdminToken the console may then act (resync,
	// retry, drop), since only this machine reaches it.
	Loopback bool
	// GitLabHost links entities to their GitLab objects.
	GitLabHost string
	Status     Status
	Catalog    catalog.Browser
	Queue      DeadLetters
	Settings   Settings
	Log        *slog.Logger
	// SessionTTL is how long a session lasts (default 8h).
	SessionTTL time.Duration
	// PageSize is the number of entities per catalog page (default 50).
	PageSize int
}

// Console serves the pages.
type Console struct {
	opts     Options
	log      *slog.Logger
	pages    map[string]*template.Template
	sessions *sessions
	mux      *http.ServeMux
}

// New builds the console; it fails only when its embedded templates do
// not parse, which the tests catch.
func New(o Options) (*Console, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.SessionTTL <= 0 {
		o.SessionTTL = 8 * time.Hour
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	c := &Console{opts: o, log: o.Log, sessions: newSessions(o.SessionTTL), pages: map[string]*template.Template{}}
	for _, p := range []string{"overview", "catalog", "entity", "resolve", "events", "settings", "login", "error"} {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", p, err)
		}
		c.pages[p] = t
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static files: %w", err)
	}
	m := http.NewServeMux()
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /ui/login", c.loginPage)
	m.HandleFunc("POST /ui/login", c.login)
	m.HandleFunc("POST /ui/logout", c.write(c.logout))
	m.HandleFunc("GET /ui/{$}", c.read(c.overview))
	m.HandleFunc("POST /ui/resync", c.write(c.resync))
	m.HandleFunc("GET /ui/catalog", c.read(c.catalogPage))
	m.HandleFunc("GET /ui/catalog/entity", c.read(c.entityPage))
	m.HandleFunc("GET /ui/catalog/resolve", c.read(c.resolvePage))
	m.HandleFunc("GET /ui/events", c.read(c.eventsPage))
	m.HandleFunc("POST /ui/events/dead-letters", c.write(c.deadLetterAction))
	m.HandleFunc("GET /ui/settings", c.read(c.settingsPage))
	m.HandleFunc("/ui/", c.read(func(w http.ResponseWriter, r *http.Request, s *session) {
		c.fail(w, r, s, http.StatusNotFound, "There is no such page.")
	}))
	c.mux = m
	return c, nil
}

// ServeHTTP serves everything under Prefix, with the headers every answer
// carries.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// No inline script or style anywhere: the pages link /ui/static/
	// files, so the policy can refuse everything else.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "+
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// page is what every template gets beside its own data.
type page struct {
	Title string
	// Nav is the current section, to mark its link.
	Nav string
	// CSRF is the session's token for the forms; empty in read-only mode.
	CSRF string
	// CanWrite shows the buttons that change something.
	CanWrite bool
	// LoggedIn shows the log-out button.
	LoggedIn bool
	// ReadOnlyWhy says why the buttons are missing.
	ReadOnlyWhy string
	// Flash is the outcome of the session's last action: kept server-side,
	// so no link can make a page say something the console did not.
	Flash string
	Data  any
}

// render writes a page, buffered so a template error is a 500, not half
// a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, name, title, nav string, data any) {
	p := page{Title: title, Nav: nav, Data: data, CanWrite: c.canWrite()}
	if !p.CanWrite {
		p.ReadOnlyWhy = "read-only: set adminToken (or listen on a loopback address) to retry, drop and resync from here"
	}
	if s != nil {
		p.CSRF, p.LoggedIn, p.Flash = s.csrf, c.opts.AdminToken != "", c.sessions.takeFlash(s)
	}
	var buf bytes.Buffer
	if err := c.pages[name].Execute(&buf, p); err != nil {
		c.log.Error("console: rendering a page failed", "page", name, "error", err)
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// fail renders the error page; the message is the console's own words,
// never an error's text that could carry what a request sent.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *session, code int, msg string) {
	// Headers set after WriteHeader are dropped: the type goes first.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	c.render(w, r, s, "error", http.StatusText(code), "", msg)
}

// failed logs err and renders a generic error: store errors can name
// hosts and paths an operator reads in the logs, not on a page.
func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, what string, err error) {
	c.log.Error("console: "+what+" failed", "error", err, "path", r.URL.Path)
	c.fail(w, r, s, http.StatusInternalServerError, strings.ToUpper(what[:1])+what[1:]+" failed; the daemon's log says why.")
}

// done answers a POST with 303 to a page (Post/Redirect/Get), keeping
// the action's outcome for that page to show.
func (c *Console) done(w http.ResponseWriter, r *http.Request, s *session, to, outcome string) {
	c.sessions.setFlash(s, outcome)
	http.Redirect(w, r, to, http.StatusSeeOther)
}
