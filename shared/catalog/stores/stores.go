// Package stores opens the catalog.Backend a configuration names: the
// embedded SQLite file in the data directory, or PostgreSQL.
package stores

import (
	"context"
	"os"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/catalog/sqlitestore"
	"github.com/glsync/terraform-provider-glsync/shared/config"
)

// Open opens the backend: PostgreSQL when the config uses it, else the
// SQLite file in dataDir.
func Open(ctx context.Context, cfg *config.Config, dataDir string) (catalog.Backend, error) {
	if cfg.UsesPostgres() {
		return pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Replica: ReplicaName(cfg)})
	}
	s, err := sqlitestore.Open(dataDir)
	if err != nil {
		return nil, err
	}
	s.SetReplica(ReplicaName(cfg))
	return s, nil
}

// ReplicaName is the config's replicaName, else the host name (the pod
// name under Kubernetes).
func ReplicaName(cfg *config.Config) string {
	if cfg.ReplicaName != "" {
		return cfg.ReplicaName
	}
	h, _ := os.Hostname()
	return h
}
