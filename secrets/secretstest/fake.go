package secretstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// A Fake is an in-memory Vault behind the [secrets.Backend] interface. It
// answers Vault's own paths with Vault's own payloads: KV v1 and v2 (with
// versions, soft deletes, metadata), the mount preflight
// (sys/internal/ui/mounts), tokens (lookup-self, renew-self, revoke-self)
// with TTLs and max TTLs on its [Clock], logins (AppRole with wrapped
// secret IDs, and any method added with [Fake.AddLogin]), response
// wrapping (sys/wrapping/unwrap), and leases (sys/leases/renew, revoke,
// lookup) that die with the token that created them. Other engines plug in
// with [Fake.Handle]. Faults are switched on with [Fake.Seal],
// [Fake.SetDown], [Fake.Pause] and [Fake.Deny].
//
// It is safe for concurrent use. The conformance suite ([RunConformance])
// checks it against a real Vault.
type Fake struct {
	clock *Clock

	mu       sync.Mutex
	mounts   map[string]*mount // by path with trailing slash
	tokens   map[string]*token
	leases   map[string]*Lease
	wraps    map[string]wrapped
	logins   map[string]LoginFunc // by auth mount
	approles map[string]map[string]map[string]bool
	handlers map[string]Handler
	denied   []string
	ttl      time.Duration
	maxTTL   time.Duration
	sealed   bool
	down     bool
	paused   chan struct{} // non-nil while paused; closed by Resume
	counts   map[string]int
	seq      int
	root     string
}

type mount struct {
	path    string
	typ     string
	version int // KV only: 1 or 2
	kv      map[string]*kvSecret
}

type kvSecret struct {
	versions []kvVersion // index i is version i+1
	v1       map[string]any
}

type kvVersion struct {
	data    map[string]any
	created time.Time
	deleted time.Time
}

type token struct {
	id        string
	accessor  string
	policies  []string
	created   time.Time
	expires   time.Time // zero: never
	maxExpiry time.Time // zero: none
	ttl       time.Duration
	renewable bool
	root      bool
	uses      int // wrapping tokens: 1, else 0 (unlimited)
	denied    []string
}

type wrapped struct {
	resp    map[string]any
	expires time.Time
}

// A Lease is a dynamic secret's lease in the fake.
type Lease struct {
	ID        string
	Path      string
	Token     string
	Issued    time.Time
	Expires   time.Time
	MaxExpiry time.Time
	Renewable bool
	// OnRevoke, when set, runs (without the fake's lock) when the lease
	// is revoked, expires, or dies with its token: an engine drops the
	// credential it issued.
	OnRevoke func()
}

// A Request is one call to the fake, as a [Handler] sees it.
type Request struct {
	// Op is "read", "write", "delete" or "list".
	Op string
	// Path is the logical path, without the query.
	Path string
	// Query holds the path's query ("?version=3").
	Query url.Values
	// Token is the caller's token, already checked to be valid.
	Token string
	// Data is the body of a write (a copy).
	Data map[string]any
}

// A Handler answers the requests under the prefix it was registered for.
// It returns a Response, or an error from [secrets.NewStatusError] (a 404,
// a 400) as Vault would answer.
type Handler func(ctx context.Context, f *Fake, req *Request) (*secrets.Response, error)

// A LoginFunc checks a login's payload for an auth method added with
// [Fake.AddLogin]; a nil error logs in, with the policies returned.
type LoginFunc func(data map[string]any) (policies []string, err error)

// hooks run on every new Fake: the dynamic engines' files of this package
// (database, PKI, transit) register themselves here from init.
var hooks []func(*Fake)

// onNew registers fn to run on every Fake that New makes.
func onNew(fn func(*Fake)) { hooks = append(hooks, fn) }

var _ = onNew // called from the engines' init functions

