package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// cookieName is the session cookie's name.
const cookieName = "glsync_console"

// session is one browser's login, kept server-side: the cookie holds only
// its random id.
type session struct {
	id, csrf string
	expires  time.Time
	flash    string
}

// sessions are the live sessions. They live in this process only: a
// restart, or another replica behind the same address, asks for the
// token again, which is cheaper than sharing session state.
type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]*session
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, m: map[string]*session{}}
}

// randomID is 32 random bytes: unguessable as a session id or CSRF token.
func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxSessions bounds the sessions held: an open console on loopback
// gives every cookie-less request one, so a client that never keeps its
// cookie must not grow the map without end.
const maxSessions = 10_000

func (ss *sessions) create() *session {
	s := &session{id: randomID(), csrf: randomID(), expires: time.Now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for id, o := range ss.m {
		if now.After(o.expires) {
			delete(ss.m, id)
		}
	}
	if len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if oldest == nil || o.expires.Before(oldest.expires) {
				oldest = o
			}
		}
		delete(ss.m, oldest.id)
	}
	ss.m[s.id] = s
	return s
}

// get is the live session the request's cookie names, or nil.
func (ss *sessions) get(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[ck.Value]
	if s == nil {
		return nil
	}
	if time.Now().After(s.expires) {
		delete(ss.m, s.id)
		return nil
	}
	return s
}

func (ss *sessions) end(s *session) {
	ss.mu.Lock()
	delete(ss.m, s.id)
	ss.mu.Unlock()
}

func (ss *sessions) setFlash(s *session, msg string) {
	ss.mu.Lock()
	s.flash = msg
	ss.mu.Unlock()
}

func (ss *sessions) takeFlash(s *session) string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	f := s.flash
	s.flash = ""
	return f
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, s *session) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: s.id, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: s.expires})
}

// canWrite says whether the console may change anything: with
// adminToken (behind a login), or on a listener only this machine
// reaches.
func (c *Console) canWrite() bool { return c.opts.AdminToken != "" || c.opts.Loopback }

// open reports whether pages need no login: no adminToken is set.
func (c *Console) open() bool { return c.opts.AdminToken == "" }

// handler is a page's handler; s is the request's session (nil on an
// open, read-only console).
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// read guards a page: behind adminToken it needs a session (else the
// login form), and an open console on loopback gets one, for its CSRF
// token.
func (c *Console) read(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.hostAllowed(r) {
			http.Error(w, "this console answers on localhost only (no adminToken is set)", http.StatusMisdirectedRequest)
			return
		}
		s := c.sessions.get(r)
		switch {
		case s != nil:
		case !c.open():
			http.Redirect(w, r, Prefix+"login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		case c.canWrite():
			s = c.sessions.create()
			c.setCookie(w, r, s)
		}
		h(w, r, s)
	}
}

// write guards a POST: it must be allowed at all, come from a session,
// carry that session's CSRF token and, when the browser says where it
// comes from, come from this console's own origin.
func (c *Console) write(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !c.canWrite() {
			http.Error(w, "the console is read-only: set adminToken, or listen on a loopback address", http.StatusForbidden)
			return
		}
		if !c.hostAllowed(r) || !sameOrigin(r) {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		s := c.sessions.get(r)
		if s == nil {
			http.Error(w, "no session: load the page again (and log in)", http.StatusForbidden)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.csrf)) != 1 {
			http.Error(w, "missing or wrong CSRF token: load the page again", http.StatusForbidden)
			return
		}
		h(w, r, s)
	}
}

// sameOrigin refuses a request whose Origin (sent with every POST by
// current browsers) is another site; SameSite=Strict already keeps the
// cookie off those, this is the second lock.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return o == ""
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// hostAllowed refuses, on an open console, a Host other than a loopback
// address or localhost: a site that rebinds its name to 127.0.0.1 would
// otherwise read and drive the console from the operator's browser.
func (c *Console) hostAllowed(r *http.Request) bool {
	if !c.open() || !c.opts.Loopback {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// loginPage shows the form (or goes on when already logged in).
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.open() || c.sessions.get(r) != nil {
		http.Redirect(w, r, nextPage(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, "login", "Log in", "", map[string]string{"Next": nextPage(r.URL.Query().Get("next"))})
}

// login exchanges adminToken for a session. The token is compared in
// constant time and never logged or echoed.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	if c.open() {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	if !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	next := nextPage(r.PostFormValue("next"))
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("token")), []byte(c.opts.AdminToken)) != 1 {
		c.log.Warn("console: a login with a wrong admin token was refused", "remote", r.RemoteAddr)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, nil, "login", "Log in", "", map[string]string{"Next": next, "Error": "That is not the admin token."})
		return
	}
	s := c.sessions.create()
	c.setCookie(w, r, s)
	c.log.Info("console: logged in", "remote", r.RemoteAddr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

// nextPage keeps a post-login destination inside the console, so the
// login form cannot be made to send anyone elsewhere.
func nextPage(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}
