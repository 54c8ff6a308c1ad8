package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// e2eWorld is what configureE2EVault set up and the test checks against.
type e2eWorld struct {
	v  *e2eVault
	id string // this run's random tag: service name, database users

	kvValue    string // the KV secret (never printed)
	redisUser  string // the ACL user the replicas log in to Redis as, with the password from KV
	redisPass  string // (never printed)
	redisAdmin *redis.Client
	auditFile  string
	userPrefix string // of the database users Vault creates
	databaseURL,
	adminURL string

	password, clientID, clientSecret, redirectURI string
	providerIssuer                                string // the OpenID provider (code flow)
	tokenIssuer, audience                         string // Vault's identity tokens (the API's bearer tokens)
}

// servicePolicy is what the template's Vault role may do.
const servicePolicy = `
path "secret/data/service-template" { capabilities = ["read"] }
path "pki/issue/localhost" { capabilities = ["update"] }
path "database/creds/app" { capabilities = ["read"] }
path "sys/leases/renew" { capabilities = ["update"] }
path "sys/leases/revoke" { capabilities = ["update"] }
path "sys/leases/lookup" { capabilities = ["update"] }
`

// userPolicy lets the userpass user sign in at the provider and mint its
// identity token.
const userPolicy = `
path "identity/oidc/provider/+/authorize" { capabilities = ["read", "update"] }
path "identity/oidc/token/*" { capabilities = ["read"] }
`

