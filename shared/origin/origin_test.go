package origin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestRedirectLeavingTheOriginIsRefused: every way a redirect can leave
// the configured origin (scheme downgrade or upgrade, another port, a
// subdomain, another host, user info aimed at confusing a parser) is
// refused; another spelling of the origin itself, or another path on it,
// is followed.
func TestRedirectLeavingTheOriginIsRefused(t *testing.T) {
	base := mustParse(t, "https://gitlab.example.com/gitlab")
	check := CheckRedirect(base, "GitLab", "gitlabHost")
	via := []*http.Request{{URL: mustParse(t, "https://gitlab.example.com/gitlab/api/v4/user?private_token=glpat-QXbeg-Ev9xtu5_5FsaAQ")}}
	for _, to := range []string{
		"http://gitlab.example.com/gitlab/api/v4/user",
		"https://gitlab.example.com:8443/gitlab/api/v4/user",
		"https://evil.gitlab.example.com/api/v4/user",
		"https://gitlab.example.com.evil.example/api/v4/user",
		"https://gitlab.example.com@evil.example/api/v4/user",
		"https://[::1]/api/v4/user",
	} {
		err := check(&http.Request{URL: mustParse(t, to)}, via)
		var re *RedirectError
		if !errors.As(err, &re) {
			t.Errorf("%s: followed (%v)", to, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "glpat-") || strings.Contains(msg, "private_token") || !strings.Contains(msg, "https://gitlab.example.com/gitlab/api/v4/user?…") || !strings.Contains(msg, "set gitlabHost to it") {
			t.Errorf("%s: %s", to, msg)
		}
	}
	for _, to := range []string{"https://gitlab.example.com/gitlab/api/v4/users/1", "https://GITLAB.example.com:443/x", "/relative-is-resolved-by-net-http"} {
		u := mustParse(t, to)
		if !u.IsAbs() {
			u = via[0].URL.ResolveReference(u)
		}
		if err := check(&http.Request{URL: u}, via); err != nil {
			t.Errorf("%s: refused: %v", to, err)
		}
	}
	many := make([]*http.Request, 10)
	for i := range many {
		many[i] = via[0]
	}
	if err := check(&http.Request{URL: via[0].URL}, many); err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") {
		t.Errorf("an 11th redirect: %v", err)
	}
}

func TestDisplayDropsUserInfoAndQuery(t *testing.T) {
	got := Display(mustParse(t, "https://user:glpat-secret@gitlab.example.com/api/v4/x?private_token=glpat-secret#frag"))
	if got != "https://gitlab.example.com/api/v4/x?…" {
		t.Fatal(got)
	}
}

func TestBindKeepsTheClientAndItsPolicy(t *testing.T) {
	base := mustParse(t, "https://gitlab.example.com")
	calls := 0
	orig := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { calls++; return http.ErrUseLastResponse }}
	b := Bind(orig, base, "Port", "portBaseUrl")
	if b == orig {
		t.Fatal("Bind changed the caller's client")
	}
	if err := b.CheckRedirect(&http.Request{URL: mustParse(t, "https://evil.example/")}, []*http.Request{{URL: base}}); err == nil || calls != 0 {
		t.Fatalf("another origin: %v (the client's own policy ran %d times)", err, calls)
	}
	if err := b.CheckRedirect(&http.Request{URL: mustParse(t, "https://gitlab.example.com/y")}, []*http.Request{{URL: base}}); err != http.ErrUseLastResponse || calls != 1 {
		t.Fatalf("same origin: %v, the client's own policy ran %d times", err, calls)
	}
	if Bind(nil, base, "Port", "portBaseUrl").CheckRedirect == nil {
		t.Fatal("a new client without the policy")
	}
}
