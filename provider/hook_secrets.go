package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/glsync/terraform-provider-glsync/shared/whsig"
)

// hookSecret is a secret GitLab takes on a hook and never returns: the
// attribute name (sensitive, in the state), name_wo (write-only, never in
// the state) and name_wo_version (changed to send name_wo again). token
// and signing_token follow the same lifecycle, so they share this code.
type hookSecret struct {
	name        string // attribute, and GitLab's field
	description string // of name; name_wo's and the version's follow
	validators  []validator.String
	of          func(*hookModel) secretFields // the model's three attributes
}

// secretFields are a hook model's three attributes of one secret.
type secretFields struct {
	value, wo types.String
	version   types.Int64
}

// The hook secrets.
var (
	tokenSecret = hookSecret{name: "token",
		description: "Secret GitLab sends in `X-Gitlab-Token`. Kept in the state (sensitive); use `token_wo` to keep it out. Removing it clears the secret in GitLab. " +
			"GitLab never returns it, so a change made outside Terraform cannot be seen.",
		of: func(m *hookModel) secretFields { return secretFields{m.Token, m.TokenWO, m.TokenWOVersion} }}
	signingSecret = hookSecret{name: "signing_token",
		description: "Signing token (GitLab 19.0+): `whsec_` followed by the base64 of 32 random bytes. GitLab then signs each delivery the Standard Webhooks way: " +
			"`webhook-signature: v1,<base64 HMAC-SHA256 of \"{webhook-id}.{webhook-timestamp}.{body}\">` beside `webhook-id` and `webhook-timestamp` " +
			"(the official provider's docs call the header `X-Gitlab-Signature`; GitLab sends `webhook-signature`). " +
			"Kept in the state (sensitive); use `signing_token_wo` to keep it out. Removing it clears it in GitLab. GitLab never returns it: " +
			"`signing_token_present` shows whether GitLab holds one, and a GitLab that ignored it (feature flag `webhook_signing_token` off) shows as a change to apply.",
		validators: []validator.String{gitlabSigningToken{}},
		of: func(m *hookModel) secretFields {
			return secretFields{m.SigningToken, m.SigningTokenWO, m.SigningTokenWOVersion}
		}}
	hookSecrets = []hookSecret{tokenSecret, signingSecret}
)

func (s hookSecret) wo() string      { return s.name + "_wo" }
func (s hookSecret) version() string { return s.name + "_wo_version" }

// attributes are the secret's three schema attributes.
func (s hookSecret) attributes() map[string]schema.Attribute {
	return map[string]schema.Attribute{
		s.name: schema.StringAttribute{Optional: true, Sensitive: true, Description: s.description, Validators: s.validators},
		s.wo(): schema.StringAttribute{Optional: true, Sensitive: true, WriteOnly: true,
			Description: "Write-only `" + s.name + "` (Terraform 1.11+, OpenTofu 1.11+): sent to GitLab, never stored in the state. Sent when the hook is created and whenever `" + s.version() + "` changes.",
			Validators:  append([]validator.String{stringvalidator.ConflictsWith(pathExpr(s.name))}, s.validators...)},
		s.version(): schema.Int64Attribute{Optional: true,
			Description: "Change it to send `" + s.wo() + "` again (write-only values are not compared)."},
	}
}

// configured reports whether the configuration sets the secret either way.
func (s hookSecret) configured(config *hookModel) bool {
	_, a := strVal(s.of(config).value)
	_, b := strVal(s.of(config).wo)
	return a || b
}

// send puts the secret in a create or update body as its lifecycle
// needs: the configured value; the write-only one on create, when its
// version changes, when the URL changes (GitLab may drop a secret then)
// or with resend (GitLab lost it); "" when removed from the
// configuration. state is nil on create.
func (s hookSecret) send(b map[string]any, config, state *hookModel, create, resend bool) {
	f := s.of(config)
	value, has := strVal(f.value)
	wo, hasWO := strVal(f.wo)
	url, _ := strVal(config.URL)
	switch {
	case has:
		b[s.name] = value
	case hasWO && (create || resend || state == nil || !f.version.Equal(s.of(state).version)):
		b[s.name] = wo
	case hasWO:
		// Unchanged: GitLab keeps it, unless the URL changes.
		if old, _ := strVal(state.URL); old != url {
			b[s.name] = wo
		}
	case !create && state != nil:
		if old, ok := strVal(s.of(state).value); ok && old != "" {
			b[s.name] = "" // removed from the configuration: cleared in GitLab
		}
	}
}

// keepOnURLChange sends the state's value of the secret on a URL change
// that sends none, or GitLab drops it.
func (s hookSecret) keepOnURLChange(body map[string]any, state *hookModel) {
	if _, sent := body[s.name]; sent {
		return
	}
	if old, _ := strVal(state.URL); old != body["url"] {
		if t, ok := strVal(s.of(state).value); ok {
			body[s.name] = t
		}
	}
}

// signingPresentAttribute is GitLab 19's signing_token_present.
func signingPresentAttribute() schema.Attribute {
	return schema.BoolAttribute{Computed: true,
		Description: "Whether GitLab holds a signing token for the hook (GitLab's `signing_token_present`; null on a GitLab older than 19.0, which does not report it). Read only."}
}

// signingLost reports a hook whose configuration sets a signing token
// while GitLab, at the last read, held none: the update that follows sends
// it again. state is nil on create.
func signingLost(config, state *hookModel) bool {
	if state == nil {
		return false
	}
	present, known := boolean(state.SigningTokenPresent)
	return known && !present && signingSecret.configured(config)
}

// planSigningPresent plans an update of a hook whose configured signing
// token GitLab lost (signing_token_present unknown: the update sends it
// again). Any other change leaves it unknown too, as every computed
// attribute of a changing resource.
func planSigningPresent(ctx context.Context, resp *resource.ModifyPlanResponse, config, state *hookModel) {
	if state != nil && signingLost(config, state) {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("signing_token_present"), types.BoolUnknown())...)
	}
}

// gitlabSigningToken refuses at plan time a signing token GitLab would
// refuse (400), without showing it.
type gitlabSigningToken struct{}

func (gitlabSigningToken) Description(context.Context) string {
	return "must be whsec_ followed by the base64 of 32 bytes"
}
func (v gitlabSigningToken) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}
func (gitlabSigningToken) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() || req.ConfigValue.ValueString() == "" {
		return
	}
	if !whsig.ValidGitLabToken(req.ConfigValue.ValueString()) {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid signing token",
			"GitLab takes a signing token of the form whsec_<base64 of 32 bytes>, e.g. \"whsec_${base64encode(...)}\" of 32 random bytes "+
				"(openssl rand -base64 32 prints the part after whsec_). The value is not shown.")
	}
}

// warnUnsigned warns when GitLab did not keep the signing token the
// configuration sets (GitLab older than 19.0, or its feature flag
// webhook_signing_token off): the hook works, unsigned, and a receiver
// that requires signatures would refuse its deliveries.
func warnUnsigned(config, out *hookModel, diags *diag.Diagnostics) {
	if present, _ := boolean(out.SigningTokenPresent); present || !signingSecret.configured(config) {
		return
	}
	why := "GitLab answered signing_token_present = false: its feature flag webhook_signing_token is off"
	if out.SigningTokenPresent.IsNull() {
		why = "GitLab does not report signing_token_present: it is older than 19.0, which has no signing tokens"
	}
	diags.AddAttributeWarning(path.Root("signing_token_present"), "GitLab did not keep the signing token",
		why+". The hook's deliveries are not signed (X-Gitlab-Token alone authenticates them); the next plan sends the token again.")
}
