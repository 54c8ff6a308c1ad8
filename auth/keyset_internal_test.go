package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestTryKeysAllAlgorithms: a token signed by go-jose with each allowed
// algorithm verifies through the key set's key selection and go-jose; a
// changed payload does not; a key of another type or curve under the
// token's kid is alg_key_mismatch, never a signature check.
func TestTryKeysAllAlgorithms(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	e256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	e521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	keys := map[string]crypto.Signer{
		"RS256": rk, "RS384": rk, "RS512": rk, "PS256": rk, "PS384": rk, "PS512": rk,
		"ES256": e256, "ES384": e384, "ES512": e521, "EdDSA": ed,
	}
	for _, alg := range DefaultAlgorithms {
		t.Run(alg, func(t *testing.T) {
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: keys[alg]},
				(&jose.SignerOptions{}).WithHeader("kid", "k1"))
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(`{"sub":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := obj.CompactSerialize()
			jws, err := jose.ParseSignedCompact(compact, allowedJOSE)
			if err != nil {
				t.Fatal(err)
			}
			set := []jose.JSONWebKey{{Key: keys[alg].Public(), KeyID: "k1"}}
			if payload, err := tryKeys(jws, alg, "k1", set); err != nil || string(payload) != `{"sub":"x"}` {
				t.Fatalf("%s token from go-jose: %q %v", alg, payload, err)
			}
			parts := strings.Split(compact, ".")
			forged, _ := jose.ParseSignedCompact(parts[0]+"."+b64.EncodeToString([]byte(`{"sub":"y"}`))+"."+parts[2], allowedJOSE)
			if _, err := tryKeys(forged, alg, "k1", set); reasonOf(err) != ReasonBadSignature {
				t.Fatalf("%s with a changed payload: %v, want bad_signature", alg, err)
			}
			for other, k := range keys {
				if group(other) == group(alg) {
					continue
				}
				_, err := tryKeys(jws, alg, "k1", []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1"}})
				if reasonOf(err) != ReasonAlgKeyMismatch {
					t.Fatalf("%s token with the %s key under its kid: %v, want alg_key_mismatch", alg, other, err)
				}
			}
			if _, err := tryKeys(jws, alg, "k1", []jose.JSONWebKey{{Key: keys[alg].Public(), KeyID: "other"}}); err != errNoKey {
				t.Fatalf("%s token with no key of its kid: %v, want errNoKey", alg, err)
			}
		})
	}
}

// group names the key a family of algorithms verifies with.
func group(alg string) string {
	switch {
	case alg[0] == 'R' || alg[0] == 'P':
		return "rsa"
	case alg == "ES256":
		return "p256"
	case alg == "ES384":
		return "p384"
	case alg == "ES512":
		return "p521"
	}
	return alg
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	smallJWK, _ := json.Marshal(jose.JSONWebKey{Key: &small.PublicKey, KeyID: "small"})
	doc := `{"keys":[
		{"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
		{"kty":"EC","crv":"P-256","use":"enc","kid":"enc","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
		` + string(smallJWK) + `,
		{"kty":"EC","crv":"P-256","kid":"ok","alg":"ES256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"},
		{"kty":"EC","crv":"P-256","kid":"hs-alg","alg":"HS256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}
	]}`
	keys, err := parseJWKS([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].KeyID != "ok" {
		var ids []string
		for _, k := range keys {
			ids = append(ids, k.KeyID)
		}
		t.Fatalf("kept keys %v, want only ok", ids)
	}
	if _, err := parseJWKS([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)); err == nil {
		t.Fatal("a key set with no usable key parsed")
	}
}
