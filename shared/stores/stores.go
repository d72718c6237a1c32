// Package stores opens the catalog.Backend a configuration names: the
// embedded SQLite file in the data directory, or PostgreSQL, with its
// secrets sealed (Sealed, with shared/sealed's crypto). For a long-running glsyncd, OpenRun
// also owns what comes with opening: the SQLite file's run lock, and the
// wait for a PostgreSQL that does not answer yet, which ends with the
// context.
//
// It is the one package that knows both the configuration and the stores
// beneath it (sqlitestore, pgstore): the stores themselves know no source
// and no setting, and the daemon reaches them through this package and
// the shared/catalog interfaces only.
package stores

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/glsync/terraform-provider-glsync/shared/catalog"
	"github.com/glsync/terraform-provider-glsync/shared/config"
	"github.com/glsync/terraform-provider-glsync/shared/sealed"
	"github.com/glsync/terraform-provider-glsync/shared/stores/pgstore"
	"github.com/glsync/terraform-provider-glsync/shared/stores/sqlitestore"
)

// KeyFile is the secret key glsync creates in the data directory when no
// secretKey is set (embedded catalog only): catalog.db alone, copied or
// backed up, then holds no readable credential.
const KeyFile = "secret.key"

// Open opens the backend: PostgreSQL when the config uses it, else the
// SQLite file in dataDir (the directory, the file and the secret key are
// created if needed).
func Open(ctx context.Context, cfg *config.Config, dataDir string) (*Sealed, error) {
	return open(ctx, cfg, dataDir, false)
}

// OpenExisting is Open for commands that only read: with the embedded
// catalog it creates nothing (no directory, database file or secret key);
// a data directory without a catalog is sqlitestore.ErrNoCatalog. Without
// a key file, sealed secrets cannot be read (sealed.ErrNoKey) and nothing
// is sealed.
func OpenExisting(ctx context.Context, cfg *config.Config, dataDir string) (*Sealed, error) {
	return open(ctx, cfg, dataDir, true)
}

func open(ctx context.Context, cfg *config.Config, dataDir string, existing bool) (*Sealed, error) {
	var b catalog.Backend
	if cfg.UsesPostgres() {
		s, err := pgstore.Open(ctx, cfg.DatabaseURL, pgstore.Options{Replica: ReplicaName(cfg)})
		if err != nil {
			return nil, err
		}
		b = s
	} else {
		openSQLite := sqlitestore.Open
		if existing {
			openSQLite = sqlitestore.OpenExisting
		}
		s, err := openSQLite(dataDir)
		if err != nil {
			return nil, err
		}
		s.SetReplica(ReplicaName(cfg))
		b = s
	}
	keys, err := loadKeys(cfg, dataDir, !existing)
	if err != nil {
		b.Close()
		return nil, err
	}
	return Seal(b, keys), nil
}

// Keys are the secret keys: secretKey (and the previous one during a
// rotation), else the data directory's key file, created on first use
// with mode 0600. With PostgreSQL and no secretKey there is none: the
// replicas must share it, so it cannot be made up here.
func Keys(cfg *config.Config, dataDir string) (*sealed.Keys, error) {
	return loadKeys(cfg, dataDir, true)
}

// loadKeys is Keys; without create, a missing key file is no key.
func loadKeys(cfg *config.Config, dataDir string, create bool) (*sealed.Keys, error) {
	keys := &sealed.Keys{}
	text := cfg.SecretKey
	if text == "" && !cfg.UsesPostgres() {
		path := filepath.Join(dataDir, KeyFile)
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist) && !create:
			return nil, nil
		case errors.Is(err, os.ErrNotExist):
			text = sealed.NewKey()
			if err := os.WriteFile(path, []byte(text+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("catalog: creating the secret key %s: %w", path, err)
			}
		case err != nil:
			return nil, fmt.Errorf("catalog: reading the secret key %s: %w", path, err)
		default:
			text = string(b)
		}
	}
	if text == "" {
		return nil, nil
	}
	k, err := sealed.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("catalog: secret key: %w", err)
	}
	keys.Current = k
	if cfg.SecretKeyPrevious != "" {
		p, err := sealed.ParseKey(cfg.SecretKeyPrevious)
		if err != nil {
			return nil, fmt.Errorf("catalog: previous secret key: %w", err)
		}
		keys.Previous = append(keys.Previous, p)
	}
	return keys, nil
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
