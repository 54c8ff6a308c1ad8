package secretstest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pavedroad/paved/secrets"
)

// Local development: a Fake filled from environment variables or a JSON
// file serves a service's secrets on a laptop, through the same client
// code as Vault (give it to secrets.Config.Backend with a
// secrets.TokenLogin of [Fake.RootToken]).

// LoadEnv writes into f every variable of environ (in os.Environ's
// "NAME=value" form) whose name starts with prefix. Its value is
// "mount/path#key=secret value", a [secrets.Ref] without version, then
// "=", then the value:
//
//	PAVED_SECRET_DB=secret/db#password=dev-password
//	PAVED_SECRET_DB_USER=secret/db#user=app
//
// Keys of one path become one version of that secret. A path whose first
// segment is not a mount of f gets a KV v2 mount there. A malformed
// variable is an error naming the variable, never echoing its value.
func (f *Fake) LoadEnv(prefix string, environ []string) error {
	byPath := map[string]map[string]any{}
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		ref, value, ok := strings.Cut(val, "=")
		if !ok {
			return fmt.Errorf("secretstest: %s: want mount/path#key=value", name)
		}
		r, err := secrets.ParseRef(ref)
		if err != nil {
			return fmt.Errorf("secretstest: %s: %w", name, err)
		}
		if r.Version != 0 {
			return fmt.Errorf("secretstest: %s: a version cannot be set", name)
		}
		if byPath[r.Path] == nil {
			byPath[r.Path] = map[string]any{}
		}
		byPath[r.Path][r.Key] = value
	}
	f.putAll(byPath)
	return nil
}

// LoadFile writes into f the secrets of a JSON file that maps paths to
// objects of keys:
//
//	{"secret/db": {"user": "app", "password": "dev-password"}}
//
// Each path becomes one version of that secret; values that are not
// strings are kept as JSON would give them.
func (f *Fake) LoadFile(path string) error {
	//paved:allow G304 the path is the test's own fixture file, named by the caller
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("secretstest: %w", err)
	}
	var m map[string]map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("secretstest: %s: want {\"mount/path\": {\"key\": \"value\"}}: %w", path, err)
	}
	for p := range m {
		if _, err := secrets.ParseRef(p + "#k"); err != nil {
			return fmt.Errorf("secretstest: %s: path %q: %w", path, p, err)
		}
	}
	f.putAll(m)
	return nil
}

func (f *Fake) putAll(byPath map[string]map[string]any) {
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		f.mu.Lock()
		m := f.mountOf(p)
		f.mu.Unlock()
		if m == nil || m.kv == nil {
			seg, _, _ := strings.Cut(p, "/")
			f.Mount(seg, "kv", 2)
		}
		f.Put(p, byPath[p])
	}
}
