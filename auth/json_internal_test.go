package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// referenceDuplicate decodes b token by token and reports whether an
// object repeats a name, exactly or under case folding: the slow, obvious
// version of decodeObject's member count.
func referenceDuplicate(b []byte) (dup bool, err error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	type frame struct {
		object bool
		names  []string
		key    bool // the next token is a name
	}
	var stack []*frame
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return dup, nil
		}
		if err != nil {
			return false, err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.key {
			if name, ok := tok.(string); ok {
				for _, n := range top.names {
					if strings.EqualFold(n, name) {
						dup = true
					}
				}
				top.names = append(top.names, name)
				top.key = false
				continue
			}
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{object: true, key: true})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
		// A value ended: the next token of the enclosing object is a name.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].key = true
		}
	}
}

func TestDecodeObjectMatchesReference(t *testing.T) {
	for _, s := range decodeSeeds {
		checkDecodeObject(t, []byte(s))
	}
}

var decodeSeeds = []string{
	`{}`, `{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"A":2}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":2}]}`,
	`{"a":"x:y","b":":"}`, `{"a\"b:":1,"c":"\\"}`, `{"\u0061":1,"a":2}`, `{"k":1,"\u212a":2}`, `{"s":1,"ſ":2}`,
	`{"x":"\ud83d\ude00"}`, ` {"a" : 1 , "b" : [ 1 , { "c" : null } ] } `, `{"a":{},"b":{}}`,
	`{"A1":1,"A2":2,"A3":3,"A4":4,"A5":5,"A6":6,"A7":7,"A8":8,"A9":9,"B1":1,"B2":2,"B3":3,"B4":4,"B5":5,"B6":6,"B7":7,"a9":0}`,
	`{"A1":1,"A2":2,"A3":3,"A4":4,"A5":5,"A6":6,"A7":7,"A8":8,"A9":9,"B1":1,"B2":2,"B3":3,"B4":4,"B5":5,"B6":6,"B7":7,"c9":0}`,
}

func checkDecodeObject(t *testing.T, b []byte) {
	t.Helper()
	m, e := decodeObject(b, "payload")
	switch {
	case !utf8.Valid(b) || loneSurrogate(b):
		if e == nil || e.Reason != ReasonBadUTF8 {
			t.Fatalf("%q: %v, want bad_utf8", b, e)
		}
		return
	case e != nil && e.Reason == ReasonBadJSON:
		var v map[string]any
		if json.Unmarshal(b, &v) == nil && v != nil {
			t.Fatalf("%q: bad_json for an object encoding/json decodes", b)
		}
		return
	}
	dup, err := referenceDuplicate(b)
	if err != nil {
		t.Fatalf("%q: decodeObject = %v, %v but the reference fails: %v", b, m, e, err)
	}
	if got := e != nil && e.Reason == ReasonDuplicateMember; got != dup || (e != nil && !got) {
		t.Fatalf("%q: decodeObject = %v, want duplicate %v", b, e, dup)
	}
}

// FuzzDecodeObject: decodeObject's member count agrees with a decoder
// that collects every name.
func FuzzDecodeObject(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkDecodeObject(t, b) })
}