// Default token TTLs of logins, as a Vault dev server's defaults scaled
// down: an hour, and a max TTL of a day.
const (
	DefaultTokenTTL    = time.Hour
	DefaultTokenMaxTTL = 24 * time.Hour
)

// New returns a fake with the mounts of a Vault dev server (secret/ as KV
// v2, cubbyhole/, sys/), those the engines of this package add (see
// [Fake.Handle]), a root token ([Fake.RootToken]) and a manual clock.
func New() *Fake {
	f := &Fake{
		clock:    NewClock(time.Time{}),
		mounts:   map[string]*mount{},
		tokens:   map[string]*token{},
		leases:   map[string]*Lease{},
		wraps:    map[string]wrapped{},
		logins:   map[string]LoginFunc{},
		approles: map[string]map[string]map[string]bool{},
		handlers: map[string]Handler{},
		counts:   map[string]int{},
		ttl:      DefaultTokenTTL,
		maxTTL:   DefaultTokenMaxTTL,
	}
	f.Mount("secret/", "kv", 2)
	f.Mount("cubbyhole/", "cubbyhole", 0)
	f.root = "hvs.fake-root-" + f.randHex(8)
	f.tokens[f.root] = &token{id: f.root, accessor: "root-accessor", policies: []string{"root"}, root: true, created: f.clock.Now()}
	for _, h := range hooks {
		h(f)
	}
	return f
}

// String names the fake in the client's errors and posture.
func (f *Fake) String() string { return "secretstest.Fake" }

// Clock returns the fake's clock; give it to the client too
// (secrets.Config.Clock).
func (f *Fake) Clock() *Clock { return f.clock }

// RootToken returns the fake's root token, which never expires.
func (f *Fake) RootToken() string { return f.root }

// SetTokenTTL sets the TTL and max TTL of the tokens later logins issue.
func (f *Fake) SetTokenTTL(ttl, maxTTL time.Duration) {
	f.mu.Lock()
	f.ttl, f.maxTTL = ttl, maxTTL
	f.mu.Unlock()
}

// Mount adds a mount at path (with or without the trailing slash) of the
// engine typ ("kv" with version 1 or 2, "database", "pki", "transit"...).
func (f *Fake) Mount(path, typ string, version int) {
	path = strings.Trim(path, "/") + "/"
	f.mu.Lock()
	defer f.mu.Unlock()
	m := &mount{path: path, typ: typ, version: version}
	if typ == "kv" {
		m.kv = map[string]*kvSecret{}
		if m.version != 2 {
			m.version = 1
		}
	}
	f.mounts[path] = m
}

// Handle routes every request under prefix (such as "database/" or
// "pki/") to h. The longest matching prefix wins.
func (f *Fake) Handle(prefix string, h Handler) {
	f.mu.Lock()
	f.handlers[prefix] = h
	f.mu.Unlock()
}

// Put writes data as a new version of the KV secret at path ("secret/app"),
// as `vault kv put` does, and returns the version (0 for KV v1). It panics
// when path is on no KV mount: a test's own mistake.
func (f *Fake) Put(path string, data map[string]any) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.mountOf(path)
	if m == nil || m.kv == nil {
		panic("secretstest: Put: no KV mount for " + path)
	}
	return f.kvPut(m, strings.TrimPrefix(path, m.path), copyMap(data))
}

func (f *Fake) kvPut(m *mount, rel string, data map[string]any) int {
	s := m.kv[rel]
	if s == nil {
		s = &kvSecret{}
		m.kv[rel] = s
	}
	if m.version == 1 {
		s.v1 = data
		return 0
	}
	s.versions = append(s.versions, kvVersion{data: data, created: f.clock.Now()})
	return len(s.versions)
}

// Deny makes every request under prefix fail with 403 permission denied
// for every token but the root token, as a policy without that path would.
func (f *Fake) Deny(prefix string) {
	f.mu.Lock()
	f.denied = append(f.denied, prefix)
	f.mu.Unlock()
}

