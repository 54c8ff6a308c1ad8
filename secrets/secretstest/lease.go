package secretstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// Engines emulates Vault's secrets engines that issue leases and do
// cryptography, path by path and with Vault's payloads:
//
//	database/roles/<role>        write {"default_ttl", "max_ttl"} (seconds or "1h")
//	database/creds/<role>        read: {"username", "password"} with a lease
//	sys/leases/renew             write {"lease_id", "increment"}
//	sys/leases/revoke            write {"lease_id"}
//	sys/leases/lookup            write {"lease_id"}; list sys/leases/lookup/<prefix>/
//	pki/roles/<role>             write {"ttl", "max_ttl"}
//	pki/issue/<role>             write {"common_name", "alt_names", "ip_sans", "ttl"}
//	pki/cert/ca                  read: the CA certificate
//	transit/keys/<key>           write {"type"} (create), read; .../rotate, .../config
//	transit/encrypt|decrypt|rewrap|sign|verify|hmac/<key>
//
// The mounts are named as in the integration harness (database, pki,
// transit). Leases expire, and renewals cap at max TTL, on the Engines'
// [Clock]. Every lease belongs to the token that created it and dies with
// it ([Engines.RevokeToken]), as in Vault.
//
// It is a test double: its CA and transit keys use the standard library's
// crypto (ECDSA, AES-GCM, Ed25519, HMAC-SHA256) in memory. Nothing it
// issues is fit for production.
type Engines struct {
	clock *Clock
	fake  *Fake // when set, leases are the Fake's (see Fake.Engines)

	mu      sync.Mutex
	leases  map[string]*fakeLease
	dbRoles map[string]dbRole
	users   map[string]dbUser // username → password and lease
	seq     int
	pki     *fakePKI
	transit *fakeTransit
}

type fakeLease struct {
	id        string
	token     string
	issued    time.Time
	expires   time.Time
	max       time.Time
	ttl       time.Duration
	renewable bool
	user      string // database user the lease created
}

type dbRole struct{ ttl, maxTTL time.Duration }

type dbUser struct {
	password string
	lease    string
	fl       *Lease // the Fake's lease, when the engines are a Fake's
}

// NewEngines returns engines on clock (a new [Clock] when nil) with the
// database role "app" (default TTL 1h, max TTL 24h) and the PKI role
// "localhost" (TTL 72h) of the integration harness, and the transit key
// "paved" (aes256-gcm96).
func NewEngines(clock *Clock) *Engines {
	if clock == nil {
		clock = NewClock(time.Time{})
	}
	e := &Engines{clock: clock, leases: map[string]*fakeLease{}, dbRoles: map[string]dbRole{"app": {time.Hour, 24 * time.Hour}},
		users: map[string]dbUser{}}
	e.pki = newFakePKI(clock)
	e.transit = newFakeTransit()
	return e
}

// Clock returns the engines' clock.
func (e *Engines) Clock() *Clock { return e.clock }

// Handle serves op ("read", "write", "delete", "list") on path when path
// belongs to one of the engines; handled is false otherwise, so a fake
// backend tries its other paths.
func (e *Engines) Handle(_ context.Context, op, token, path string, data map[string]any) (r *secrets.Response, handled bool, err error) {
	path = strings.TrimPrefix(path, "/")
	switch {
	case strings.HasPrefix(path, "database/"):
		r, err = e.database(op, token, path, data)
	case strings.HasPrefix(path, "sys/leases/"):
		r, err = e.sysLeases(op, path, data)
	case strings.HasPrefix(path, "pki/"):
		r, err = e.pki.handle(op, path, data)
	case strings.HasPrefix(path, "transit/"):
		r, err = e.transit.handle(op, path, data)
	default:
		return nil, false, nil
	}
	return r, true, err
}

// RevokeToken ends every lease token created, as Vault does when a token
// is revoked or expires.
func (e *Engines) RevokeToken(token string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, l := range e.leases {
		if l.token == token {
			e.dropLocked(id)
		}
	}
}

