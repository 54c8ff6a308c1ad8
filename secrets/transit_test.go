package secrets_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func TestKeyVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"vault:v1:abc", 1},
		{"vault:v12:abc=", 12},
		{"vault:v999999999:x", 999999999},
		{"", 0}, {"vault:", 0}, {"vault:v", 0}, {"vault:v1", 0}, {"vault:v1:", 0}, {"vault:v:abc", 0},
		{"vault:v0:abc", 0}, {"vault:v01:abc", 0}, {"vault:v-1:abc", 0}, {"vault:v+1:abc", 0}, {"vault:vx:abc", 0},
		{"vault:v1000000000:abc", 0}, {"Vault:v1:abc", 0}, {"v1:abc", 0}, {" vault:v1:abc", 0},
	} {
		got, err := secrets.KeyVersion(tc.in)
		if got != tc.want || (tc.want == 0) != errors.Is(err, secrets.ErrBadCiphertext) {
			t.Errorf("KeyVersion(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzKeyVersion(f *testing.F) {
	for _, s := range []string{"vault:v1:abc", "vault:v0:", "vault:v99:x", "", "vault:v1:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := secrets.KeyVersion(s)
		if err != nil {
			if v != 0 || !errors.Is(err, secrets.ErrBadCiphertext) {
				t.Fatalf("KeyVersion(%q) = %d, %v", s, v, err)
			}
			return
		}
		prefix := "vault:v" + strconv.Itoa(v) + ":"
		if v < 1 || !strings.HasPrefix(s, prefix) || len(s) == len(prefix) {
			t.Fatalf("KeyVersion(%q) = %d", s, v)
		}
	})
}

// TestTransitNeverSendsBadNames: key names that would change the path are
// refused before any request.
func TestTransitNeverSendsBadNames(t *testing.T) {
	e := secretstest.NewEngines(secretstest.NewClock(time.Time{}))
	b := &countingBackend{engineBackend: engineBackend{e: e}}
	tr := secrets.NewTokenOps(b, "root").Transit("")
	ctx := context.Background()
	for _, name := range []string{"", "a/b", "../sys", "k?x=1", "k#f", "a b"} {
		if _, err := tr.Encrypt(ctx, name, []byte("x")); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("Encrypt with key %q: %v", name, err)
		}
		if _, err := tr.Key(ctx, name); !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("Key(%q): %v", name, err)
		}
	}
	if _, err := tr.Decrypt(ctx, "paved", "not framed"); !errors.Is(err, secrets.ErrBadCiphertext) {
		t.Errorf("Decrypt of an unframed value: %v", err)
	}
	if b.calls != 0 {
		t.Fatalf("%d requests for refused inputs, want 0", b.calls)
	}
	if tr2 := secrets.NewTokenOps(b, "root").Transit("/transit/"); tr2 == nil {
		t.Fatal("nil Transit")
	}
	ct, err := tr.Encrypt(ctx, "paved", nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := tr.Decrypt(ctx, "paved", ct); err != nil || len(pt) != 0 {
		t.Fatalf("empty plaintext round trip: %q, %v", pt, err)
	}
}

type countingBackend struct {
	engineBackend
	calls int
}

func (c *countingBackend) Read(ctx context.Context, token, path string) (*secrets.Response, error) {
	c.calls++
	return c.engineBackend.Read(ctx, token, path)
}

func (c *countingBackend) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	c.calls++
	return c.engineBackend.Write(ctx, token, path, data)
}

// blankTransit answers every transit request with an empty response, as
// a proxy or a misrouted mount may (Vault's api returns a nil secret for
// 204).
type blankTransit struct{ engineBackend }

func (b *blankTransit) Write(ctx context.Context, token, path string, data map[string]any) (*secrets.Response, error) {
	if strings.HasPrefix(path, "transit/") {
		return &secrets.Response{}, nil
	}
	return b.engineBackend.Write(ctx, token, path, data)
}

// TestTransitEmptyAnswerFails: an answer without its field is an error,
// never an empty plaintext or a valid signature.
func TestTransitEmptyAnswerFails(t *testing.T) {
	e := secretstest.NewEngines(secretstest.NewClock(time.Time{}))
	tr := secrets.NewTokenOps(&blankTransit{engineBackend{e: e}}, "root").Transit("")
	ctx := context.Background()
	if pt, err := tr.Decrypt(ctx, "paved", "vault:v1:AAAA"); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("Decrypt of an empty answer: %q, %v; want ErrInvalidRequest", pt, err)
	}
	if ok, err := tr.Verify(ctx, "paved", []byte("x"), "vault:v1:AAAA"); ok || !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("Verify of an empty answer: %v, %v", ok, err)
	}
	if ok, err := tr.VerifyHMAC(ctx, "paved", []byte("x"), "vault:v1:AAAA"); ok || !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Errorf("VerifyHMAC of an empty answer: %v, %v", ok, err)
	}
	for name, f := range map[string]func() (string, error){
		"Encrypt": func() (string, error) { return tr.Encrypt(ctx, "paved", []byte("x")) },
		"Rewrap":  func() (string, error) { return tr.Rewrap(ctx, "paved", "vault:v1:AAAA") },
		"Sign":    func() (string, error) { return tr.Sign(ctx, "paved", []byte("x")) },
		"HMAC":    func() (string, error) { return tr.HMAC(ctx, "paved", []byte("x")) },
	} {
		if v, err := f(); v != "" || !errors.Is(err, secrets.ErrInvalidRequest) {
			t.Errorf("%s of an empty answer: %q, %v", name, v, err)
		}
	}
}
