package provider

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/setvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// The hook resources have every field of GitLab's hook API (group hooks:
// https://docs.gitlab.com/api/group_webhooks/, project hooks:
// https://docs.gitlab.com/api/project_webhooks/, system hooks:
// https://docs.gitlab.com/api/system_hooks/), named as
// terraform-provider-gitlab's gitlab_group_hook, gitlab_project_hook and
// gitlab_system_hook
// name them, so renaming the resource type is the whole migration. A field
// the configuration leaves out is not sent: GitLab keeps its value, and
// the state reads it back, so a change by hand shows as drift only for the
// fields the configuration manages.

// flagDescription documents one event flag.
func flagDescription(flag string) string {
	what := strings.ReplaceAll(strings.TrimSuffix(flag, "_events"), "_", " ")
	return fmt.Sprintf("Deliver %s events. Unset: left as GitLab has it (a hook GitLab creates delivers push events only), and read back.", what)
}

// keyValue is the element type of custom_headers and url_variables.
var keyValueType = types.ObjectType{AttrTypes: map[string]attr.Type{"key": types.StringType, "value": types.StringType}}

func keyValueAttribute(what, valueWhat string) schema.ListNestedAttribute {
	return schema.ListNestedAttribute{Optional: true, Sensitive: false,
		Description: what + " GitLab returns their keys only: a key added or removed by hand shows as drift, a value changed by hand cannot be seen.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"key":   schema.StringAttribute{Required: true, Description: "Name."},
			"value": schema.StringAttribute{Required: true, Sensitive: true, Description: valueWhat + " (sensitive)."},
		}}}
}

// keep is the plan modifier of a computed string GitLab keeps.
func keep() []planmodifier.String {
	return []planmodifier.String{stringplanmodifier.UseStateForUnknown()}
}

// hookDescription is a hook resource's description; importHelp is its
// import id, as the docs show it.
func hookDescription(k hookKind, importHelp string) string {
	return fmt.Sprintf("A GitLab %s hook, with every field of GitLab's hook API under the names of terraform-provider-gitlab's `%s`: "+
		"renaming the resource type (and a `moved` block, Terraform 1.8+) is the whole migration. Fields the configuration leaves out are not sent "+
		"and are read back, so nothing set by hand is rewritten. Import with %s.", k.name, k.official(), importHelp)
}

// description is the description of kind k's resource, with its import
// id: a group's or a project's hook says how its owner may be written.
func (k hookKind) description() string {
	if k.system() {
		return hookDescription(k, "`"+k.importFormat()+"`")
	}
	return hookDescription(k, "`"+k.importFormat()+"` ("+k.parentHelp+")")
}

// attributes are the schema attributes of kind k's resource: those every
// hook has, and a group's or a project's hook's own.
func (k hookKind) attributes() map[string]schema.Attribute {
	if k.system() {
		return hookAttributes(k)
	}
	return withOwner(hookAttributes(k), k)
}

// hookAttributes are the attributes every hook resource has, with the
// event flags of kind k.
func hookAttributes(k hookKind) map[string]schema.Attribute {
	events, accepted, other := k.events, k.accepted(), k.other
	attrs := map[string]schema.Attribute{
		"id": schema.StringAttribute{Computed: true, Description: "`group_id:hook_id` for a group hook, `project_id:hook_id` for a project hook, the hook id for a system hook.",
			PlanModifiers: keep()},
		"hook_id": schema.Int64Attribute{Computed: true, Description: "GitLab's id of the hook.",
			PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}},
		"url": schema.StringAttribute{Required: true, Description: "URL GitLab delivers to, e.g. `https://glsync.example.com/integration/hook/42`. " +
			"Changing it keeps the hook's secret: the known `token` is sent again; with no known token the hook is replaced (GitLab drops a secret on a URL change without one).",
			Validators: []validator.String{httpURL{}}},
		"events": schema.SetAttribute{Optional: true, ElementType: types.StringType,
			Description: "Short form of the event flags. The listed events' flags are turned on; of the flags of the spec's events (" + strings.Join(events, ", ") + "), " +
				"those not listed are turned off; other flags (e.g. `" + other + "`, unless listed) are left alone. Empty: all the spec's events. A flag also set on its own must agree with it. " +
				"An event may be written as GitLab, the spec or Ocean spell it (" + accepted + "); the state keeps the spelling written.",
			Validators: []validator.Set{setvalidator.ValueStringsAre(eventName{kind: k})}},
		"enable_ssl_verification": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
			Description: "Verify the TLS certificate of `url`. Default: true (GitLab's default)."},
		"name": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: keep(),
			Description: "Name of the hook. Unset: left as GitLab has it."},
		"description": schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: keep(),
			Description: "Description of the hook. Unset: left as GitLab has it."},
		"adopt_existing": schema.BoolAttribute{Optional: true,
			Description: "When creating, take over a hook already at `url` (on the group, the project, or the system) instead of refusing: it is updated to this configuration. " +
				"Unset or false: create refuses and prints the `terraform import` command for that hook, so no second hook delivers every event twice. No effect after creation."},
		"created_at": schema.StringAttribute{Computed: true, PlanModifiers: keep(), Description: "When GitLab created the hook."},
	}
	for _, sec := range hookSecrets {
		maps.Copy(attrs, sec.attributes())
	}
	attrs["signing_token_present"] = signingPresentAttribute()
	for _, f := range k.flags {
		attrs[f] = schema.BoolAttribute{Optional: true, Computed: true, Description: flagDescription(f),
			PlanModifiers: []planmodifier.Bool{boolplanmodifier.UseStateForUnknown()}}
	}
	for _, f := range k.readOnly {
		attrs[f] = schema.BoolAttribute{Computed: true, Description: readOnlyFlagDescription(f)}
	}
	return attrs
}

