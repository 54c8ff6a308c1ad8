package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, must
// always answer an *auth.Error with a reason on rejection, must never echo
// the token in the error, and may accept only the signed header and
// payload of a token the provider minted.
func FuzzVerify(f *testing.F) {
	start := time.Unix(1_900_000_000, 0)
	srv := authtest.NewServer(f, authtest.Config{Now: func() time.Time { return start }})
	v := newVerifier(f, srv)
	es := srv.Mint(nil)
	rs, _ := srv.MintToken(authtest.Token{Alg: "RS256"})
	valid := map[string]bool{}
	for _, tok := range []string{es, rs} {
		valid[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	none, _ := srv.MintToken(authtest.Token{Alg: "none"})
	for _, s := range []string{"", ".", "..", "a.b.c", none, es + ".", strings.Repeat(".", 100), "e30.e30.e30", srv.MintIDToken(nil)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := v.Verify(context.Background(), tok)
		if err == nil {
			i := strings.LastIndexByte(tok, '.')
			if p == nil || i < 0 || !valid[tok[:i]] {
				t.Fatalf("accepted a token the provider did not sign: %q", tok)
			}
			return
		}
		var e *auth.Error
		if p != nil || !errors.As(err, &e) || e.Reason == "" {
			t.Fatalf("rejection without a typed reason: %v", err)
		}
		if len(tok) >= 16 && strings.Contains(err.Error(), tok) {
			t.Fatalf("error echoes the token: %v", err)
		}
	})
}
