package provider

import (
	"slices"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Helpers for the hook resources' attribute values: known strings and
// booleans, and the key-value lists GitLab returns without their values.

// nullOf is a typed null holder for an attribute.
func nullOf(a schema.Attribute) attr.Value {
	switch x := a.(type) {
	case schema.BoolAttribute:
		return types.BoolNull()
	case schema.Int64Attribute:
		return types.Int64Null()
	case schema.SetAttribute:
		return types.SetNull(x.ElementType)
	case schema.ListNestedAttribute:
		return types.ListNull(keyValueType)
	}
	return types.StringNull()
}

func strVal(v attr.Value) (string, bool) {
	s, ok := v.(types.String)
	if !ok || s.IsNull() || s.IsUnknown() {
		return "", false
	}
	return s.ValueString(), true
}

func boolean(v attr.Value) (bool, bool) {
	b, ok := v.(types.Bool)
	if !ok || b.IsNull() || b.IsUnknown() {
		return false, false
	}
	return b.ValueBool(), true
}

func keyValues(list types.List) []any {
	out := []any{}
	for _, el := range list.Elements() {
		obj, _ := el.(types.Object)
		a := obj.Attributes()
		k, _ := strVal(a["key"])
		v, _ := strVal(a["value"])
		out = append(out, map[string]any{"key": k, "value": v})
	}
	return out
}

// keysFromGitLab turns GitLab's [{key}] (values hidden) into the list
// attribute: the prior list when GitLab has the same keys, else GitLab's
// keys with the prior values where known (so a key added or removed by
// hand shows as drift).
func keysFromGitLab(raw any, prior attr.Value, diags *diag.Diagnostics) types.List {
	list, _ := raw.([]any)
	var keys []string
	for _, x := range list {
		if m, ok := x.(map[string]any); ok {
			if k, _ := m["key"].(string); k != "" {
				keys = append(keys, k)
			}
		}
	}
	p, _ := prior.(types.List)
	known := map[string]string{}
	var priorKeys []string
	if !p.IsNull() && !p.IsUnknown() {
		for _, el := range p.Elements() {
			a := el.(types.Object).Attributes()
			k, _ := strVal(a["key"])
			v, _ := strVal(a["value"])
			known[k] = v
			priorKeys = append(priorKeys, k)
		}
	}
	sorted := func(s []string) []string { c := slices.Clone(s); sort.Strings(c); return c }
	if slices.Equal(sorted(keys), sorted(priorKeys)) {
		if p.IsUnknown() {
			return types.ListNull(keyValueType)
		}
		return p
	}
	if len(keys) == 0 {
		return types.ListNull(keyValueType)
	}
	elems := make([]attr.Value, 0, len(keys))
	for _, k := range keys {
		o, d := types.ObjectValue(keyValueType.AttrTypes, map[string]attr.Value{"key": types.StringValue(k), "value": types.StringValue(known[k])})
		diags.Append(d...)
		elems = append(elems, o)
	}
	l, d := types.ListValue(keyValueType, elems)
	diags.Append(d...)
	return l
}
