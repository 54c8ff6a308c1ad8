package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth"
	"github.com/pavedroad/paved/auth/authtest"
)

// rawProvider is an issuer whose tokens are signed over header and payload
// bytes given verbatim, for tokens no JSON encoder writes: repeated or
// differently cased member names, invalid UTF-8, escaped surrogates.
type rawProvider struct {
	srv *httptest.Server
	es  *ecdsa.PrivateKey
	rs  *rsa.PrivateKey
	now time.Time
}

func newRawProvider(t *testing.T) *rawProvider {
	t.Helper()
	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &rawProvider{es: es, rs: rs, now: time.Unix(1_900_000_000, 0)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		iss := p.srv.URL
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": iss, "jwks_uri": iss + "/jwks", "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256", "RS256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &es.PublicKey, KeyID: "es1", Algorithm: "ES256", Use: "sig"},
			{Key: &rs.PublicKey, KeyID: "rs1", Algorithm: "RS256", Use: "sig"},
		}})
	})
	p.srv = httptest.NewTLSServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// sign signs header and payload, byte for byte, with the ES256 or RS256 key.
func (p *rawProvider) sign(t *testing.T, alg, header, payload string) string {
	t.Helper()
	input := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	d := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "ES256":
		r, s, err := ecdsa.Sign(rand.Reader, p.es, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case "RS256":
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, p.rs, crypto.SHA256, d[:]); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("alg %s", alg)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// claims returns a valid claims set with extra members (raw JSON, with a
// leading comma) appended.
func (p *rawProvider) claims(extra string) string {
	return fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"api","iat":%d,"exp":%d%s}`, p.srv.URL, p.now.Unix(), p.now.Add(time.Hour).Unix(), extra)
}

func (p *rawProvider) verifier(t *testing.T, mod ...func(*auth.Config)) *auth.Verifier {
	t.Helper()
	cfg := auth.Config{
		Issuers: []auth.Issuer{{URL: p.srv.URL}}, Audiences: []string{"api"}, HTTPClient: p.srv.Client(),
		Now: func() time.Time { return p.now }, Logger: quiet, Posture: &paved.Posture{}, Events: paved.NopSink{},
	}
	for _, m := range mod {
		m(&cfg)
	}
	v, err := auth.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const goodHeader = `{"alg":"ES256","kid":"es1","typ":"at+jwt"}`

type rawCase struct {
	name            string
	alg             string // signs with; default ES256
	header, payload string // default goodHeader, p.claims("")
	want            error  // nil: accepted
	reason          string
}

func runRawCases(t *testing.T, p *rawProvider, v *auth.Verifier, tests []rawCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alg, h, pl := tt.alg, tt.header, tt.payload
			if alg == "" {
				alg = "ES256"
			}
			if h == "" {
				h = goodHeader
			}
			if pl == "" {
				pl = p.claims("")
			}
			got, err := v.Verify(context.Background(), p.sign(t, alg, h, pl))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want it accepted", err)
				}
				return
			}
			if got != nil || !errors.Is(err, tt.want) || reason(err) != tt.reason {
				t.Fatalf("Verify = %+v, %v; want %v with reason %q", got, err, tt.want, tt.reason)
			}
		})
	}
}

// TestExactMemberNames: header and claims members are read by their exact,
// case-sensitive names (RFC 7515 section 4, RFC 7519 section 4), and an
// object with two members whose names are equal, or equal but for case,
// is refused: encoding/json, go-jose and other parsers disagree on which
// one counts.
func TestExactMemberNames(t *testing.T) {
	p := newRawProvider(t)
	v := p.verifier(t)
	dup := auth.ReasonDuplicateMember
	runRawCases(t, p, v, []rawCase{
		{name: "baseline", want: nil},
		{name: "ALG beside alg, ES256 signature", header: `{"alg":"RS256","kid":"es1","ALG":"ES256"}`, want: auth.ErrMalformed, reason: dup},
		{name: "ALG beside alg, typ set", header: `{"alg":"RS256","kid":"es1","typ":"at+jwt","ALG":"ES256"}`, want: auth.ErrMalformed, reason: dup},
		{name: "TYP at+jwt beside typ JWT", header: `{"alg":"ES256","kid":"es1","typ":"JWT","TYP":"at+jwt"}`, want: auth.ErrMalformed, reason: dup},
		{name: "TYP at+jwt without typ", header: `{"alg":"ES256","kid":"es1","TYP":"at+jwt"}`, want: auth.ErrClaims, reason: auth.ReasonWrongTyp},
		{name: "typ twice", header: `{"alg":"ES256","kid":"es1","typ":"JWT","typ":"at+jwt"}`, want: auth.ErrMalformed, reason: dup},
		{name: "alg twice", header: `{"alg":"RS256","alg":"ES256","kid":"es1","typ":"at+jwt"}`, want: auth.ErrMalformed, reason: dup},
		{name: "alg escaped twice", header: `{"alg":"ES256","kid":"es1","typ":"at+jwt","\u0061lg":"ES256"}`, want: auth.ErrMalformed, reason: dup},
		{name: "Kid beside kid", header: `{"alg":"ES256","Kid":"rs1","kid":"es1","typ":"at+jwt"}`, want: auth.ErrMalformed, reason: dup},
		{name: "ALG only", header: `{"ALG":"ES256","kid":"es1","typ":"at+jwt"}`, want: auth.ErrHeader, reason: auth.ReasonAlgNotAllowed},
		{name: "JKU is not jku", header: `{"alg":"ES256","kid":"es1","typ":"at+jwt","JKU":"https://attacker.example/jwks"}`, want: nil},
		{name: "sub twice", payload: p.claims(`,"sub":"admin"`), want: auth.ErrMalformed, reason: dup},
		{name: "SUB beside sub", payload: p.claims(`,"SUB":"admin"`), want: auth.ErrMalformed, reason: dup},
		{name: "Aud beside aud", payload: p.claims(`,"Aud":"other"`), want: auth.ErrMalformed, reason: dup},
		{name: "long s folds to s", payload: p.claims(`,"ſub":"admin"`), want: auth.ErrMalformed, reason: dup},
		{name: "EXP instead of exp", payload: fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"api","EXP":%d}`, p.srv.URL, p.now.Add(time.Hour).Unix()), want: auth.ErrClaims, reason: auth.ReasonMissingClaim},
		{name: "nested roles twice", payload: p.claims(`,"realm_access":{"roles":["user"],"roles":["admin"]}`), want: auth.ErrMalformed, reason: dup},
		{name: "object in an array", payload: p.claims(`,"x":[1,{"a":1,"A":2}]`), want: auth.ErrMalformed, reason: dup},
		{name: "punctuation in strings", payload: p.claims(`,"note":"a:b\"c{d}\\","we\"ird:":{"k":":"},"list":[":",{"a":"{"}]`), want: nil},
		{name: "same name in two objects", payload: p.claims(`,"a":{"sub":1},"b":{"sub":2}`), want: nil},
	})
}