// DenyToken makes every request of tok under prefix fail with 403
// permission denied, as that token's policies would.
func (f *Fake) DenyToken(tok, prefix string) {
	f.mu.Lock()
	if t := f.tokens[tok]; t != nil {
		t.denied = append(t.denied, prefix)
	}
	f.mu.Unlock()
}

// Seal makes every request fail with 503 "Vault is sealed" until Unseal.
func (f *Fake) Seal() { f.mu.Lock(); f.sealed = true; f.mu.Unlock() }

// Unseal ends Seal.
func (f *Fake) Unseal() { f.mu.Lock(); f.sealed = false; f.mu.Unlock() }

// SetDown makes every request fail at once as if Vault were unreachable
// (connection refused), until SetDown(false).
func (f *Fake) SetDown(down bool) { f.mu.Lock(); f.down = down; f.mu.Unlock() }

// Pause makes every request block, as a stopped Vault process does (the
// connection is accepted, nothing answers), until Resume or the request's
// context ends.
func (f *Fake) Pause() {
	f.mu.Lock()
	if f.paused == nil {
		f.paused = make(chan struct{})
	}
	f.mu.Unlock()
}

// Resume ends Pause: blocked requests proceed.
func (f *Fake) Resume() {
	f.mu.Lock()
	if f.paused != nil {
		close(f.paused)
		f.paused = nil
	}
	f.mu.Unlock()
}

// Count returns how many requests of op ("read", "write"...) reached the
// fake at path; path "auth/*/login" counts every login.
func (f *Fake) Count(op, path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[op+" "+path]
}

// AddLogin enables an auth method at auth/<mount>/login whose logins check
// decides, for Kubernetes, JWT or certificate logins in unit tests.
func (f *Fake) AddLogin(mount string, check LoginFunc) {
	f.mu.Lock()
	f.logins[strings.Trim(mount, "/")] = check
	f.mu.Unlock()
}

// AddAppRole enables AppRole at auth/<mount> (if needed), adds the role
// roleID, and returns a fresh secret ID for it.
func (f *Fake) AddAppRole(mount, roleID string) (secretID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mount = strings.Trim(mount, "/")
	if f.approles[mount] == nil {
		f.approles[mount] = map[string]map[string]bool{}
	}
	if f.approles[mount][roleID] == nil {
		f.approles[mount][roleID] = map[string]bool{}
	}
	id := f.randHex(16)
	f.approles[mount][roleID][id] = true
	return id
}

// WrapSecretID mints a secret ID for the AppRole role and returns a
// single-use response-wrapping token holding it, as
// `vault write -wrap-ttl=... -f auth/approle/role/R/secret-id` does.
func (f *Fake) WrapSecretID(mount, roleID string, ttl time.Duration) string {
	id := f.AddAppRole(mount, roleID)
	return f.Wrap(map[string]any{"secret_id": id, "secret_id_accessor": f.randHex(8)}, ttl)
}

// Wrap stores data in a single-use wrapping token valid for ttl and
// returns the token (sys/wrapping/unwrap answers data once).
func (f *Fake) Wrap(data map[string]any, ttl time.Duration) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := "hvs.wrap-" + f.randHex(12)
	f.wraps[w] = wrapped{resp: copyMap(data), expires: f.clock.Now().Add(ttl)}
	return w
}

// CreateToken issues a token with policies, ttl and maxTTL (0: none), as
// auth/token/create does.
func (f *Fake) CreateToken(policies []string, ttl, maxTTL time.Duration, renewable bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.newToken(policies, ttl, maxTTL, renewable).id
}

// RevokeToken revokes a token and its leases, as an operator would.
func (f *Fake) RevokeToken(tok string) {
	f.mu.Lock()
	fns := f.revokeTokenLocked(tok)
	f.mu.Unlock()
	runAll(fns)
}

