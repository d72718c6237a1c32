package mapping

import (
	_ "embed"

	"github.com/glsync/terraform-provider-glsync/shared/selector"
)

// Generation is the Ocean GitLab integration a configuration comes from
// (see selector.Generation).
type Generation = selector.Generation

// The Ocean generations.
const (
	OceanV1 = selector.OceanV1
	OceanV2 = selector.OceanV2
)

// ParseGeneration reads "v1" or "v2" (see selector.ParseGeneration).
func ParseGeneration(s string) (Generation, error) { return selector.ParseGeneration(s) }

// v2 lists groups and projects where the token is at least Developer
// (gitlab-v2/integration.py, GitlabVisibilityConfig).
const v2MinAccessLevel = 30

// v1DefaultSpecPath is v1's GitOps spec file glob (gitlab/gitlab_integration/
// git_integration.py, GitlabPortAppConfig.spec_path).
const v1DefaultSpecPath = "**/port.yml"

//go:embed ocean/v1-port-app-config.yaml
var oceanV1Mapping []byte

//go:embed ocean/v2-port-app-config.yml
var oceanV2Mapping []byte

//go:embed ocean/v1-blueprints.json
var oceanV1Blueprints []byte

//go:embed ocean/v2-blueprints.json
var oceanV2Blueprints []byte

// OceanDefault returns the default port-app-config Ocean ships for a
// generation, byte for byte (see ocean/SOURCE.md).
func OceanDefault(gen Generation) []byte {
	if gen == OceanV1 {
		return append([]byte(nil), oceanV1Mapping...)
	}
	return append([]byte(nil), oceanV2Mapping...)
}

// OceanBlueprints returns the blueprints.json Ocean ships for a
// generation, byte for byte: the blueprints its default mapping writes to.
func OceanBlueprints(gen Generation) []byte {
	if gen == OceanV1 {
		return append([]byte(nil), oceanV1Blueprints...)
	}
	return append([]byte(nil), oceanV2Blueprints...)
}
