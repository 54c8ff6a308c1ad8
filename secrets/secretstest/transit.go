package secretstest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pavedroad/paved/secrets"
)

// fakeTransit emulates Vault's transit engine: named keys with versions,
// encrypt/decrypt/rewrap (AES-256-GCM), sign/verify (Ed25519) and HMAC
// (HMAC-SHA256), with Vault's "vault:vN:" framing. It uses the standard
// library's crypto in memory: a test double, never a key store.
type fakeTransit struct {
	mu   sync.Mutex
	keys map[string]*transitKey
}

type transitKey struct {
	typ        string
	versions   []transitVersion // index i is version i+1
	minDecrypt int
	created    []time.Time
}

type transitVersion struct {
	aes  cipher.AEAD
	sign ed25519.PrivateKey
	hmac []byte
}

func newFakeTransit() *fakeTransit {
	t := &fakeTransit{keys: map[string]*transitKey{}}
	t.keys["paved"], _ = newTransitKey("aes256-gcm96")
	return t
}

func newTransitKey(typ string) (*transitKey, bool) {
	if typ == "" {
		typ = "aes256-gcm96"
	}
	if typ != "aes256-gcm96" && typ != "ed25519" {
		return nil, false
	}
	k := &transitKey{typ: typ, minDecrypt: 1}
	k.rotate()
	return k, true
}

