package redissession_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
	"github.com/pavedroad/paved/auth/redissession"
	"github.com/pavedroad/paved/internal/testenv"
)

func TestNewValidation(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer c.Close()
	tests := []struct {
		name   string
		cfg    redissession.Config
		fields []string
	}{
		{"no client", redissession.Config{}, []string{"Config.Client"}},
		{"timeout too short", redissession.Config{Client: c, Timeout: time.Millisecond}, []string{"Config.Timeout"}},
		{"timeout too long", redissession.Config{Client: c, Timeout: time.Minute}, []string{"Config.Timeout"}},
		{"everything", redissession.Config{Prefix: "a*", Timeout: -1}, []string{"Config.Client", "Config.Timeout", "Config.Prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := redissession.New(tt.cfg)
			var got []string
			for _, ce := range paved.ConfigErrors(err) {
				if ce.Component != redissession.Component {
					t.Errorf("component %q", ce.Component)
				}
				got = append(got, ce.Field)
			}
			if strings.Join(got, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("New errors on %v, want %v (%v)", got, tt.fields, err)
			}
		})
	}
	s, err := redissession.New(redissession.Config{Client: c, Timeout: time.Second})
	if err != nil || !strings.Contains(s.String(), "(default 250ms)") {
		t.Fatalf("New = %v, %v", s, err)
	}
}

// TestNoRedisInAuth: a service that imports auth (and not this package)
// does not link go-redis.
func TestNoRedisInAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "github.com/pavedroad/paved/auth").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/redis/go-redis") {
			t.Fatalf("package auth depends on %s; Redis belongs in auth/redissession", dep)
		}
	}
}

func TestStoreConformance(t *testing.T) {
	addr := testenv.RequireRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	ctx := context.Background()
	prefix := "paved:test:" + time.Now().Format("150405.000000") + ":"
	store, err := redissession.New(redissession.Config{Client: rc, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx, "missing"); !errors.Is(err, auth.ErrSessionNotFound) {
		t.Fatalf("Load of a missing id = %v", err)
	}
	authtest.RunStoreConformance(t, store, func() int {
		keys, _ := rc.Keys(ctx, prefix+"*").Result()
		return len(keys)
	})
}

func TestStoreDown(t *testing.T) {
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { _ = rc.Close() })
	store, err := redissession.New(redissession.Config{Client: rc})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := store.Save(ctx, "a", []byte("v"), time.Minute); err == nil {
		t.Fatal("Save to an unreachable Redis succeeded")
	}
	if _, err := store.Load(ctx, "a"); err == nil || errors.Is(err, auth.ErrSessionNotFound) {
		t.Fatalf("Load from an unreachable Redis = %v, want an error that is not ErrSessionNotFound", err)
	}
}
