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

// TestVerifySigAllAlgorithms checks the standard-library signature check
// against go-jose's signer for every allowed algorithm.
func TestVerifySigAllAlgorithms(t *testing.T) {
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
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: keys[alg]}, nil)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(`{"sub":"x"}`))
			if err != nil {
				t.Fatal(err)
			}
			compact, _ := obj.CompactSerialize()
			i := strings.LastIndexByte(compact, '.')
			sig, _ := b64.DecodeString(compact[i+1:])
			pub := keys[alg].Public()
			if !keyFitsAlg(pub, alg) || !verifySig(pub, alg, compact[:i], sig) {
				t.Fatalf("%s signature from go-jose does not verify", alg)
			}
			if verifySig(pub, alg, compact[:i]+"x", sig) {
				t.Fatalf("%s verified a modified input", alg)
			}
			for other, k := range keys {
				if group(other) != group(alg) && keyFitsAlg(k.Public(), alg) && verifySig(k.Public(), alg, compact[:i], sig) {
					t.Fatalf("%s verified with the %s key", alg, other)
				}
			}
		})
	}
	if verifySig(e256.Public(), "ES384", "a.b", make([]byte, 96)) {
		t.Fatal("ES384 accepted with a P-256 key")
	}
}

func group(alg string) string {
	if alg[0] == 'R' || alg[0] == 'P' {
		return "rsa"
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
