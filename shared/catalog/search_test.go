package catalog_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// TestResolveSearch: a search identifier resolves, within its blueprint,
// to the one entity its rules match (= and in on $identifier, $title and
// properties, and/or, nested), as Port resolves it; none, several, or
// what Port evaluates but this catalog cannot (another operator, a meta
// property) is a SearchError saying which, and leaves the entity as it
// was.
func TestResolveSearch(t *testing.T) {
	st, err := sqlitestore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	run, _ := st.BeginRun(ctx)
	seed := []*catalog.Entity{
		{Blueprint: "service", Identifier: "payments", Title: "Payments", Properties: map[string]any{"pd": "P1", "port": 8080.0, "tier": "gold"}},
		{Blueprint: "service", Identifier: "billing", Title: "Billing", Properties: map[string]any{"pd": "P2", "tier": "gold"}},
		{Blueprint: "team", Identifier: "payments-team", Title: "Payments", Properties: map[string]any{"pd": "P1"}},
	}
	if _, err := st.Upsert(ctx, run, "seed", seed); err != nil {
		t.Fatal(err)
	}
	_ = st.FinishRun(ctx, run, true, time.Now())
	rule := func(p, op string, v any) map[string]any {
		return map[string]any{"property": p, "operator": op, "value": v}
	}
	group := func(c string, rules ...any) map[string]any { return map[string]any{"combinator": c, "rules": rules} }
	for _, tc := range []struct {
		name  string
		query map[string]any
		want  string // the identifier, or a piece of the error
	}{
		{"property =", group("and", rule("pd", "=", "P1")), "payments"},
		{"number property", group("and", rule("port", "=", 8080.0)), "payments"},
		{"$title in", group("and", rule("$title", "in", []any{"Billing", "Other"})), "billing"},
		{"nested or", group("and", rule("tier", "=", "gold"), group("or", rule("$identifier", "=", "billing"), rule("pd", "=", "P9"))), "billing"},
		{"none", group("and", rule("pd", "=", "P9")), "matched no service entity"},
		{"several", group("and", rule("tier", "=", "gold")), "matched 2 service entities (billing, payments)"},
		{"other operator", group("and", rule("pd", "contains", "P")), `operator "contains" cannot be evaluated`},
		{"meta property", group("and", rule("$createdAt", "=", "x")), "property $createdAt cannot be evaluated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &catalog.Entity{Blueprint: "service", Search: tc.query, Identifier: catalog.SearchKey(tc.query)}
			err := catalog.ResolveSearch(ctx, st, e)
			if err == nil {
				if e.Identifier != tc.want || e.Search != nil {
					t.Fatalf("resolved to %q (search %v), want %s", e.Identifier, e.Search, tc.want)
				}
				return
			}
			if _, ok := catalog.AsSearchError(err); !ok || !strings.Contains(err.Error(), tc.want) || e.Search == nil || e.Identifier != catalog.SearchKey(tc.query) {
				t.Fatalf("error %v, want one with %q and the entity unchanged", err, tc.want)
			}
		})
	}
}
