package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/glsync/terraform-provider-glsync/shared/redact"
	"github.com/glsync/terraform-provider-glsync/shared/sealed"
)

// parsePortCredentials reads portClientSecret beside portClientId, which
// go together: it notes where they came from ("" when neither is set),
// for the catalog's default, and names the missing one when only one is
// set.
func parsePortCredentials(b *builder, g given) error {
	_, idSrc := b.str("portClientId")
	var secretSrc string
	b.PortClientSecret, secretSrc = g.str()
	id, secret := b.PortClientID, b.PortClientSecret
	switch {
	case id == "" && secret == "":
		return nil
	case secret == "":
		return &Error{Setting: "portClientSecret", Err: fmt.Errorf("is not set, but portClientId is (from %s): Port needs both; set portClientSecret (or %s)",
			where("portClientId", idSrc), EnvPortClientSecret)}
	case id == "":
		return &Error{Setting: "portClientId", Err: fmt.Errorf("is not set, but portClientSecret is (from %s): Port needs both; set portClientId (or %s)",
			where("portClientSecret", secretSrc), EnvPortClientID)}
	}
	switch {
	case idSrc != "" && secretSrc != "":
		b.portCreds = idSrc + "/" + secretSrc
	case idSrc == "" && secretSrc == "":
		b.portCreds = "portClientId/portClientSecret in the config file"
	default:
		b.portCreds = where("portClientId", idSrc) + " and " + where("portClientSecret", secretSrc)
	}
	return nil
}

// checkCatalog settles where glsyncd keeps its catalog. Ocean's
// deployments set the Port credentials and no catalog: they mean "write
// to Port", and an embedded file nobody reads would look like a working
// sync that never reaches Port.
func checkCatalog(b *builder, g given) error {
	cat, src := g.str()
	switch cat {
	case "":
		switch {
		case b.portCreds != "":
			b.Catalog, b.CatalogFrom = "port", b.portCreds
		case b.DatabaseURL != "":
			_, dbSrc := b.str("databaseUrl")
			b.Catalog, b.CatalogFrom = "postgres", where("databaseUrl", dbSrc)
		default:
			b.Catalog, b.CatalogFrom = "embedded", "the default"
		}
	case "embedded", "port", "postgres":
		b.Catalog, b.CatalogFrom = cat, where(g.key, src)
		if cat != "port" && b.portCreds != "" {
			b.Warnings = append(b.Warnings, fmt.Sprintf("catalog is %s (from %s) but the Port credentials are set (%s): nothing is written to Port. "+
				"Remove catalog to write to Port, or remove the credentials", cat, b.CatalogFrom, b.portCreds))
		}
	default:
		return &Error{Setting: g.key, Source: src, Err: fmt.Errorf("must be embedded, postgres or port, got %s", redact.Quote(cat))}
	}
	return nil
}

// checkDatabaseURLSetting checks databaseUrl against the settled catalog,
// then its form.
func checkDatabaseURLSetting(b *builder, g given) error {
	if b.DatabaseURL == "" {
		return nil
	}
	_, src := g.str()
	if b.Catalog == "embedded" {
		return &Error{Setting: g.key, Source: src, Err: errors.New("is set but catalog is embedded (the SQLite file): remove one, or set catalog to postgres")}
	}
	if err := checkDatabaseURL(b.DatabaseURL); err != nil {
		return &Error{Setting: g.key, Source: src, Err: err}
	}
	return nil
}

// checkSecretKeys reads secretKey and the previous key a rotation keeps
// (GLSYNC_SECRET_KEY_PREVIOUS, which has no file key), without ever
// showing either.
func checkSecretKeys(b *builder, g given) error {
	key, src := g.str()
	prev := g.getenv(EnvSecretKeyPrevious)
	for _, k := range []struct{ name, src, v string }{{g.key, src, key}, {g.key + " (previous)", EnvSecretKeyPrevious, prev}} {
		if k.v == "" {
			continue
		}
		if _, err := sealed.ParseKey(k.v); err != nil {
			return &Error{Setting: k.name, Source: k.src, Err: fmt.Errorf("%w (value not shown)", err)}
		}
	}
	b.SecretKey, b.SecretKeyPrevious = key, prev
	return nil
}

// validate applies the rules about the configuration as a whole, once
// every row is read.
func (c *Config) validate(in *input) error {
	if c.Catalog == "port" && (c.PortClientID == "" || c.PortClientSecret == "") {
		return &Error{Setting: "portClientId", Err: fmt.Errorf("catalog is port: set portClientId and portClientSecret (or %s and %s)", EnvPortClientID, EnvPortClientSecret)}
	}
	if c.ActionsProcessor.Enabled && c.Catalog != "port" {
		src := ""
		if in.getenv(EnvActionsEnabled) != "" {
			src = EnvActionsEnabled
		}
		return &Error{Setting: "actionsProcessorEnabled", Source: src, Err: fmt.Errorf(
			"is true, but the catalog is %s (%s): action runs come from Port, so the actions processor needs catalog port (set portClientId and portClientSecret)",
			c.Catalog, c.CatalogFrom)}
	}
	return c.checkSecretKey()
}

// checkSecretKey refuses, at start, a database-backed catalog that would
// have to keep random hook secrets with no key to seal them: the replicas
// would pass /readyz and then fail every hook they create ("no secret
// key"), so no delivery would ever be accepted. With webhookSecret the
// hook secrets derive from it and nothing secret is stored; without
// appHost no hook is created.
func (c *Config) checkSecretKey() error {
	if !c.UsesPostgres() || c.AppHost == "" || c.SecretKey != "" || c.WebhookSecret != "" {
		return nil
	}
	return &Error{Setting: "secretKey", Err: fmt.Errorf("is required with a PostgreSQL catalog (catalog %s) and appHost: "+
		"every replica seals and opens the secrets of the hooks it creates with it. Set secretKey (or %s) to the same key on every replica "+
		"(openssl rand -base64 32), or set webhookSecret (or %s) so that hook secrets derive from it", c.Catalog, EnvSecretKey, EnvWebhookSecret)}
}

// checkDatabaseURL checks the form of a connection string without echoing
// it: it may hold a password.
func checkDatabaseURL(v string) error {
	if strings.HasPrefix(v, "postgres://") || strings.HasPrefix(v, "postgresql://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" && u.Query().Get("host") == "" {
			return errors.New("must be a postgres://user:password@host:port/database URL (value not shown: it may hold a password)")
		}
		return nil
	}
	if strings.Contains(v, "=") && !strings.Contains(v, "://") {
		return nil // libpq key=value form, checked when connecting
	}
	return errors.New("must be a postgres:// URL or a libpq key=value string (value not shown: it may hold a password)")
}