// TestInvalidUTF8: a header or claims set that is not valid UTF-8 (RFC 7519
// section 7.2), or escapes half a surrogate pair, is refused instead of
// being read with U+FFFD in place of the bad bytes.
func TestInvalidUTF8(t *testing.T) {
	p := newRawProvider(t)
	v := p.verifier(t)
	bad := auth.ReasonBadUTF8
	claimsSub := func(sub string) string {
		return fmt.Sprintf(`{"iss":%q,"sub":"%s","aud":"api","exp":%d}`, p.srv.URL, sub, p.now.Add(time.Hour).Unix())
	}
	runRawCases(t, p, v, []rawCase{
		{name: "0xFF in sub", payload: claimsSub("ali\xffce"), want: auth.ErrMalformed, reason: bad},
		{name: "overlong slash in sub", payload: claimsSub("a\xc0\xafb"), want: auth.ErrMalformed, reason: bad},
		{name: "0xFF in a header member", header: `{"alg":"ES256","kid":"es1","typ":"at+jwt","x":"` + "\xff" + `"}`, want: auth.ErrMalformed, reason: bad},
		{name: "lone high surrogate", payload: claimsSub(`\ud800`), want: auth.ErrMalformed, reason: bad},
		{name: "lone low surrogate", payload: claimsSub(`x\uDC00y`), want: auth.ErrMalformed, reason: bad},
		{name: "high surrogate then a letter", payload: claimsSub(`\ud83dx`), want: auth.ErrMalformed, reason: bad},
		{name: "two high surrogates", payload: claimsSub(`\ud83d\ud83d`), want: auth.ErrMalformed, reason: bad},
		{name: "surrogate in a header", header: `{"alg":"ES256","kid":"es1","typ":"at+jwt","x":"\udfff"}`, want: auth.ErrMalformed, reason: bad},
		{name: "surrogate pair", payload: claimsSub(`\ud83d\ude00`), want: nil},
		{name: "escaped backslash before u", payload: claimsSub(`\\ud800`), want: nil},
		{name: "raw UTF-8", payload: claimsSub("żółw 🐢"), want: nil},
		{name: "literal U+FFFD", payload: claimsSub("\uFFFD"), want: nil},
	})
}

