package provider

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/glsync/terraform-provider-glsync/shared/gitlab"
	"github.com/glsync/terraform-provider-glsync/shared/gitlab/gitlabtest"
)

func TestMetadataAndSchema(t *testing.T) {
	p := New("1.2.3")()
	var md provider.MetadataResponse
	p.Metadata(context.Background(), provider.MetadataRequest{}, &md)
	if md.TypeName != "glsync" || md.Version != "1.2.3" {
		t.Fatalf("metadata %+v", md)
	}
	var sr provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sr)
	if sr.Diagnostics.HasError() || !sr.Schema.Attributes["gitlab_token"].IsSensitive() || !sr.Schema.Attributes["daemon_admin_token"].IsSensitive() {
		t.Fatalf("schema %+v", sr)
	}
}

// providers serves the provider in-process to the Terraform CLI.
var providers = map[string]func() (tfprotov6.ProviderServer, error){
	"glsync": providerserver.NewProtocol6WithError(&Provider{version: "test", Options: gitlab.Options{RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond}}),
}

// simulator starts a GitLab simulator for one test.
func simulator(t *testing.T) (*gitlabtest.Server, gitlabtest.Org, string) {
	t.Helper()
	s := gitlabtest.New(gitlabtest.Options{Seed: 8})
	org := s.Generate(gitlabtest.OrgSpec{Roots: 2, Projects: 60, Depth: 3, Seed: 8})
	ts := s.Start(t)
	return s, org, ts.URL
}

func providerBlock(host, token string, extra ...string) string {
	b := fmt.Sprintf("provider \"glsync\" {\n  gitlab_host  = %q\n  gitlab_token = %q\n", host, token)
	for _, e := range extra {
		b += "  " + e + "\n"
	}
	return b + "}\n"
}