// TokenForAccessor returns the token with accessor acc, or "", so that a
// test can revoke or restrict the token a client holds.
func (f *Fake) TokenForAccessor(acc string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, t := range f.tokens {
		if t.accessor == acc {
			return id
		}
	}
	return ""
}

// Tokens returns how many valid tokens (other than the root token) exist.
func (f *Fake) Tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	now := f.clock.Now()
	for _, t := range f.tokens {
		if !t.root && t.uses == 0 && (t.expires.IsZero() || now.Before(t.expires)) {
			n++
		}
	}
	return n
}

func (f *Fake) newToken(policies []string, ttl, maxTTL time.Duration, renewable bool) *token {
	now := f.clock.Now()
	t := &token{id: "hvs.fake-" + f.randHex(12), accessor: f.randHex(12), policies: slices.Clone(policies),
		created: now, ttl: ttl, renewable: renewable}
	if ttl > 0 {
		t.expires = now.Add(ttl)
	}
	if maxTTL > 0 {
		t.maxExpiry = now.Add(maxTTL)
		if t.expires.IsZero() || t.expires.After(t.maxExpiry) {
			t.expires = t.maxExpiry
		}
	}
	f.tokens[t.id] = t
	return t
}

func (f *Fake) randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Fake) mountOf(path string) *mount {
	var best *mount
	for p, m := range f.mounts {
		if strings.HasPrefix(path+"/", p) && (best == nil || len(p) > len(best.path)) {
			best = m
		}
	}
	return best
}

// Read implements [secrets.Backend].
func (f *Fake) Read(ctx context.Context, token, path string) (*secrets.Response, error) {
	return f.serve(ctx, "read", token, path, nil)
}

// Write implements [secrets.Backend].
func (f *Fake) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	return f.serve(ctx, "write", token, path, data)
}

// Delete implements [secrets.Backend].
func (f *Fake) Delete(ctx context.Context, token, path string) (*secrets.Response, error) {
	r, err := f.serve(ctx, "delete", token, path, nil)
	if err != nil && isStatus(err, 404) {
		return &secrets.Response{}, nil
	}
	return r, err
}

// List implements [secrets.Backend].
func (f *Fake) List(ctx context.Context, token, path string) (*secrets.Response, error) {
	return f.serve(ctx, "list", token, path, nil)
}

func isStatus(err error, code int) bool {
	se, ok := err.(*secrets.StatusError)
	return ok && se.Status == code
}

func denied(op, path string) error {
	return secrets.NewStatusError(op, path, 403, "permission denied")
}

func invalidToken(op, path string) error {
	return secrets.NewStatusError(op, path, 403, "permission denied", "invalid token")
}

func (f *Fake) serve(ctx context.Context, op, tok, rawPath string, data map[string]any) (*secrets.Response, error) {
	path, rawQuery, _ := strings.Cut(rawPath, "?")
	query, _ := url.ParseQuery(rawQuery)
	data = copyMap(data)

	f.mu.Lock()
	f.counts[op+" "+path]++
	if strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login") {
		f.counts[op+" auth/*/login"]++
	}
	if p := f.paused; p != nil {
		f.mu.Unlock()
		select {
		case <-p:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s %s: %w", secrets.ErrUnavailable, op, path, ctx.Err())
		}
		f.mu.Lock()
	}
	if f.down {
		f.mu.Unlock()
		return nil, fmt.Errorf("%w: %s %s: dial tcp: connection refused", secrets.ErrUnavailable, op, path)
	}
	if f.sealed {
		f.mu.Unlock()
		return nil, secrets.NewStatusError(op, path, 503, "Vault is sealed")
	}
	r, fns, h, req, err := f.serveLocked(op, tok, path, query, data)
	f.mu.Unlock()
	runAll(fns)
	if h != nil {
		r, err = h(ctx, f, req)
	}
	if err != nil {
		return nil, err
	}
	return roundTrip(r), nil
}

