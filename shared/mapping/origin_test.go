package mapping

import (
	"context"
	"testing"
)

// Entities made from a repository's file name it ("group/project:path"),
// so the console can point at the file to edit; other kinds name none.
func TestEntitiesFromFilesNameTheirFile(t *testing.T) {
	doc := []byte("specPath: port.yml\nresources:\n" +
		"  - kind: file\n    selector: {query: 'true', files: {path: '**/catalog.yml'}}\n    port: {entity: {mappings: {identifier: .file.path, blueprint: '\"f\"'}}}\n" +
		"  - kind: project\n    selector: {query: 'true'}\n    port: {entity: {mappings: {identifier: .path_with_namespace, blueprint: '\"p\"'}}}\n")
	c, err := ParseWith(doc, ParseOptions{Generation: OceanV2})
	if err != nil {
		t.Fatal(err)
	}
	repo := map[string]any{"id": 7.0, "path_with_namespace": "acme/svc"}
	ctx := context.Background()
	f, _, err := c.Resources[0].Map(ctx, map[string]any{"file": map[string]any{"path": "deploy/catalog.yml"}, "repo": repo})
	if err != nil || f == nil || f.Origin != "acme/svc:deploy/catalog.yml" {
		t.Fatalf("file kind: %+v, %v; want origin acme/svc:deploy/catalog.yml", f, err)
	}
	p, _, err := c.Resources[1].Map(ctx, repo)
	if err != nil || p == nil || p.Origin != "" {
		t.Fatalf("project kind: %+v, %v; want no origin", p, err)
	}
	d, err := c.Declared(map[string]any{"identifier": "svc", "blueprint": "service", "__specFile": "sub/port.yml", "__project": repo})
	if err != nil || d.Origin != "acme/svc:sub/port.yml" {
		t.Fatalf("declared: %+v, %v; want origin acme/svc:sub/port.yml", d, err)
	}
	// A file without its project is not traced to a half name.
	if o := fileOrigin(map[string]any{"file": map[string]any{"path": "a.yml"}}); o != "" {
		t.Fatalf("origin without a project: %q", o)
	}
}
