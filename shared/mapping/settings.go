package mapping

import (
	"fmt"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// parseGitLabSettings reads the GitLab integration's own top-level keys:
// visibility (v2), specPath, branch, filterOwnedProjects and
// projectVisibilityFilter (v1), with the generation's defaults.
func (c *Config) parseGitLabSettings(doc map[string]any) error {
	switch sp := doc["specPath"].(type) {
	case nil:
		if c.Generation == OceanV1 {
			c.SpecPaths = []string{v1DefaultSpecPath}
		}
	default:
		list, err := selector.AsStrings(sp)
		if err != nil {
			return fmt.Errorf("mapping: specPath: must be a glob or a list of globs: %w", err)
		}
		c.SpecPaths, c.GitOpsResync = list, true
	}
	for _, sp := range c.SpecPaths {
		if sp == "" || !doublestar.ValidatePattern(sp) {
			return fmt.Errorf("mapping: specPath: %q is not a valid glob", sp)
		}
	}
	if v, ok := doc["branch"]; ok && v != nil {
		b, err := selector.AsString(v)
		if err != nil {
			return fmt.Errorf("mapping: branch: %w", err)
		}
		c.Branch = b
	}
	use, level := c.Generation == OceanV2, v2MinAccessLevel
	if v, ok := doc["visibility"]; ok && v != nil {
		m, isMap := v.(map[string]any)
		if !isMap {
			return fmt.Errorf("mapping: visibility: must be {useMinAccessLevel, minAccessLevel}, got %s", selector.Shown(v))
		}
		for k := range m {
			if k != "useMinAccessLevel" && k != "minAccessLevel" {
				return fmt.Errorf("mapping: visibility.%s: %w", k, selector.UnknownKey("visibility option", k, []string{"useMinAccessLevel", "minAccessLevel"}))
			}
		}
		// Setting visibility at all turns it on (its useMinAccessLevel
		// defaults to true), whatever the generation.
		use = true
		if x, ok := m["useMinAccessLevel"]; ok && x != nil {
			b, err := selector.AsBool(x)
			if err != nil {
				return fmt.Errorf("mapping: visibility.useMinAccessLevel: %w", err)
			}
			use = b
		}
		if x, ok := m["minAccessLevel"]; ok && x != nil {
			n, err := selector.AsInt(x)
			if err == nil && n != 10 && n != 20 && n != 30 && n != 40 && n != 50 {
				err = fmt.Errorf("must be 10 (guest), 20 (reporter), 30 (developer), 40 (maintainer) or 50 (owner), got %d", n)
			}
			if err != nil {
				return fmt.Errorf("mapping: visibility.minAccessLevel: %w", err)
			}
			level = n
		}
	}
	if use {
		c.MinAccessLevel = level
	}
	c.OwnedOnly = c.Generation == OceanV1 // v1's filterOwnedProjects defaults to true
	if v, ok := doc["filterOwnedProjects"]; ok && v != nil {
		b, err := selector.AsBool(v)
		if err != nil {
			return fmt.Errorf("mapping: filterOwnedProjects: %w", err)
		}
		c.OwnedOnly = b
	}
	if v, ok := doc["projectVisibilityFilter"]; ok && v != nil {
		s, err := selector.AsString(v)
		if err == nil && s != "public" && s != "internal" && s != "private" {
			err = fmt.Errorf("must be public, internal or private, got %q", s)
		}
		if err != nil {
			return fmt.Errorf("mapping: projectVisibilityFilter: %w", err)
		}
		c.ProjectVisibility = s
	}
	return nil
}

// Listing is the settings that restrict every kind's listing (what
// crawl.NewSource takes), nil for a nil Config: a caller without a
// mapping lists unrestricted, as it did before.
func (c *Config) Listing() *selector.Visibility {
	if c == nil {
		return nil
	}
	return &c.Visibility
}