// serveLocked answers what the fake knows itself; for a path under a
// registered handler it returns the handler and its request instead.
func (f *Fake) serveLocked(op, tok, path string, query url.Values, data map[string]any) (*secrets.Response, []func(), Handler, *Request, error) {
	now := f.clock.Now()
	// Unauthenticated paths.
	if strings.HasPrefix(path, "auth/") && strings.HasSuffix(path, "/login") && op == "write" {
		r, err := f.login(strings.TrimSuffix(strings.TrimPrefix(path, "auth/"), "/login"), path, data)
		return r, nil, nil, nil, err
	}
	if path == "sys/wrapping/unwrap" && op == "write" {
		w, ok := f.wraps[tok]
		delete(f.wraps, tok)
		if !ok || !now.Before(w.expires) {
			return nil, nil, nil, nil, secrets.NewStatusError(op, path, 400, "wrapping token is not valid or does not exist")
		}
		return &secrets.Response{Data: w.resp}, nil, nil, nil, nil
	}
	t, fns := f.validToken(tok)
	if t == nil {
		return nil, fns, nil, nil, invalidToken(op, path)
	}
	if !t.root {
		for _, d := range append(slices.Clone(f.denied), t.denied...) {
			if strings.HasPrefix(path, d) {
				return nil, fns, nil, nil, denied(op, path)
			}
		}
	}
	switch path {
	case "auth/token/lookup-self":
		return &secrets.Response{Data: f.tokenData(t)}, fns, nil, nil, nil
	case "auth/token/renew-self":
		r, err := f.renewToken(t, data)
		return r, fns, nil, nil, err
	case "auth/token/revoke-self":
		return &secrets.Response{}, append(fns, f.revokeTokenLocked(t.id)...), nil, nil, nil
	case "auth/token/lookup-accessor", "auth/token/revoke-accessor":
		acc, _ := data["accessor"].(string)
		for _, o := range f.tokens {
			if o.accessor == acc && o.uses == 0 {
				if path == "auth/token/revoke-accessor" {
					return &secrets.Response{}, append(fns, f.revokeTokenLocked(o.id)...), nil, nil, nil
				}
				if !o.expires.IsZero() && !now.Before(o.expires) {
					break
				}
				d := f.tokenData(o)
				delete(d, "id")
				return &secrets.Response{Data: d}, fns, nil, nil, nil
			}
		}
		return nil, fns, nil, nil, secrets.NewStatusError(op, path, 400, "invalid accessor")
	case "sys/leases/renew":
		r, err := f.renewLease(t, op, path, data)
		return r, fns, nil, nil, err
	case "sys/leases/revoke":
		id, _ := data["lease_id"].(string)
		if l := f.leases[id]; l != nil {
			fns = append(fns, f.revokeLeaseLocked(l))
		}
		return &secrets.Response{}, fns, nil, nil, nil
	case "sys/leases/lookup":
		id, _ := data["lease_id"].(string)
		l := f.leases[id]
		if l == nil || !now.Before(l.Expires) {
			return nil, fns, nil, nil, secrets.NewStatusError(op, path, 400, "invalid lease")
		}
		return &secrets.Response{Data: map[string]any{"id": l.ID, "ttl": int64(l.Expires.Sub(now) / time.Second),
			"renewable": l.Renewable, "issue_time": l.Issued.Format(time.RFC3339Nano), "expire_time": l.Expires.Format(time.RFC3339Nano)}}, fns, nil, nil, nil
	}
	if p, ok := strings.CutPrefix(path, "sys/internal/ui/mounts/"); ok {
		m := f.mountOf(p)
		if m == nil {
			return nil, fns, nil, nil, secrets.NewStatusError(op, path, 403,
				fmt.Sprintf("preflight capability check returned 403, please ensure client's policies grant access to path %q", p+"/"))
		}
		var opts any
		if m.typ == "kv" {
			opts = map[string]any{"version": strconv.Itoa(m.version)}
		}
		return &secrets.Response{Data: map[string]any{"path": m.path, "type": m.typ, "options": opts}}, fns, nil, nil, nil
	}
	// Registered engines.
	best := ""
	for p := range f.handlers {
		if strings.HasPrefix(path, p) && len(p) > len(best) {
			best = p
		}
	}
	if best != "" {
		return nil, fns, f.handlers[best], &Request{Op: op, Path: path, Query: query, Token: t.id, Data: data}, nil
	}
	m := f.mountOf(path)
	if m == nil || m.kv == nil {
		return nil, fns, nil, nil, secrets.NewStatusError(op, path, 404, "no handler for route \""+path+"\". route entry not found.")
	}
	r, err := f.kv(m, op, path, query, data)
	return r, fns, nil, nil, err
}