// configureE2EVault configures the test's Vault as a platform team would
// for the service: an audit device, KV, PKI, the database engine on the
// shared PostgreSQL (over TLS), Kubernetes auth, and a userpass user with
// an OpenID provider and an identity-token role.
func configureE2EVault(t *testing.T, v *e2eVault, review *testenv.TokenReview, env map[string]string) *e2eWorld {
	t.Helper()
	w := &e2eWorld{v: v, id: randHex(4), kvValue: "kv-" + randHex(16), auditFile: filepath.Join(t.TempDir(), "audit.log")}
	w.userPrefix = "e2e_" + w.id + "_"
	v.write(t, "sys/audit/file", map[string]any{"type": "file", "options": map[string]any{"file_path": w.auditFile}})
	// A Redis ACL user of its own, limited to the limiter's keys, no
	// channels and no @dangerous command (FLUSHALL, CONFIG, ACL...); its
	// password goes to KV only.
	w.redisUser, w.redisPass = "e2e-"+w.id, randHex(16)
	w.redisAdmin = redis.NewClient(&redis.Options{Addr: env["REDIS_ADDR"]}) // the plain port, as its default user
	t.Cleanup(func() {
		_ = w.redisAdmin.Do(context.Background(), "ACL", "DELUSER", w.redisUser).Err()
		_ = w.redisAdmin.Close()
	})
	if err := w.redisAdmin.Do(t.Context(), "ACL", "SETUSER", w.redisUser, "reset", "on", ">"+w.redisPass, "~paved:rl:*", "resetchannels", "+@all", "-@dangerous").Err(); err != nil {
		t.Fatal(err)
	}
	v.write(t, "secret/data/service-template", map[string]any{"data": map[string]any{"partner_api_key": w.kvValue, "redis_password": w.redisPass}})

	v.write(t, "sys/mounts/pki", map[string]any{"type": "pki", "config": map[string]any{"max_lease_ttl": "24h"}})
	v.write(t, "pki/root/generate/internal", map[string]any{"common_name": "paved e2e root", "ttl": "24h", "key_type": "ec", "key_bits": 256})
	v.write(t, "pki/roles/localhost", map[string]any{"allowed_domains": "localhost", "allow_localhost": true, "allow_bare_domains": true,
		"key_type": "ec", "key_bits": 256, "ttl": "1h", "max_ttl": "1h"})

	// The shared PostgreSQL, reached with verify-full against its CA, by
	// Vault (as its superuser) and by the template (as Vault's users).
	admin, err := url.Parse(env["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	pw, _ := admin.User.Password()
	q := url.Values{"sslmode": {"verify-full"}, "sslrootcert": {env["PAVED_PG_CA_FILE"]}}
	w.adminURL = (&url.URL{Scheme: "postgres", User: admin.User, Host: admin.Host, Path: admin.Path, RawQuery: q.Encode()}).String()
	w.databaseURL = (&url.URL{Scheme: "postgres", Host: admin.Host, Path: admin.Path, RawQuery: q.Encode()}).String()
	v.write(t, "sys/mounts/database", map[string]any{"type": "database"})
	v.write(t, "database/config/pg", map[string]any{"plugin_name": "postgresql-database-plugin", "allowed_roles": []string{"app"},
		"connection_url": "postgresql://{{username}}:{{password}}@" + admin.Host + admin.Path + "?" + q.Encode(),
		"username":       admin.User.Username(), "password": pw,
		"username_template": w.userPrefix + "{{random 12 | lowercase}}"})
	v.write(t, "database/roles/app", map[string]any{"db_name": "pg", "default_ttl": 3, "max_ttl": 6, // rotates every few seconds
		"creation_statements":   []string{`CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`},
		"revocation_statements": []string{`DROP ROLE IF EXISTS "{{name}}";`}})

	v.write(t, "sys/policies/acl/service-template", map[string]any{"policy": servicePolicy})
	v.write(t, "sys/auth/kubernetes", map[string]any{"type": "kubernetes"})
	v.write(t, "auth/kubernetes/config", map[string]any{"kubernetes_host": review.URL(), "kubernetes_ca_cert": review.CAPEM(),
		"token_reviewer_jwt": testenv.TokenReviewerJWT, "disable_local_ca_jwt": true})
	v.write(t, "auth/kubernetes/role/service-template", map[string]any{"bound_service_account_names": []string{"service-template"},
		"bound_service_account_namespaces": []string{"shop"}, "token_policies": []string{"service-template"}, "token_ttl": "1h"})

	// The user alice, in the group "reader", which the identity token
	// carries as its roles claim (the policy's grants are per role).
	w.password = randHex(12)
	v.write(t, "identity/oidc/config", map[string]any{"issuer": v.addr})
	v.write(t, "sys/policies/acl/oidc-user", map[string]any{"policy": userPolicy})
	v.write(t, "sys/auth/userpass", map[string]any{"type": "userpass"})
	v.write(t, "auth/userpass/users/alice", map[string]any{"password": w.password, "token_policies": []string{"oidc-user"}})
	accessor, _ := v.read(t, "sys/auth/userpass")["accessor"].(string)
	entity, _ := v.write(t, "identity/entity", map[string]any{"name": "alice"})["id"].(string)
	v.write(t, "identity/entity-alias", map[string]any{"name": "alice", "canonical_id": entity, "mount_accessor": accessor})
	group, _ := v.write(t, "identity/group", map[string]any{"name": "reader", "member_entity_ids": []string{entity}})["id"].(string)
	v.write(t, "identity/oidc/key/e2e", map[string]any{"allowed_client_ids": "*", "algorithm": "RS256", "rotation_period": "24h", "verification_ttl": "24h"})
	v.write(t, "identity/oidc/assignment/e2e", map[string]any{"entity_ids": []string{entity}, "group_ids": []string{group}})
	w.redirectURI = "https://localhost/callback" // the authorize API answers the code in JSON: nothing listens there
	v.write(t, "identity/oidc/client/e2e", map[string]any{"redirect_uris": []string{w.redirectURI}, "assignments": []string{"e2e"}, "key": "e2e",
		"id_token_ttl": "30m", "access_token_ttl": "1h", "client_type": "confidential"})
	client := v.read(t, "identity/oidc/client/e2e")
	w.clientID, _ = client["client_id"].(string)
	w.clientSecret, _ = client["client_secret"].(string)
	v.write(t, "identity/oidc/provider/e2e", map[string]any{"allowed_client_ids": []string{w.clientID}, "issuer": v.addr})
	w.providerIssuer, _ = v.read(t, "identity/oidc/provider/e2e")["issuer"].(string)
	v.write(t, "identity/oidc/role/api", map[string]any{"key": "e2e", "ttl": "1h", "template": `{"roles": {{identity.entity.groups.names}}}`})
	w.audience, _ = v.read(t, "identity/oidc/role/api")["client_id"].(string)
	w.tokenIssuer = v.addr + "/v1/identity/oidc"
	if accessor == "" || entity == "" || group == "" || w.clientID == "" || w.providerIssuer == "" || w.audience == "" {
		t.Fatalf("Vault's identity setup is incomplete: accessor %q entity %q group %q client %q issuer %q audience %q",
			accessor, entity, group, w.clientID, w.providerIssuer, w.audience)
	}
	return w
}

// auditEntry is the part of a Vault audit log entry the test reads.
type auditEntry struct {
	Type  string `json:"type"`
	Error string `json:"error"`
	Auth  struct {
		DisplayName string `json:"display_name"`
	} `json:"auth"`
	Request struct {
		Path string `json:"path"`
	} `json:"request"`
	Response struct {
		Data map[string]any `json:"data"`
	} `json:"response"`
}

// auditEntries reads Vault's audit log (values in it are HMACs).
func (w *e2eWorld) auditEntries(t *testing.T) []auditEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		f, err := os.Open(w.auditFile)
		if err != nil {
			t.Fatal(err)
		}
		var out []auditEntry
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var e auditEntry
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				out = append(out, e)
			}
		}
		_ = f.Close()
		if len(out) > 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// templateWrites counts the successful responses to the template's own
// requests (its Kubernetes login's token) on path.
func (w *e2eWorld) templateWrites(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, e := range w.auditEntries(t) {
		if e.Type == "response" && e.Error == "" && e.Request.Path == path && strings.HasPrefix(e.Auth.DisplayName, "kubernetes-") {
			n++
		}
	}
	return n
}
