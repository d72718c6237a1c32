package provider

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// TestHookModelsFitSchemas checks each hook resource's model against its
// schema (every attribute, no other) and its event flag fields against
// its kind's flags, so the lifecycle never looks up a flag the model has
// not.
func TestHookModelsFitSchemas(t *testing.T) {
	modelFits[groupHookModel](t, groupHooks, groupHookAttributes)
	modelFits[projectHookModel](t, projectHooks, projectHookAttributes)
	modelFits[systemHookModel](t, systemHooks, systemHookAttributes)
}

func modelFits[M any, P hookModelOf[M]](t *testing.T, k hookKind, attributes func() map[string]schema.Attribute) {
	t.Helper()
	m := newHookModel[M, P]()
	if _, d := types.ObjectValueFrom(context.Background(), attrTypes(attributes()), m); d.HasError() {
		t.Errorf("%s: the model does not fit the schema: %v", k.typeName(), d)
	}
	want := append(slices.Clone(k.flags), k.readOnly...)
	var got []string
	for f := range eventFlagFields(m) {
		got = append(got, f)
	}
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s: the model's event flags are %v, the kind's %v", k.typeName(), got, want)
	}
}