// Leases returns the IDs of the live leases under prefix (such as
// "database/creds/app/"), sorted.
func (e *Engines) Leases(prefix string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked()
	var ids []string
	for id := range e.leases {
		if strings.HasPrefix(id, prefix) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// ValidLogin reports whether username and password are a database login
// a live lease issued: what PostgreSQL would accept.
func (e *Engines) ValidLogin(username, password string) bool {
	e.mu.Lock()
	e.expireLocked()
	u, ok := e.users[username]
	e.mu.Unlock()
	if !ok || u.password != password {
		return false
	}
	if u.fl != nil {
		return e.fake.leaseAlive(u.fl)
	}
	return true
}

func (e *Engines) expireLocked() {
	now := e.clock.Now()
	for id, l := range e.leases {
		if !now.Before(l.expires) {
			e.dropLocked(id)
		}
	}
}

func (e *Engines) dropLocked(id string) {
	if l, ok := e.leases[id]; ok {
		delete(e.users, l.user)
		delete(e.leases, id)
	}
}

func (e *Engines) database(op, token, path string, data map[string]any) (*secrets.Response, error) {
	parts := strings.Split(path, "/")
	if len(parts) != 3 || parts[2] == "" {
		return nil, secrets.NewStatusError(op, path, 404)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case parts[1] == "roles" && op == "write":
		ttl, err1 := durationArg(data["default_ttl"], time.Hour)
		maxTTL, err2 := durationArg(data["max_ttl"], 24*time.Hour)
		if err1 != nil || err2 != nil || ttl <= 0 || maxTTL < ttl {
			return nil, secrets.NewStatusError(op, path, 400, "invalid default_ttl or max_ttl")
		}
		e.dbRoles[parts[2]] = dbRole{ttl, maxTTL}
		return &secrets.Response{}, nil
	case parts[1] == "roles" && op == "delete":
		delete(e.dbRoles, parts[2])
		return &secrets.Response{}, nil
	case parts[1] == "creds" && op == "read":
		role, ok := e.dbRoles[parts[2]]
		if !ok {
			return nil, secrets.NewStatusError(op, path, 400, fmt.Sprintf("unknown role: %s", parts[2]))
		}
		e.seq++
		user := fmt.Sprintf("v-token-%s-%d", parts[2], e.seq)
		pass := randomHex(16)
		if e.fake != nil {
			// The Fake's lease table: its sys/leases paths renew and
			// revoke it, and it dies with its token.
			e.mu.Unlock()
			fl := e.fake.IssueLease(token, path, role.ttl, role.maxTTL, true, func() {
				e.mu.Lock()
				delete(e.users, user)
				e.mu.Unlock()
			})
			e.mu.Lock()
			e.users[user] = dbUser{password: pass, lease: fl.ID, fl: fl}
			return &secrets.Response{LeaseID: fl.ID, LeaseDuration: role.ttl, Renewable: true,
				Data: map[string]any{"username": user, "password": pass}}, nil
		}
		now := e.clock.Now()
		l := &fakeLease{id: path + "/" + randomHex(12), token: token, issued: now, expires: now.Add(role.ttl),
			max: now.Add(role.maxTTL), ttl: role.ttl, renewable: true, user: user}
		e.leases[l.id] = l
		e.users[user] = dbUser{password: pass, lease: l.id}
		return &secrets.Response{LeaseID: l.id, LeaseDuration: role.ttl, Renewable: true,
			Data: map[string]any{"username": user, "password": pass}}, nil
	}
	return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
}

func (e *Engines) sysLeases(op, path string, data map[string]any) (*secrets.Response, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.expireLocked()
	id, _ := data["lease_id"].(string)
	switch {
	case op == "write" && path == "sys/leases/renew":
		l, ok := e.leases[id]
		if !ok || !l.renewable {
			return nil, secrets.NewStatusError(op, path, 400, "lease not found or lease is not renewable")
		}
		inc, err := durationArg(data["increment"], l.ttl)
		if err != nil {
			return nil, secrets.NewStatusError(op, path, 400, "invalid increment")
		}
		if inc <= 0 {
			inc = l.ttl
		}
		now := e.clock.Now()
		r := &secrets.Response{LeaseID: id, Renewable: true}
		if left := l.max.Sub(now).Truncate(time.Second); inc > left {
			inc = left
			r.Warnings = []string{"TTL of the lease exceeded its max_ttl; TTL value is capped accordingly"}
		}
		l.expires = now.Add(inc)
		r.LeaseDuration = inc
		return r, nil
	case op == "write" && path == "sys/leases/revoke":
		e.dropLocked(id)
		return &secrets.Response{}, nil
	case op == "write" && path == "sys/leases/lookup":
		l, ok := e.leases[id]
		if !ok {
			return nil, secrets.NewStatusError(op, path, 400, "invalid lease")
		}
		return &secrets.Response{Data: map[string]any{
			"id": l.id, "renewable": l.renewable, "issue_time": l.issued.Format(time.RFC3339Nano),
			"expire_time": l.expires.Format(time.RFC3339Nano), "ttl": json.Number(strconv.Itoa(int(l.expires.Sub(e.clock.Now()) / time.Second))),
		}}, nil
	case op == "list" && strings.HasPrefix(path, "sys/leases/lookup/"):
		prefix := strings.TrimSuffix(strings.TrimPrefix(path, "sys/leases/lookup/"), "/") + "/"
		seen := map[string]bool{}
		var keys []any
		for lid := range e.leases {
			rest, ok := strings.CutPrefix(lid, prefix)
			if !ok {
				continue
			}
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i+1]
			}
			if !seen[rest] {
				seen[rest] = true
				keys = append(keys, rest)
			}
		}
		if len(keys) == 0 {
			return nil, secrets.NewStatusError(op, path, 404)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i].(string) < keys[j].(string) })
		return &secrets.Response{Data: map[string]any{"keys": keys}}, nil
	}
	return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
}

// durationArg reads a Vault duration parameter: seconds as a number or a
// numeric string, or a Go duration string ("1h"). A nil v is def.
func durationArg(v any, def time.Duration) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return def, nil
	case int:
		return time.Duration(x) * time.Second, nil
	case int64:
		return time.Duration(x) * time.Second, nil
	case float64:
		return time.Duration(x) * time.Second, nil
	case json.Number:
		n, err := x.Int64()
		return time.Duration(n) * time.Second, err
	case string:
		if x == "" {
			return def, nil
		}
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return time.Duration(n) * time.Second, nil
		}
		return time.ParseDuration(x)
	}
	return 0, fmt.Errorf("not a duration: %T", v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
