package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

// parseTokenMapping reads Ocean v1's tokenMapping: a YAML mapping or a
// JSON string, the variable over the file.
func parseTokenMapping(b *builder, g given) error {
	if g.env != "" {
		m, err := tokenmap.ParseJSON(g.key, []byte(g.val))
		if err != nil {
			return &Error{Setting: g.key, Source: g.env, Err: stripSetting(err, g.key)}
		}
		b.TokenMapping = m
	} else if n := g.node(); n.Kind != 0 {
		m, err := tokenMappingFromNode(n)
		if err != nil {
			return err
		}
		b.TokenMapping = m
	}
	return nil
}

// parseGitLabAuth reads how the tokens are sent; a private-token beside
// an OAuth token file is refused once that file is read.
func parseGitLabAuth(b *builder, g given) error {
	switch auth, src := g.str(); auth {
	case "":
	case "oauth":
		b.OAuth = true
	case "private-token":
		b.privateToken = src
		b.privateTokenSet = true
	default:
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be private-token (PRIVATE-TOKEN header) or oauth (Authorization: Bearer), got %s", redact.Quote(auth))}
	}
	return nil
}

// parseTokenFile reads Ocean's hosted form, a file holding the current
// OAuth token, and then settles the credentials: Ocean v1's tokenMapping
// or v2's one token (integrations/gitlab-v2/.port/spec.yaml,
// gitlabToken), which the token file supplies when neither is set.
func parseTokenFile(b *builder, g given) error {
	if file, fsrc := g.str(); file != "" {
		raw, err := os.ReadFile(file)
		if err != nil {
			return &Error{Setting: g.key, Source: fsrc, Err: errors.New("cannot be read: " + redact.Within(err.Error(), file))}
		}
		b.OAuth, b.TokenFile = true, file
		if b.token == "" && b.TokenMapping == nil {
			b.token, b.tokenSrc = strings.TrimSpace(string(raw)), fsrc
			if b.token == "" {
				return &Error{Setting: g.key, Source: fsrc, Err: errors.New("the file is empty")}
			}
		}
	}
	if b.privateTokenSet && b.TokenFile != "" {
		return &Error{Setting: "gitlabAuth", Source: b.privateToken, Err: errors.New("is private-token, but an OAuth token file is set")}
	}
	switch {
	case b.token != "" && b.TokenMapping != nil:
		return &Error{Setting: "gitlabToken", Source: b.tokenSrc, Err: errors.New("set either tokenMapping (Ocean v1's form) or gitlabToken (v2's), not both")}
	case b.token != "":
		b.TokenMapping = tokenmap.Mapping{{Token: b.token, Patterns: []string{"**"}}}
		b.OceanVersion = mapping.OceanV2
	case b.TokenMapping == nil:
		return &Error{Setting: "tokenMapping", Err: fmt.Errorf(`is required: set tokenMapping (or %s), e.g. {"glpat-…": ["**"]}, or Ocean v2's gitlabToken (or %s)`, EnvTokenMapping, EnvGitLabToken)}
	default:
		b.OceanVersion = mapping.OceanV1
	}
	return nil
}

// parseGitLabHost reads the GitLab instance's URL, which must not carry
// credentials and is meant without GitLab's API path.
func parseGitLabHost(b *builder, g given) error {
	b.GitLabHost = DefaultGitLabHost
	host, src := g.str()
	if host == "" {
		return nil
	}
	u, err := url.Parse(host)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be an http(s) URL like %s, got %s", DefaultGitLabHost, redact.Quote(host))}
	}
	if u.User != nil {
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must not hold credentials (%s): tokens go in tokenMapping or gitlabToken", redact.URL(host))}
	}
	b.GitLabHost = strings.TrimRight(host, "/")
	// GitLab's API URL (what the simulator and GitLab's own docs print)
	// passes as a host but would make every request /api/v4/api/v4/…, a
	// 404: the instance's URL is meant.
	if trimmed, ok := strings.CutSuffix(b.GitLabHost, "/api/v4"); ok {
		b.GitLabHost = strings.TrimRight(trimmed, "/")
		b.Notes = append(b.Notes, fmt.Sprintf("gitlabHost (from %s) ends in /api/v4, GitLab's API path, which glsync adds itself: using %s",
			where(g.key, src), redact.URL(b.GitLabHost)))
	}
	return nil
}

// parseAppHost reads appHost, or Ocean v2's OCEAN__BASE_URL (the same
// thing: the URL GitLab delivers to), but not both.
func parseAppHost(b *builder, g given) error {
	app, src := g.fileString(), ""
	if v := g.getenv(EnvAppHost); v != "" {
		app, src = v, EnvAppHost
	}
	if base := g.getenv(EnvBaseURL); base != "" {
		if app != "" {
			where := "appHost in the config file"
			if src != "" {
				where = src
			}
			return &Error{Setting: g.key, Source: EnvBaseURL, Err: fmt.Errorf("set either appHost (Ocean v1's form, here %s) or %s (v2's), not both", where, EnvBaseURL)}
		}
		app, src = base, EnvBaseURL
	}
	if app == "" {
		return nil
	}
	u, err := url.Parse(app)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be the http(s) URL GitLab can reach this service at, got %s", redact.Quote(app))}
	}
	if u.User != nil {
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must not hold credentials (%s): GitLab authenticates deliveries with the hook's secret", redact.URL(app))}
	}
	b.AppHost = strings.TrimRight(app, "/")
	return nil
}

// parseHooksOverride reads tokenGroupHooksOverrideMapping (a YAML value
// or a JSON string) and checks it against the settled token mapping.
func parseHooksOverride(b *builder, g given) error {
	var js []byte
	if g.env != "" {
		js = []byte(g.val)
	} else if n := g.node(); n.Kind != 0 {
		v, err := nodeAsJSON(n)
		if err != nil {
			return &Error{Setting: g.key, Err: err}
		}
		js = v
	}
	if js == nil {
		return nil
	}
	m, err := hookspec.ParseOverrideJSON(g.key, js)
	if err == nil {
		err = m.Validate(g.key, b.TokenMapping)
	}
	if err != nil {
		return &Error{Setting: g.key, Source: g.env, Err: stripSetting(err, g.key)}
	}
	b.TokenGroupHooksOverrideMapping = m
	return nil
}