func (f *Fake) login(mount, path string, data map[string]any) (*secrets.Response, error) {
	var policies []string
	if roles, ok := f.approles[mount]; ok {
		rid, _ := data["role_id"].(string)
		sid, _ := data["secret_id"].(string)
		if !roles[rid][sid] {
			return nil, secrets.NewStatusError("write", path, 400, "invalid role or secret ID")
		}
		policies = []string{"default"}
	} else if check, ok := f.logins[mount]; ok {
		var err error
		if policies, err = check(data); err != nil {
			return nil, secrets.NewStatusError("write", path, 400, err.Error())
		}
	} else {
		return nil, secrets.NewStatusError("write", path, 400, "no auth method at auth/"+mount)
	}
	t := f.newToken(policies, f.ttl, f.maxTTL, true)
	return &secrets.Response{Auth: &secrets.Auth{ClientToken: secrets.NewSecret(t.id), Accessor: t.accessor, Policies: t.policies,
		LeaseDuration: t.expires.Sub(t.created), Renewable: true}}, nil
}

// validToken returns tok's token when it is valid; an expired one is
// revoked on the way (its leases with it).
func (f *Fake) validToken(tok string) (*token, []func()) {
	t := f.tokens[tok]
	if t == nil || t.uses != 0 {
		return nil, nil
	}
	if !t.expires.IsZero() && !f.clock.Now().Before(t.expires) {
		return nil, f.revokeTokenLocked(tok)
	}
	return t, nil
}

func (f *Fake) tokenData(t *token) map[string]any {
	ttl := int64(0)
	if !t.expires.IsZero() {
		ttl = int64(t.expires.Sub(f.clock.Now()) / time.Second)
	}
	return map[string]any{"accessor": t.accessor, "policies": t.policies, "ttl": ttl, "renewable": t.renewable && !t.root,
		"creation_time": t.created.Unix(), "id": t.id}
}

func (f *Fake) renewToken(t *token, data map[string]any) (*secrets.Response, error) {
	if !t.renewable || t.root {
		return nil, secrets.NewStatusError("write", "auth/token/renew-self", 400, "lease is not renewable")
	}
	now := f.clock.Now()
	inc := t.ttl
	if s, ok := data["increment"].(string); ok {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			inc = d
		}
	}
	exp := now.Add(inc)
	warn := []string(nil)
	if !t.maxExpiry.IsZero() && exp.After(t.maxExpiry) {
		exp = t.maxExpiry
		warn = []string{"TTL of \"" + inc.String() + "\" exceeded the effective max_ttl; TTL value is capped accordingly"}
	}
	t.expires = exp
	return &secrets.Response{Warnings: warn, Auth: &secrets.Auth{ClientToken: secrets.NewSecret(t.id), Accessor: t.accessor, Policies: t.policies,
		LeaseDuration: exp.Sub(now).Truncate(time.Second), Renewable: true}}, nil
}