func (k *transitKey) rotate() {
	v := transitVersion{hmac: randomBytes(32)}
	switch k.typ {
	case "aes256-gcm96":
		block, _ := aes.NewCipher(randomBytes(32))
		v.aes, _ = cipher.NewGCM(block)
	case "ed25519":
		_, v.sign, _ = ed25519.GenerateKey(rand.Reader)
	}
	k.versions = append(k.versions, v)
	k.created = append(k.created, time.Now())
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func (t *fakeTransit) handle(op, path string, data map[string]any) (*secrets.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	parts := strings.Split(path, "/")
	if len(parts) < 3 || parts[2] == "" {
		return nil, secrets.NewStatusError(op, path, 404)
	}
	name := parts[2]
	k := t.keys[name]
	bad := func(msg string) (*secrets.Response, error) { return nil, secrets.NewStatusError(op, path, 400, msg) }
	if parts[1] == "keys" {
		switch {
		case len(parts) == 3 && op == "write":
			if k != nil {
				return &secrets.Response{}, nil
			}
			typ, _ := data["type"].(string)
			nk, ok := newTransitKey(typ)
			if !ok {
				return bad("unknown key type " + typ)
			}
			t.keys[name] = nk
			return &secrets.Response{}, nil
		case len(parts) == 3 && op == "read":
			if k == nil {
				return nil, secrets.NewStatusError(op, path, 404)
			}
			versions := map[string]any{}
			for i, c := range k.created {
				versions[strconv.Itoa(i+1)] = json.Number(strconv.FormatInt(c.Unix(), 10))
			}
			return &secrets.Response{Data: map[string]any{
				"name": name, "type": k.typ, "keys": versions,
				"latest_version":         json.Number(strconv.Itoa(len(k.versions))),
				"min_decryption_version": json.Number(strconv.Itoa(k.minDecrypt)),
				"min_encryption_version": json.Number("0"),
				"supports_encryption":    k.typ == "aes256-gcm96", "supports_signing": k.typ == "ed25519",
			}}, nil
		case len(parts) == 4 && parts[3] == "rotate" && op == "write":
			if k == nil {
				return bad("key not found")
			}
			k.rotate()
			return &secrets.Response{}, nil
		case len(parts) == 4 && parts[3] == "config" && op == "write":
			if k == nil {
				return bad("key not found")
			}
			if v, ok := data["min_decryption_version"]; ok {
				n, err := intArg(v)
				if err != nil || n < 1 || n > len(k.versions) {
					return bad("invalid min_decryption_version")
				}
				k.minDecrypt = n
			}
			return &secrets.Response{}, nil
		case len(parts) == 3 && op == "delete":
			delete(t.keys, name)
			return &secrets.Response{}, nil
		}
		return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
	}
	if op != "write" || len(parts) != 3 {
		return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
	}
	if k == nil && parts[1] == "encrypt" {
		k, _ = newTransitKey("aes256-gcm96") // Vault upserts on encrypt
		t.keys[name] = k
	}
	if k == nil {
		return bad("encryption key not found")
	}
	version := len(k.versions)
	if v, ok := data["key_version"]; ok && v != nil {
		n, err := intArg(v)
		if err != nil || n < 0 || n > len(k.versions) {
			return bad("invalid key version")
		}
		if n > 0 {
			version = n
		}
	}
	kv := k.versions[version-1]
	input := func(field string) ([]byte, bool) {
		s, _ := data[field].(string)
		b, err := base64.StdEncoding.DecodeString(s)
		return b, err == nil
	}
	// framed splits "vault:vN:payload", checking the version may be used.
	framed := func(s string) (transitVersion, int, []byte, error) {
		rest, ok := strings.CutPrefix(s, "vault:v")
		ver, payload, ok2 := strings.Cut(rest, ":")
		n, err := strconv.Atoi(ver)
		if !ok || !ok2 || err != nil || n < 1 {
			return transitVersion{}, 0, nil, secrets.NewStatusError(op, path, 400, "invalid ciphertext: no prefix")
		}
		if n > len(k.versions) {
			return transitVersion{}, 0, nil, secrets.NewStatusError(op, path, 400, "invalid key version")
		}
		if n < k.minDecrypt {
			return transitVersion{}, 0, nil, secrets.NewStatusError(op, path, 400, "ciphertext or signature version is disallowed by policy (too old)")
		}
		raw, err := base64.StdEncoding.DecodeString(payload)
		if err != nil {
			return transitVersion{}, 0, nil, secrets.NewStatusError(op, path, 400, "invalid ciphertext: could not decode")
		}
		return k.versions[n-1], n, raw, nil
	}
	frame := func(v int, b []byte) string {
		return "vault:v" + strconv.Itoa(v) + ":" + base64.StdEncoding.EncodeToString(b)
	}
	versionNum := json.Number(strconv.Itoa(version))
	switch parts[1] {
	case "encrypt":
		if k.typ != "aes256-gcm96" {
			return bad("key type " + k.typ + " does not support encryption")
		}
		pt, ok := input("plaintext")
		if !ok {
			return bad("failed to base64-decode plaintext")
		}
		return &secrets.Response{Data: map[string]any{"ciphertext": frame(version, seal(kv.aes, pt)), "key_version": versionNum}}, nil
	case "decrypt", "rewrap":
		if k.typ != "aes256-gcm96" {
			return bad("key type " + k.typ + " does not support decryption")
		}
		ct, _ := data["ciphertext"].(string)
		v, _, raw, err := framed(ct)
		if err != nil {
			return nil, err
		}
		ns := v.aes.NonceSize()
		if len(raw) < ns {
			return bad("invalid ciphertext: nonce too short")
		}
		pt, oerr := v.aes.Open(nil, raw[:ns], raw[ns:], nil)
		if oerr != nil {
			return bad("cipher: message authentication failed")
		}
		if parts[1] == "decrypt" {
			return &secrets.Response{Data: map[string]any{"plaintext": base64.StdEncoding.EncodeToString(pt)}}, nil
		}
		return &secrets.Response{Data: map[string]any{"ciphertext": frame(version, seal(kv.aes, pt)), "key_version": versionNum}}, nil
	case "sign":
		if k.typ != "ed25519" {
			return bad("key type " + k.typ + " does not support signing")
		}
		in, ok := input("input")
		if !ok {
			return bad("unable to decode input as base64")
		}
		return &secrets.Response{Data: map[string]any{"signature": frame(version, ed25519.Sign(kv.sign, in)), "key_version": versionNum}}, nil
	case "hmac":
		in, ok := input("input")
		if !ok {
			return bad("unable to decode input as base64")
		}
		return &secrets.Response{Data: map[string]any{"hmac": frame(version, mac(kv.hmac, in))}}, nil
	case "verify":
		in, ok := input("input")
		if !ok {
			return bad("unable to decode input as base64")
		}
		if s, _ := data["hmac"].(string); s != "" {
			v, _, raw, err := framed(s)
			if err != nil {
				return nil, err
			}
			return &secrets.Response{Data: map[string]any{"valid": hmac.Equal(raw, mac(v.hmac, in))}}, nil
		}
		if k.typ != "ed25519" {
			return bad("key type " + k.typ + " does not support verification")
		}
		s, _ := data["signature"].(string)
		v, _, raw, err := framed(s)
		if err != nil {
			return nil, err
		}
		return &secrets.Response{Data: map[string]any{"valid": ed25519.Verify(v.sign.Public().(ed25519.PublicKey), in, raw)}}, nil
	}
	return nil, secrets.NewStatusError(op, path, 405, "unsupported operation")
}

func seal(a cipher.AEAD, pt []byte) []byte {
	nonce := randomBytes(a.NonceSize())
	return a.Seal(nonce, nonce, pt, nil)
}

func mac(key, in []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(in)
	return h.Sum(nil)
}

func intArg(v any) (int, error) {
	switch x := v.(type) {
	case int:
		return x, nil
	case int64:
		return int(x), nil
	case float64:
		return int(x), nil
	case json.Number:
		n, err := x.Int64()
		return int(n), err
	case string:
		return strconv.Atoi(x)
	}
	return 0, strconv.ErrSyntax
}