// TestReasonsSayWhatHappened: a zip header, and non-numeric exp, nbf and
// iat, each get their own reason.
func TestReasonsSayWhatHappened(t *testing.T) {
	p := newRawProvider(t)
	v := p.verifier(t)
	runRawCases(t, p, v, []rawCase{
		{name: "zip DEF", header: `{"alg":"ES256","kid":"es1","typ":"at+jwt","zip":"DEF"}`, want: auth.ErrHeader, reason: auth.ReasonUnsupportedZip},
		{name: "exp a string", payload: fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"api","exp":"never"}`, p.srv.URL), want: auth.ErrMalformed, reason: auth.ReasonBadExp},
		{name: "nbf a string", payload: p.claims(`,"nbf":"soon"`), want: auth.ErrMalformed, reason: auth.ReasonBadNbf},
		{name: "iat a string", payload: fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"api","exp":%d,"iat":"now"}`, p.srv.URL, p.now.Add(time.Hour).Unix()), want: auth.ErrMalformed, reason: auth.ReasonBadIat},
		{name: "exp null", payload: fmt.Sprintf(`{"iss":%q,"sub":"alice","aud":"api","exp":null}`, p.srv.URL), want: auth.ErrMalformed, reason: auth.ReasonBadExp},
	})
}

// TestKeycloakAccessToken: an access token shaped like Keycloak's (azp the
// client that asked for it, aud the API and "account", typ JWT or
// at+jwt) verifies by default; azp is restricted only when the issuer
// lists its AuthorizedParties.
func TestKeycloakAccessToken(t *testing.T) {
	srv := authtest.NewServer(t, authtest.Config{Algorithm: "RS256"})
	now := srv.Now()
	claims := map[string]any{
		"aud": []string{srv.Audience(), "account"}, "azp": "frontend-spa", "typ": "Bearer",
		"client_id": nil, "sid": "3f1c", "session_state": "3f1c", "acr": "1", "auth_time": now.Add(-time.Minute).Unix(),
		"allowed-origins": []string{"https://app.example.test"}, "scope": "openid profile email",
		"realm_access":       map[string]any{"roles": []string{"offline_access", "user"}},
		"resource_access":    map[string]any{"account": map[string]any{"roles": []string{"manage-account"}}},
		"preferred_username": "alice", "email_verified": true,
	}
	untyped := mustMint(t, srv, authtest.Token{Alg: "RS256", Header: map[string]any{"typ": "JWT"}, Claims: claims})
	typed := mustMint(t, srv, authtest.Token{Alg: "RS256", Claims: claims})
	optOut := []paved.OptOut{auth.AllowUntypedTokens("Keycloak sets typ JWT")}
	tests := []struct {
		name    string
		parties []string
		tok     string
		reason  string
	}{
		{"typ JWT, azp not restricted", nil, untyped, ""},
		{"typ at+jwt, azp not restricted", nil, typed, ""},
		{"azp among the parties", []string{"frontend-spa", "cli"}, untyped, ""},
		{"azp not among the parties", []string{"cli"}, untyped, auth.ReasonWrongAZP},
		{"no azp, client_id among the parties", []string{authtest.DefaultClientID}, srv.Mint(nil), ""},
		{"no azp, client_id not among the parties", []string{"cli"}, srv.Mint(nil), auth.ReasonWrongAZP},
		{"no azp nor client_id, parties set", []string{"cli"}, srv.Mint(map[string]any{"client_id": nil}), auth.ReasonWrongAZP},
		{"azp wins over client_id", []string{"frontend-spa"}, srv.Mint(map[string]any{"azp": "frontend-spa", "client_id": "other"}), ""},
		{"azp not a string", nil, srv.Mint(map[string]any{"azp": 42}), auth.ReasonWrongAZP},
		{"azp empty", nil, srv.Mint(map[string]any{"azp": ""}), auth.ReasonWrongAZP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, srv, func(c *auth.Config) {
				c.Issuers[0].AuthorizedParties = tt.parties
				c.Issuers[0].OptOuts = optOut
				c.Issuers[0].Claims.Roles = []string{"realm_access.roles"}
			})
			p, err := v.Verify(context.Background(), tt.tok)
			if tt.reason != "" {
				if p != nil || !errors.Is(err, auth.ErrClaims) || reason(err) != tt.reason {
					t.Fatalf("Verify = %+v, %v; want ErrClaims %s", p, err, tt.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if tt.tok != untyped {
				return
			}
			if p.Subject != authtest.DefaultSubject || !p.HasRole("user") || !p.HasScope("email") {
				t.Fatalf("principal = %+v", p)
			}
		})
	}
}
