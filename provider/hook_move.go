package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
)

// MoveState adopts the state terraform-provider-gitlab wrote for a
// gitlab_group_hook, gitlab_project_hook or gitlab_system_hook (Terraform
// 1.8+ `moved` blocks
// across resource types): same hook, same id, nothing re-created. The
// official provider's attributes have the same names here, so each is
// carried over as it is. Any provider named gitlab qualifies (gitlabhq/gitlab
// or a mirror of it).
func (r *hookCore[M, P]) MoveState(context.Context) []resource.StateMover {
	source := r.kind.official()
	return []resource.StateMover{{StateMover: func(ctx context.Context, req resource.MoveStateRequest, resp *resource.MoveStateResponse) {
		if req.SourceTypeName != source || !strings.HasSuffix(req.SourceProviderAddress, "/gitlab") || req.SourceRawState == nil {
			return // not ours to move: Terraform reports it
		}
		var raw map[string]any
		if err := json.Unmarshal(req.SourceRawState.JSON, &raw); err != nil {
			resp.Diagnostics.AddError("Unreadable state", fmt.Sprintf("The %s state could not be read: %v", source, err))
			return
		}
		v, err := r.fromOfficial(raw)
		if err != nil {
			resp.Diagnostics.AddError("Cannot move the hook", fmt.Sprintf("%s: %v", source, err))
			return
		}
		o, d := types.ObjectValue(attrTypes(r.attributes()), v)
		resp.Diagnostics.Append(d...)
		var m M
		resp.Diagnostics.Append(o.As(ctx, &m, basetypes.ObjectAsOptions{})...)
		if resp.Diagnostics.HasError() {
			return
		}
		resp.Diagnostics.Append(resp.TargetState.Set(ctx, &m)...)
	}}}
}

// fromOfficial maps terraform-provider-gitlab's hook state to this
// resource's, attribute by attribute: the official state is read by name,
// as JSON.
func (r *hookCore[M, P]) fromOfficial(raw map[string]any) (map[string]attr.Value, error) {
	attrs := r.attributes()
	v := map[string]attr.Value{}
	for name, a := range attrs {
		v[name] = nullOf(a)
	}
	number := func(k string) (int64, bool) {
		switch x := raw[k].(type) {
		case float64:
			return int64(x), true
		case string:
			var n int64
			_, err := fmt.Sscan(x, &n)
			return n, err == nil
		}
		return 0, false
	}
	hookID, ok := number("hook_id")
	if _, parentID := P(new(M)).parent(); !ok && parentID == nil {
		hookID, ok = number("id")
	}
	if !ok {
		return nil, fmt.Errorf("the state has no hook id")
	}
	v["hook_id"] = types.Int64Value(hookID)
	v["id"] = types.StringValue(fmt.Sprint(hookID))
	if _, parentID := P(new(M)).parent(); parentID != nil {
		k := r.kind
		gid, ok := number(k.parentID)
		if !ok {
			return nil, fmt.Errorf("the state has no %s id", k.parent)
		}
		v[k.parentID] = types.Int64Value(gid)
		v["id"] = types.StringValue(fmt.Sprintf("%d:%d", gid, hookID))
	}
	for name := range attrs {
		if name == "id" || name == "hook_id" || name == r.kind.parentID || name == "events" || strings.HasSuffix(name, "_wo") || strings.HasSuffix(name, "_wo_version") {
			continue
		}
		x, present := raw[name]
		if !present || x == nil {
			continue
		}
		switch cur := v[name].(type) {
		case types.Bool:
			if b, ok := x.(bool); ok {
				v[name] = types.BoolValue(b)
			}
		case types.String:
			if s, ok := x.(string); ok {
				v[name] = types.StringValue(s)
			} else if f, ok := x.(float64); ok && name == r.kind.parent {
				v[name] = types.StringValue(fmt.Sprint(int64(f)))
			}
		case types.List:
			list, _ := x.([]any)
			elems := []attr.Value{}
			for _, e := range list {
				m, _ := e.(map[string]any)
				k, _ := m["key"].(string)
				val, _ := m["value"].(string)
				o, d := types.ObjectValue(keyValueType.AttrTypes, map[string]attr.Value{"key": types.StringValue(k), "value": types.StringValue(val)})
				if d.HasError() {
					return nil, fmt.Errorf("%s: unreadable entry", name)
				}
				elems = append(elems, o)
			}
			if len(elems) > 0 {
				l, d := types.ListValue(keyValueType, elems)
				if d.HasError() {
					return nil, fmt.Errorf("%s: unreadable list", name)
				}
				v[name] = l
			}
			_ = cur
		}
	}
	if _, ok := raw["enable_ssl_verification"].(bool); !ok {
		v["enable_ssl_verification"] = types.BoolValue(true)
	}
	return v, nil
}
