package provider

import (
	"context"
	"log/slog"

	"github.com/hashicorp/terraform-plugin-log/tflog"
)

// tflogHandler is a slog.Handler that writes to Terraform's log: the GitLab
// client's retries, 429 waits and pacing (which it reports through slog)
// show under TF_LOG like the provider's own messages, the way
// terraform-provider-http hands its HTTP client a tflog-backed logger.
// The client masks tokens in what it logs.
type tflogHandler struct {
	ctx   context.Context // carries the provider's root logger
	attrs []slog.Attr
	group string
}

// newTFLogger returns a logger writing to the Terraform log of ctx (the
// provider's Configure context: every RPC's context carries the same root
// logger).
func newTFLogger(ctx context.Context) *slog.Logger { return slog.New(tflogHandler{ctx: ctx}) }

// Enabled lets every level through: TF_LOG filters.
func (h tflogHandler) Enabled(context.Context, slog.Level) bool { return true }

// Handle writes r at the matching tflog level, with its attributes as
// fields.
func (h tflogHandler) Handle(_ context.Context, r slog.Record) error {
	fields := make(map[string]any, len(h.attrs)+r.NumAttrs())
	for _, a := range h.attrs {
		fields[a.Key] = a.Value.Resolve().Any()
	}
	r.Attrs(func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fields[key] = a.Value.Resolve().Any()
		return true
	})
	switch {
	case r.Level >= slog.LevelError:
		tflog.Error(h.ctx, r.Message, fields)
	case r.Level >= slog.LevelWarn:
		tflog.Warn(h.ctx, r.Message, fields)
	case r.Level >= slog.LevelInfo:
		tflog.Info(h.ctx, r.Message, fields)
	default:
		tflog.Debug(h.ctx, r.Message, fields)
	}
	return nil
}

// WithAttrs returns a handler adding attrs to every record.
func (h tflogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := h
	out.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	if h.group != "" {
		for i := len(h.attrs); i < len(out.attrs); i++ {
			out.attrs[i].Key = h.group + "." + out.attrs[i].Key
		}
	}
	return out
}

// WithGroup returns a handler prefixing later attributes' keys with name.
func (h tflogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	out := h
	if h.group != "" {
		name = h.group + "." + name
	}
	out.group = name
	return out
}