// withOwner adds to attrs those of a group's or a project's hook (kind
// k): the group (project) it is on and the fields GitLab's group and
// project hooks APIs have and its system hooks API has not.
func withOwner(attrs map[string]schema.Attribute, k hookKind) map[string]schema.Attribute {
	attrs[k.parent] = schema.StringAttribute{Required: true, Description: fmt.Sprintf("%s%s. Changing it to another %s replaces the hook; "+
		"the same %s written the other way (id or path, as after an import) does not.", strings.ToUpper(k.parentHelp[:1]), k.parentHelp[1:], k.parent, k.parent)}
	attrs[k.parentID] = schema.Int64Attribute{Computed: true, Description: "Numeric id of the " + k.parent + ".",
		PlanModifiers: []planmodifier.Int64{int64planmodifier.UseStateForUnknown()}}
	for name, desc := range map[string]string{
		"push_events_branch_filter": "Deliver push events only for branches matching this filter (see `branch_filter_strategy`). Unset: left as GitLab has it.",
		"custom_webhook_template":   "Custom payload template. Unset: left as GitLab has it.",
	} {
		attrs[name] = schema.StringAttribute{Optional: true, Computed: true, Description: desc, PlanModifiers: keep()}
	}
	attrs["branch_filter_strategy"] = schema.StringAttribute{Optional: true, Computed: true, PlanModifiers: keep(),
		Description: "How `push_events_branch_filter` matches: `wildcard`, `regex` or `all_branches`. Unset: left as GitLab has it (GitLab's default is wildcard).",
		Validators:  []validator.String{stringvalidator.OneOf("wildcard", "regex", "all_branches")}}
	attrs["custom_headers"] = keyValueAttribute("HTTP headers GitLab adds to each delivery.", "Header value")
	attrs["url_variables"] = keyValueAttribute("Values GitLab substitutes for `{key}` in `url` (to keep secrets out of the URL).", "Variable value")
	attrs["alert_status"] = schema.StringAttribute{Computed: true,
		Description: "`executable`, or `temporarily_disabled` / `disabled` when GitLab stopped delivering after failures. Read only."}
	attrs["disabled_until"] = schema.StringAttribute{Computed: true,
		Description: "Until when GitLab holds deliveries of a temporarily disabled hook. Read only."}
	return attrs
}

// readOnlyFlagDescription documents an event flag GitLab reports but its
// hooks API does not set (a project hook's repository_update_events).
func readOnlyFlagDescription(flag string) string {
	what := strings.ReplaceAll(strings.TrimSuffix(flag, "_events"), "_", " ")
	return fmt.Sprintf("Whether GitLab delivers %s events to the hook. Read only: GitLab's hooks API does not set it.", what)
}

// httpURL validates a hook URL at plan time.
type httpURL struct{}

func (httpURL) Description(context.Context) string {
	return "must be an http(s) URL without surrounding spaces"
}
func (h httpURL) MarkdownDescription(ctx context.Context) string { return h.Description(ctx) }
func (httpURL) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	v := req.ConfigValue.ValueString()
	if strings.TrimSpace(v) != v {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid hook URL", fmt.Sprintf("url must not begin or end with spaces, got %q.", v))
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid hook URL", fmt.Sprintf("url must be an http(s) URL GitLab can reach, got %q.", v))
	}
}

// eventName validates one name of events against hookspec's table, the
// one the daemon's settings use, so a name accepted by glsyncd is
// accepted here and the error lists the same spellings.
type eventName struct{ kind hookKind }

func (v eventName) Description(context.Context) string {
	return "must be a " + v.kind.name + " hook event: " + v.kind.accepted()
}
func (v eventName) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (v eventName) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	name := req.ConfigValue.ValueString()
	if !v.kind.isEvent(name) {
		resp.Diagnostics.AddAttributeError(req.Path, "Unknown event", v.kind.unknown(name)+".")
	}
}
