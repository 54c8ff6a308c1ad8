package policy

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzReadBundle feeds arbitrary bytes to the bundle reader a bundle
// server's answer goes through: it must never panic, and anything it
// accepts must compile into a snapshot or be refused as a load error.
func FuzzReadBundle(f *testing.F) {
	a, _ := testKeys(f)
	f.Add(makeBundle(f, "r1", true, a.priv, "a"))
	f.Add(makeBundle(f, "r1", true, "", ""))
	f.Add(rawTarball(f, map[string]string{"/b/p.rego": "package b\nallow := true\n", "/data.json": `{"b": {"x": 1}}`}, tar.TypeReg))
	f.Add(rawTarball(f, map[string]string{"../x": "y"}, tar.TypeReg))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	e, err := newEngine(Config{Bundle: BundleConfig{File: "fuzz.tar.gz", MaxBytes: 1 << 20}, Logger: discard})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		b, err := e.readTarball(raw, "", true)
		if err != nil {
			return
		}
		if _, err := e.build(b); err != nil {
			return
		}
	})
}

// FuzzDecideJSON decides on arbitrary JSON input: within the bounds it is
// decided, over them it is refused with ErrInput, never a panic or an
// allow the policy did not give.
func FuzzDecideJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"route": "GET /docs/{id}", "principal": {"sub": "a", "roles": ["admin"]}}`, `[[[[[[[[[[[[]]]]]]]]]]]]`, `"x"`, `1e400`, `{"principal": {"roles": [1, null, {"a": []}]}}`} {
		f.Add([]byte(s))
	}
	e := newRBAC(f, func(c *Config) { c.MaxInputDepth = 8; c.MaxInputNodes = 200 })
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		for _, q := range []string{"http", "http-pure"} {
			d, err := e.Decide(context.Background(), q, json.RawMessage(raw))
			if err != nil {
				if d.Allow || (!errors.Is(err, ErrInput) && !errors.Is(err, ErrUndefined) && !errors.Is(err, ErrEvaluation) && !errors.Is(err, ErrTimeout)) {
					t.Fatalf("decision %+v err %v", d, err)
				}
			}
		}
	})
}
