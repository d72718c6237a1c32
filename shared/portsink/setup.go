package portsink

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/mapping"
	"github.com/glsync/terraform-provider-glsync/shared/port"
)

// Setup connects to Port as cfg says, decides the mapping, creates the
// default blueprints Port lacks and registers the integration with that
// mapping. The mapping is the local file when one is given (and that is
// logged if Port holds one too), else Port's, else the embedded default.
func Setup(ctx context.Context, cfg *config.Config, mirror catalog.Mirror, localMapping, version string, log *slog.Logger) (*Sink, *mapping.Config, error) {
	client, err := port.New(port.Options{BaseURL: cfg.PortBaseURL, ClientID: cfg.PortClientID, ClientSecret: cfg.PortClientSecret,
		Integration: cfg.IntegrationIdentifier, Type: IntegrationType(cfg.OceanVersion), Version: version, ActionsProcessing: cfg.ActionsProcessor.Enabled})
	if err != nil {
		return nil, nil, err
	}
	return SetupWith(ctx, cfg, client, mirror, localMapping, log)
}

// IntegrationType is the integration type glsync writes under: the one
// of the Ocean integration it replaces ("gitlab" for v1, "gitlab-v2" for
// v2), so entities keep the $datasource form either finds.
func IntegrationType(gen mapping.Generation) string {
	if gen == mapping.OceanV2 {
		return "gitlab-v2"
	}
	return "gitlab"
}

// SetupWith is Setup with a given client (tests shorten its backoffs).
func SetupWith(ctx context.Context, cfg *config.Config, client *port.Client, mirror catalog.Mirror, localMapping string, log *slog.Logger) (*Sink, *mapping.Config, error) {
	in, found, err := client.GetIntegration(ctx)
	if err != nil {
		return nil, nil, err
	}
	var m *mapping.Config
	remote := found && len(in.Config) > 0 && in.Config["resources"] != nil
	switch {
	case localMapping != "":
		if m, err = mapping.LoadWith(localMapping, cfg.MappingOptions()); err != nil {
			return nil, nil, err
		}
		if remote {
			log.Info("a mapping is set in Port and in a local file; the local file wins", "file", localMapping)
		}
	case remote:
		b, _ := json.Marshal(in.Config)
		if m, err = mapping.ParseWith(b, cfg.MappingOptions()); err != nil {
			return nil, nil, fmt.Errorf("the mapping held in Port: %w", err)
		}
		log.Info("using the mapping held in Port", "integration", cfg.IntegrationIdentifier)
	default:
		if m, err = mapping.LoadWith("", cfg.MappingOptions()); err != nil {
			return nil, nil, err
		}
	}
	for _, w := range m.Warnings {
		log.Warn("mapping: " + w)
	}
	created, err := EnsureBlueprints(ctx, client, m)
	if err != nil {
		return nil, nil, fmt.Errorf("creating default blueprints: %w", err)
	}
	if len(created) > 0 {
		log.Info("created default blueprints in Port", "blueprints", created)
	}
	if err := client.RegisterIntegration(ctx, m.Document); err != nil {
		return nil, nil, fmt.Errorf("registering the integration: %w", err)
	}
	sink := New(mirror, client, Options{CreateMissingRelatedEntities: m.CreateMissingRelatedEntities, DeleteDependentEntities: m.DeleteDependentEntities,
		ReplaceEntities: !m.EnableMergeEntity,
		MaxDeleteShare:  cfg.DeletionThreshold, Force: cfg.ForceDeletion, Log: log})
	sink.sendExamples = cfg.SendRawDataExamples
	return sink, m, nil
}

// Port returns the sink's client (for its request counters).
func (s *Sink) Port() *port.Client { return s.port }

// Examples is the resync hook for raw data examples.
func (s *Sink) Examples(ctx context.Context, kind string, objs []map[string]any) {
	if err := s.SendExamples(ctx, kind, objs, s.sendExamples); err != nil {
		s.opts.Log.Warn("sending raw data examples failed", "kind", kind, "error", err)
	}
}