func (f *Fake) revokeTokenLocked(tok string) []func() {
	if _, ok := f.tokens[tok]; !ok {
		return nil
	}
	delete(f.tokens, tok)
	var fns []func()
	for _, l := range f.leases {
		if l.Token == tok {
			fns = append(fns, f.revokeLeaseLocked(l))
		}
	}
	return fns
}

func (f *Fake) revokeLeaseLocked(l *Lease) func() {
	delete(f.leases, l.ID)
	if l.OnRevoke != nil {
		return l.OnRevoke
	}
	return func() {}
}

func runAll(fns []func()) {
	for _, fn := range fns {
		fn()
	}
}

// IssueLease records a lease on path for the token tok, as an engine's
// handler does when it issues a dynamic secret, and returns it. The
// lease dies with tok, at its TTL unless renewed, and at maxTTL for good.
// Set OnRevoke on the result before returning it to drop the credential.
func (f *Fake) IssueLease(tok, path string, ttl, maxTTL time.Duration, renewable bool, onRevoke func()) *Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.seq++
	l := &Lease{ID: strings.TrimSuffix(path, "/") + "/" + f.randHex(12), Path: path, Token: tok, Issued: now, Expires: now.Add(ttl),
		Renewable: renewable, OnRevoke: onRevoke}
	if maxTTL > 0 {
		l.MaxExpiry = now.Add(maxTTL)
		if l.Expires.After(l.MaxExpiry) {
			l.Expires = l.MaxExpiry
		}
	}
	f.leases[l.ID] = l
	return l
}

// LiveLeases returns how many leases under prefix are alive: not revoked,
// not expired, and with a valid token. Expired ones are revoked on the way.
func (f *Fake) LiveLeases(prefix string) int {
	f.mu.Lock()
	var fns []func()
	now := f.clock.Now()
	n := 0
	for _, l := range f.leases {
		t, tf := f.validToken(l.Token)
		fns = append(fns, tf...)
		if t == nil || !now.Before(l.Expires) {
			if f.leases[l.ID] != nil {
				fns = append(fns, f.revokeLeaseLocked(l))
			}
			continue
		}
		if strings.HasPrefix(l.ID, prefix) {
			n++
		}
	}
	f.mu.Unlock()
	runAll(fns)
	return n
}

func (f *Fake) renewLease(t *token, op, path string, data map[string]any) (*secrets.Response, error) {
	id, _ := data["lease_id"].(string)
	l := f.leases[id]
	now := f.clock.Now()
	if l == nil || !now.Before(l.Expires) {
		return nil, secrets.NewStatusError(op, path, 400, "lease not found or lease is not renewable")
	}
	if !l.Renewable {
		return nil, secrets.NewStatusError(op, path, 400, "lease is not renewable")
	}
	inc := l.Expires.Sub(l.Issued)
	if n, ok := data["increment"].(json.Number); ok {
		if s, err := n.Int64(); err == nil && s > 0 {
			inc = time.Duration(s) * time.Second
		}
	}
	exp := now.Add(inc)
	var warn []string
	if !l.MaxExpiry.IsZero() && exp.After(l.MaxExpiry) {
		exp = l.MaxExpiry
		warn = []string{"TTL of \"" + inc.String() + "\" exceeded the effective max_ttl; TTL value is capped accordingly"}
	}
	l.Expires = exp
	_ = t
	return &secrets.Response{LeaseID: l.ID, LeaseDuration: exp.Sub(now).Truncate(time.Second), Renewable: true, Warnings: warn}, nil
}

