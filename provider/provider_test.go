package provider

import (
	"context"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
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
	if sr.Diagnostics.HasError() || sr.Schema.Description == "" {
		t.Fatalf("schema %+v", sr)
	}
}
