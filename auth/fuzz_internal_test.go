package auth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseJWKS feeds arbitrary documents to parseJWKS: it must never
// panic, and every key it keeps must be a public asymmetric signing key
// (RSA of 2048 bits or more, ECDSA, Ed25519) with no other use or
// algorithm.
func FuzzParseJWKS(f *testing.F) {
	for _, s := range []string{
		`{"keys":[]}`, `{}`, `[]`, `null`, `{"keys":null}`, `{"keys":[null,1,"x",{}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","kid":"ok","alg":"ES256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","use":"enc","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","d":"870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}`,
		`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`,
		`{"keys":[{"kty":"RSA","e":"AQAB","n":"` + strings.Repeat("A", 342) + `"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","alg":"HS256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`,
		`{"keys":[{"kty":"EC","crv":"P-256","x5c":["MIIB"],"x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		keys, err := parseJWKS(doc)
		if err != nil {
			if keys != nil {
				t.Fatal("keys with an error")
			}
			return
		}
		if len(keys) == 0 {
			t.Fatal("no keys and no error")
		}
		for _, k := range keys {
			if !k.IsPublic() {
				t.Fatalf("kept a private key (kid %q)", k.KeyID)
			}
			if k.Use != "" && k.Use != "sig" {
				t.Fatalf("kept a key for %q", k.Use)
			}
			if k.Algorithm != "" && !asymmetricAlgs[k.Algorithm] {
				t.Fatalf("kept a key for alg %q", k.Algorithm)
			}
			switch pk := k.Key.(type) {
			case *rsa.PublicKey:
				if pk.N.BitLen() < 2048 {
					t.Fatalf("kept a %d-bit RSA key", pk.N.BitLen())
				}
			case *ecdsa.PublicKey, ed25519.PublicKey:
			default:
				t.Fatalf("kept a %T", k.Key)
			}
		}
	})
}

// FuzzLocalPath checks the login redirect guard: whatever return_to
// says, the redirect that CallbackHandler sends stays on this site as a
// browser reads it, and localPath changes nothing it accepts.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{
		"", "/", "/app?x=1", "//evil.example/", `/\evil.example/`, "https://evil.example/", "/\t/evil.example/",
		"/\n/evil.example/", "\t//evil.example/", `/a/../\evil.example/`, "/a/..//evil.example/", "/./\\/evil.example",
		"/\x00/evil.example", "/%09/evil.example/", "/%2F/evil.example", "/%5C/evil.example", "/\u3000/evil", "/@evil.example",
		"/.//evil.example", "/;//evil", "/?//evil", "/#//evil", "/\xef\xbc\x8f/evil", "/..//evil", "/../../evil",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p)
		if got != "/" && got != p {
			t.Fatalf("localPath(%q) = %q: neither the input nor /", p, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("localPath(%q) = %q is not a local path", p, got)
		}
		// What the browser gets: the Location of http.Redirect, which
		// cleans the path, read as a browser reads it (tab and newline
		// dropped, backslash as slash, leading C0 controls and spaces
		// trimmed).
		w := httptest.NewRecorder()
		http.Redirect(w, httptest.NewRequest("GET", "/callback", nil), got, http.StatusSeeOther)
		loc := w.Header().Get("Location")
		seen := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
		seen = strings.TrimLeft(seen, " \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f")
		if !strings.HasPrefix(seen, "/") || strings.HasPrefix(seen, "//") {
			t.Fatalf("return_to %q redirects to %q, which a browser reads as %q: off-site", p, loc, seen)
		}
		if u, err := url.Parse(seen); err == nil && (u.Host != "" || u.Scheme != "") {
			t.Fatalf("return_to %q redirects to %q: host %q", p, loc, u.Host)
		}
	})
}