func (f *Fake) kv(m *mount, op, path string, query url.Values, data map[string]any) (*secrets.Response, error) {
	rel := strings.TrimPrefix(path, m.path)
	notFound := secrets.NewStatusError(op, path, 404)
	if m.version == 1 {
		switch op {
		case "read":
			s := m.kv[rel]
			if s == nil || s.v1 == nil {
				return nil, notFound
			}
			return &secrets.Response{Data: s.v1, LeaseDuration: 768 * time.Hour}, nil
		case "write":
			f.kvPut(m, rel, data)
			return &secrets.Response{}, nil
		case "delete":
			delete(m.kv, rel)
			return &secrets.Response{}, nil
		case "list":
			return listKeys(m.kv, rel, op, path)
		}
		return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
	}
	kind, rel, _ := strings.Cut(rel, "/")
	s := m.kv[rel]
	switch kind + " " + op {
	case "data read":
		if s == nil || len(s.versions) == 0 {
			return nil, notFound
		}
		v := len(s.versions)
		if q := query.Get("version"); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil || n < 0 {
				return nil, secrets.NewStatusError(op, path, 400, "invalid version")
			}
			if n > 0 {
				v = n
			}
		}
		if v > len(s.versions) {
			return nil, notFound
		}
		kv := s.versions[v-1]
		md := versionMeta(kv, v)
		if !kv.deleted.IsZero() {
			return nil, notFound
		}
		return &secrets.Response{Data: map[string]any{"data": kv.data, "metadata": md}}, nil
	case "data write":
		d, _ := data["data"].(map[string]any)
		if d == nil {
			return nil, secrets.NewStatusError(op, path, 400, "no data provided")
		}
		if o, ok := data["options"].(map[string]any); ok {
			if cas, ok := o["cas"].(json.Number); ok {
				want, _ := cas.Int64()
				cur := 0
				if s != nil {
					cur = len(s.versions)
				}
				if int(want) != cur {
					return nil, secrets.NewStatusError(op, path, 400, "check-and-set parameter did not match the current version")
				}
			}
		}
		v := f.kvPut(m, rel, d)
		return &secrets.Response{Data: versionMeta(m.kv[rel].versions[v-1], v)}, nil
	case "data delete":
		if s != nil && len(s.versions) > 0 {
			s.versions[len(s.versions)-1].deleted = f.clock.Now()
		}
		return &secrets.Response{}, nil
	case "metadata read":
		if s == nil {
			return nil, notFound
		}
		vs := map[string]any{}
		for i, v := range s.versions {
			vs[strconv.Itoa(i+1)] = versionMeta(v, i+1)
		}
		return &secrets.Response{Data: map[string]any{"current_version": len(s.versions), "versions": vs}}, nil
	case "metadata delete":
		delete(m.kv, rel)
		return &secrets.Response{}, nil
	case "metadata list":
		return listKeys(m.kv, rel, op, path)
	}
	return nil, secrets.NewStatusError(op, path, 404, "unsupported path")
}

func versionMeta(v kvVersion, n int) map[string]any {
	del := ""
	if !v.deleted.IsZero() {
		del = v.deleted.Format(time.RFC3339Nano)
	}
	return map[string]any{"version": n, "created_time": v.created.Format(time.RFC3339Nano), "deletion_time": del, "destroyed": false}
}

func listKeys(kv map[string]*kvSecret, prefix, op, path string) (*secrets.Response, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	seen := map[string]bool{}
	for k := range kv {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				rest = rest[:i+1]
			}
			seen[rest] = true
		}
	}
	if len(seen) == 0 {
		return nil, secrets.NewStatusError(op, path, 404)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}

// copyMap copies m through JSON, as the wire does: numbers become
// json.Number, and nothing is shared with the caller.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic("secretstest: data not JSON: " + err.Error())
	}
	var out map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&out)
	return out
}

// roundTrip copies a response's data as the wire would.
func roundTrip(r *secrets.Response) *secrets.Response {
	if r == nil {
		return &secrets.Response{}
	}
	c := *r
	c.Data = copyMap(r.Data)
	c.Warnings = slices.Clone(r.Warnings)
	if r.Auth != nil {
		a := *r.Auth
		a.Policies = slices.Clone(r.Auth.Policies)
		c.Auth = &a
	}
	return &c
}

var _ secrets.Backend = (*Fake)(nil)
