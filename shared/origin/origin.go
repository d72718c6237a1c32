// Package origin keeps credentials on the origin they were configured
// for. An HTTP client that sends a token in a header follows redirects
// with that header: net/http copies every header but Authorization and
// Cookie to another host, keeps even those for another port or scheme of
// the same host name or a subdomain, and a transport that sets a header
// on every attempt sets it on the redirected request too. So a redirect
// from the configured URL (a proxy upgrading http to https, a vanity
// domain, an SSO front, a hostile hop) would hand the token to whoever
// answers there. CheckRedirect follows a redirect only within the
// configured origin (scheme, host and port) and refuses the others with
// an error that names both URLs and the setting to fix.
package origin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Origin is what credentials are bound to: scheme, host and port, as a
// browser's same-origin rule compares them.
type Origin struct {
	Scheme, Host, Port string
}

// Of returns u's origin: scheme and host lower-cased, the scheme's
// default port when u names none (so https://h and https://h:443 are one
// origin).
func Of(u *url.URL) Origin {
	o := Origin{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Hostname()), Port: u.Port()}
	if o.Port == "" {
		o.Port = defaultPort(o.Scheme)
	}
	return o
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}

// String is the origin as a URL, without the scheme's default port.
func (o Origin) String() string {
	host := o.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	if o.Port == "" || o.Port == defaultPort(o.Scheme) {
		return o.Scheme + "://" + host
	}
	return o.Scheme + "://" + host + ":" + o.Port
}

// RedirectError is a redirect to another origin than the configured one,
// refused before anything was sent there.
type RedirectError struct {
	// Service is what was asked ("GitLab", "Port").
	Service string
	// Setting is the configuration that names the service's URL
	// ("gitlabHost"), the one to fix when the service moved.
	Setting string
	// Configured is the origin credentials are sent to.
	Configured Origin
	// From is the URL that answered with the redirect, To where it
	// pointed; both without user info or query (see Display).
	From, To string
}

func (e *RedirectError) Error() string {
	to := e.To
	if u, err := url.Parse(e.To); err == nil {
		to = Of(u).String()
	}
	return fmt.Sprintf("%s at %s redirected to %s, another origin than %s's (%s): not followed, so no credentials were sent there; if %s is where %s is served, set %s to it",
		e.Service, e.From, e.To, e.Setting, e.Configured, to, e.Service, e.Setting)
}

// Display is u as errors show it: scheme, host and path, without user
// info, query or fragment, which may carry a secret (a redirect's
// Location is chosen by whoever answers, the request's query by us).
func Display(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := c.String()
	if u.RawQuery != "" {
		s += "?…"
	}
	return s
}

// maxRedirects is net/http's default limit, kept for same-origin hops.
const maxRedirects = 10

// CheckRedirect returns an http.Client CheckRedirect that follows a
// redirect only when it stays on base's origin (at most 10 hops, as
// net/http's default) and refuses any other with a *RedirectError naming
// service and setting. A refused redirect is never requested, so nothing
// is sent to its origin, whatever headers the request carries.
func CheckRedirect(base *url.URL, service, setting string) func(*http.Request, []*http.Request) error {
	want := Of(base)
	return func(req *http.Request, via []*http.Request) error {
		if Of(req.URL) != want {
			from := base
			if len(via) > 0 {
				from = via[len(via)-1].URL
			}
			return &RedirectError{Service: service, Setting: setting, Configured: want, From: Display(from), To: Display(req.URL)}
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}

// Bind returns a copy of c (a new client when c is nil) that follows
// redirects only within base's origin, then through c's own
// CheckRedirect if it has one. c is left as it was: it may be shared.
func Bind(c *http.Client, base *url.URL, service, setting string) *http.Client {
	var b http.Client
	if c != nil {
		b = *c
	}
	check := CheckRedirect(base, service, setting)
	if prev := b.CheckRedirect; prev != nil {
		b.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if err := check(req, via); err != nil {
				return err
			}
			return prev(req, via)
		}
	} else {
		b.CheckRedirect = check
	}
	return &b
}
