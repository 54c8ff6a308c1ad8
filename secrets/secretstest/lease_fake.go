package secretstest

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/pavedroad/paved/secrets"
)

// The engines of this package plug into every [Fake]: database/, pki/ and
// transit/ as [Engines] serves them (database leases in the Fake's own
// lease table, so its sys/leases paths renew and revoke them and they die
// with their token), and the listing of sys/leases/lookup/<prefix>/ that
// leak checks count with ([CountLeases]).
func init() { onNew(addEngines) }

var fakeEngines sync.Map // *Fake → *Engines

func addEngines(f *Fake) {
	e := NewEngines(f.clock)
	e.fake = f
	serve := func(ctx context.Context, _ *Fake, req *Request) (*secrets.Response, error) {
		r, _, err := e.Handle(ctx, req.Op, req.Token, req.Path, req.Data)
		return r, err
	}
	f.Handle("database/", serve)
	f.Handle("pki/", serve)
	f.Handle("transit/", serve)
	f.Handle("sys/leases/lookup/", func(_ context.Context, f *Fake, req *Request) (*secrets.Response, error) {
		if req.Op != "list" {
			return nil, secrets.NewStatusError(req.Op, req.Path, 405, "unsupported operation")
		}
		return f.listLeases(req.Op, req.Path)
	})
	fakeEngines.Store(f, e)
}

// Engines returns the fake's database, PKI and transit engines, for a
// test's checks ([Engines.ValidLogin], [Engines.Issued]).
func (f *Fake) Engines() *Engines {
	e, _ := fakeEngines.Load(f)
	return e.(*Engines)
}

// leaseAlive reports whether l is neither revoked nor expired.
func (f *Fake) leaseAlive(l *Lease) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[l.ID] == l && f.clock.Now().Before(l.Expires)
}

// listLeases answers list sys/leases/lookup/<prefix>/ as Vault does: the
// lease IDs' next segments under prefix, sub-prefixes ending in "/".
func (f *Fake) listLeases(op, path string) (*secrets.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	prefix := strings.TrimSuffix(strings.TrimPrefix(path, "sys/leases/lookup/"), "/") + "/"
	seen := map[string]bool{}
	var keys []string
	for id, l := range f.leases {
		rest, ok := strings.CutPrefix(id, prefix)
		if !ok || !now.Before(l.Expires) {
			continue
		}
		if t := f.tokens[l.Token]; t == nil || (!t.expires.IsZero() && !now.Before(t.expires)) {
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
	sort.Strings(keys)
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = k
	}
	return &secrets.Response{Data: map[string]any{"keys": out}}, nil
}