func TestLoneSurrogate(t *testing.T) {
	for s, want := range map[string]bool{
		`"\ud800"`: true, `"\udbff\udc00"`: false, `"\udc00"`: true, `"\ud800\u0041"`: true, `"\ud800\ud800"`: true,
		`"\\ud800"`: false, `"\\\ud800"`: true, `"\"\ud800"`: true, `"a\nb"`: false, `"\u00e9"`: false, `"\ud800`: true,
		`"\ud83d\ude00\ud83d"`: true, `"\uD83D\uDE00"`: false, `"\`: false,
	} {
		if got := loneSurrogate([]byte(s)); got != want {
			t.Errorf("loneSurrogate(%s) = %v, want %v", s, got, want)
		}
	}
}

// TestIDTokenJSONRules: the key set go-oidc verifies ID tokens with holds
// their header and claims to the bearer tokens' JSON rules, so go-oidc's
// case-insensitive decoding never reads a claim this package reads
// differently.
func TestIDTokenJSONRules(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_900_000_000, 0)
	ks := &keySet{
		issuer: "https://op.example", ttl: time.Hour, cooldown: time.Minute, timeout: time.Second,
		now: func() time.Time { return now }, logger: slog.New(slog.DiscardHandler),
		keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256"}}, fetchedAt: now,
	}
	ver := oidc.NewVerifier("https://op.example", ks, &oidc.Config{ClientID: "app", SupportedSigningAlgs: DefaultAlgorithms, Now: func() time.Time { return now }})
	sign := func(header, payload string) string {
		in := b64.EncodeToString([]byte(header)) + "." + b64.EncodeToString([]byte(payload))
		d := sha256.Sum256([]byte(in))
		r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + b64.EncodeToString(sig)
	}
	claims := func(extra string) string {
		return fmt.Sprintf(`{"iss":"https://op.example","sub":"alice","aud":"app","exp":%d,"iat":%d,"nonce":"n1"%s}`, now.Add(time.Hour).Unix(), now.Unix(), extra)
	}
	hdr := `{"alg":"ES256","kid":"k1","typ":"JWT"}`
	tests := []struct {
		name, header, payload, reason string
	}{
		{"good", hdr, claims(""), ""},
		{"sub twice", hdr, claims(`,"sub":"mallory"`), ReasonDuplicateMember},
		{"NONCE beside nonce", hdr, claims(`,"NONCE":"n2"`), ReasonDuplicateMember},
		{"Sub beside sub", hdr, claims(`,"Sub":"mallory"`), ReasonDuplicateMember},
		{"0xFF in a claim", hdr, claims(`,"name":"a` + "\xff" + `"`), ReasonBadUTF8},
		{"lone surrogate", hdr, claims(`,"name":"\udc00"`), ReasonBadUTF8},
		// go-oidc has go-jose parse the header first, which refuses a name
		// repeated exactly (not one repeated in another case).
		{"kid twice", `{"alg":"ES256","kid":"k2","kid":"k1"}`, claims(""), "invalid protected header"},
		{"ALG beside alg", `{"alg":"ES256","kid":"k1","ALG":"none"}`, claims(""), ReasonDuplicateMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idt, err := ver.Verify(context.Background(), sign(tt.header, tt.payload))
			if tt.reason == "" {
				if err != nil || idt.Subject != "alice" {
					t.Fatalf("Verify = %v, %v", idt, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("go-oidc accepted the ID token: sub %q", idt.Subject)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Verify error = %v, want reason %s", err, tt.reason)
			}
		})
	}
}

// benchClaims is the payload of a typical access token (Keycloak-like).
var benchClaims = []byte(`{"exp":1900003600,"iat":1900000000,"auth_time":1899999000,"jti":"8c1a0f3e-3c9b-4a51-9e0a-6f1b2d7c9e11","iss":"https://login.example.com/realms/main","aud":["orders-api","account"],"sub":"f3b1c2d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d","typ":"Bearer","azp":"frontend-spa","sid":"3f1c","acr":"1","allowed-origins":["https://app.example.com"],"realm_access":{"roles":["offline_access","user"]},"resource_access":{"account":{"roles":["manage-account","view-profile"]}},"scope":"openid profile email","email_verified":true,"preferred_username":"alice","email":"alice@example.com"}`)

// BenchmarkDecodeClaims is the cost of the strict JSON rules (valid UTF-8,
// escapes, member count, case twins) over encoding/json's decoding, which
// the verifier did before them.
func BenchmarkDecodeClaims(b *testing.B) {
	b.Run("strict", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, e := decodeClaims(benchClaims); e != nil {
				b.Fatal(e)
			}
		}
	})
	b.Run("unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var m map[string]any
			if err := json.Unmarshal(benchClaims, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
