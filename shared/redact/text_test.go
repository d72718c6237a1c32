package redact

import (
	"strings"
	"testing"
)

// Messages stored for the console keep what went wrong but no
// credentials, wherever in the text they appear.
func TestTextMasksCredentialsInMessages(t *testing.T) {
	for in, want := range map[string]string{
		`Get "https://user:s3cretpass@gitlab.example.com/api/v4/projects/1": dial tcp: timeout`: `Get "https://redacted@gitlab.example.com/api/v4/projects/1": dial tcp: timeout`,
		`gitlab: 401 at https://gitlab.example.com/api?private_token=abcdEFGH12345678xyz`:       `gitlab: 401 at https://gitlab.example.com/api?private_token=ab%E2%80%A6`,
		`token glpat-abcdefghij0123456789 was refused`:                                          `token glpat-ab… was refused`,
		`header PRIVATE-TOKEN=glpat-abcdefghij0123456789`:                                       `header PRIVATE-TOKEN=glpat-ab…`,
		`gitops: port.yml is not YAML`:                                                          `gitops: port.yml is not YAML`,
		`gitlab: GET /projects/5: 422 (from http://127.0.0.1:42191)`:                            `gitlab: GET /projects/5: 422 (from http://127.0.0.1:42191)`,
		`see https://user:pw@gitlab.example.com/x.`:                                             `see https://redacted@gitlab.example.com/x.`,
	} {
		if got := Text(in); got != want {
			t.Errorf("Text(%q)\n = %q\nwant %q", in, got, want)
		}
	}
	if got := Text("pipeline 3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d failed"); !strings.Contains(got, "3f2a9c1e8b7d6f5a4c3b2a1f0e9d8c7b6a5f4e3d") {
		t.Errorf("a commit sha is not a credential: %q", got)
	}
}
