package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"

	"github.com/glsync/terraform-provider-glsync/shared/adminapi"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/crawl"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/hookspec"
	"github.com/glsync/terraform-provider-glsync/shared/tokenmap"
)

type namedMapping struct {
	name string
	in   adminapi.TokenMappingInput
}

// config is the effective configuration: the file and environment, plus
// the token mappings added through the admin API (after the config's own,
// so config tokens keep ownership of what they see; a token already in
// the config is not added twice).
func (s *Service) config() *config.Config {
	s.cfgMu.RLock()
	defer s.cfgMu.RUnlock()
	c := *s.opts.Config
	c.TokenMapping = append(tokenmap.Mapping(nil), s.opts.Config.TokenMapping...)
	c.TokenGroupHooksOverrideMapping = append(hookspec.OverrideMapping(nil), s.opts.Config.TokenGroupHooksOverrideMapping...)
	for _, m := range s.apiMappings {
		if _, dup := c.TokenMapping.Lookup(m.in.Token); dup {
			continue
		}
		entry, override := m.in.Entry()
		c.TokenMapping = append(c.TokenMapping, entry)
		if len(override.Groups) > 0 {
			c.TokenGroupHooksOverrideMapping = append(c.TokenGroupHooksOverrideMapping, override)
		}
	}
	return &c
}

// loadMappings reads the API-managed token mappings from the store.
func (s *Service) loadMappings(ctx context.Context) error {
	names, values, err := s.records.TokenMappings(ctx)
	if err != nil {
		return err
	}
	var ms []namedMapping
	for i, n := range names {
		var in adminapi.TokenMappingInput
		if err := json.Unmarshal(values[i], &in); err != nil {
			return fmt.Errorf("token mapping %q: %w", n, err)
		}
		ms = append(ms, namedMapping{n, in})
	}
	s.cfgMu.Lock()
	s.apiMappings = ms
	s.cfgMu.Unlock()
	return nil
}

// applyMappings makes new token mappings effective for event routing;
// resyncs and hook reconciliation read config() each time.
func (s *Service) applyMappings() error {
	sources, err := s.sources()
	if err != nil {
		return err
	}
	s.processor.SetSources(sources)
	return nil
}

// sources builds one crawl source per token, in tokenMapping order.
func (s *Service) sources() ([]*crawl.Source, error) {
	co := s.opts.Client
	cfg := s.config()
	co.MaxConcurrent = cfg.MaxConcurrentRequests
	co.MaxRetries = cfg.MaxRetries
	co.Logger = s.log
	var out []*crawl.Source
	for _, e := range cfg.TokenMapping {
		c, err := gitlab.New(cfg.GitLabHost, e.Token, cfg.ClientOptions(co), s.tokens.For(e.Token))
		if err != nil {
			return nil, fmt.Errorf("token %s: %w", e.Masked(), err)
		}
		out = append(out, crawl.NewSource(e, c, s.opts.Mapping.Listing()))
	}
	return out, nil
}

func (s *Service) reloadMappings(r *http.Request) error {
	if err := s.loadMappings(r.Context()); err != nil {
		return err
	}
	return s.applyMappings()
}

// refreshMappings reads the API-managed token mappings again (another
// replica may have changed them) and, when they changed, makes them
// effective for event routing too.
func (s *Service) refreshMappings(ctx context.Context) error {
	s.cfgMu.RLock()
	before := s.apiMappings
	s.cfgMu.RUnlock()
	if err := s.loadMappings(ctx); err != nil {
		return err
	}
	s.cfgMu.RLock()
	same := reflect.DeepEqual(before, s.apiMappings)
	s.cfgMu.RUnlock()
	if same {
		return nil
	}
	return s.applyMappings()
}
