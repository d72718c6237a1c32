package config

import (
	"strings"
	"testing"
)

// TestStrictMapping: strictMapping is off by default (Ocean's null for a
// failing expression), set from the file or GLSYNC_STRICT_MAPPING, and
// reaches the mapping's parse options.
func TestStrictMapping(t *testing.T) {
	c, err := Load("", env(map[string]string{EnvGitLabToken: tok}))
	if err != nil || c.StrictMapping || c.MappingOptions().Strict {
		t.Fatalf("default: %v %v", c, err)
	}
	p := writeFile(t, "gitlabToken: "+tok+"\nstrictMapping: true\n")
	if c, err = Load(p, env(nil)); err != nil || !c.MappingOptions().Strict || c.MappingOptions().Generation != c.OceanVersion {
		t.Fatalf("file: %v %v", c, err)
	}
	if c, err = Load(p, env(map[string]string{EnvStrictMapping: "false"})); err != nil || c.StrictMapping {
		t.Fatalf("environment over file: %v %v", c, err)
	}
	_, err = Load("", env(map[string]string{EnvGitLabToken: tok, EnvStrictMapping: "sometimes"}))
	if err == nil || !strings.Contains(err.Error(), "config: strictMapping (from GLSYNC_STRICT_MAPPING): must be true or false") {
		t.Fatalf("bad value: %v", err)
	}
}
