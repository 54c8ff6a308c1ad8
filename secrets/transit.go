package secrets

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadCiphertext is returned (wrapped) for a ciphertext, signature or
// HMAC that is not in Vault's "vault:vN:..." form.
var ErrBadCiphertext = errors.New("secrets: not a vault:vN: value")

// Transit is Vault's transit engine: encryption as a service. Vault holds
// the keys and does the cryptography; a Transit never sees key material.
// Every value it returns or accepts is framed as Vault frames it,
// "vault:v<key version>:<base64>", so it can be stored as is and rewrapped
// to the latest key version later. Build one with [Client.Transit].
type Transit struct {
	ops   leaseOps
	mount string
}

// Transit returns the transit engine mounted at mount ("transit" when
// empty).
func (c *Client) Transit(mount string) *Transit {
	return newTransit(c.leaseOps(), mount)
}

func newTransit(ops leaseOps, mount string) *Transit {
	return &Transit{ops: ops, mount: cmpOr(strings.Trim(mount, "/"), "transit")}
}

// KeyInfo describes a transit key's versions.
type KeyInfo struct {
	// Type is the key type, such as "aes256-gcm96" or "ed25519".
	Type string
	// Latest is the newest version: what Encrypt, Sign and HMAC use.
	Latest int
	// MinDecryption is the oldest version Decrypt and Verify accept.
	MinDecryption int
}

func (t *Transit) write(ctx context.Context, op, path string, data map[string]any) (map[string]any, error) {
	if strings.ContainsAny(path, "?#") || strings.Contains(path, "..") {
		return nil, fmt.Errorf("%w: transit path %q", ErrInvalidRequest, path)
	}
	var r *Response
	err := t.ops.call(ctx, "transit."+op, func(b Backend, token string) (err error) {
		r, err = b.Write(ctx, token, t.mount+"/"+path, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, nil
	}
	return r.Data, nil
}

func keyPath(op, key string) (string, error) {
	if key == "" || strings.ContainsAny(key, "/?# ") {
		return "", fmt.Errorf("%w: transit key name %q", ErrInvalidRequest, key)
	}
	return op + "/" + key, nil
}

func (t *Transit) field(ctx context.Context, op, key, field string, data map[string]any) (string, error) {
	p, err := keyPath(op, key)
	if err != nil {
		return "", err
	}
	out, err := t.write(ctx, op, p, data)
	if err != nil {
		return "", err
	}
	s, _ := out[field].(string)
	if s == "" {
		return "", fmt.Errorf("%w: transit %s answered without %s", ErrInvalidRequest, op, field)
	}
	return s, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func withVersion(data map[string]any, version int) map[string]any {
	if version > 0 {
		data["key_version"] = version
	}
	return data
}

// Encrypt encrypts plaintext with the latest version of key and returns
// Vault's ciphertext ("vault:v3:...").
func (t *Transit) Encrypt(ctx context.Context, key string, plaintext []byte) (string, error) {
	return t.EncryptVersion(ctx, key, 0, plaintext)
}

// EncryptVersion encrypts with version of key (0: the latest).
func (t *Transit) EncryptVersion(ctx context.Context, key string, version int, plaintext []byte) (string, error) {
	return t.field(ctx, "encrypt", key, "ciphertext", withVersion(map[string]any{"plaintext": b64(plaintext)}, version))
}

// Decrypt decrypts a ciphertext of key. A ciphertext of a version below
// the key's minimum decryption version is refused by Vault
// ([ErrInvalidRequest]).
func (t *Transit) Decrypt(ctx context.Context, key, ciphertext string) ([]byte, error) {
	if _, err := KeyVersion(ciphertext); err != nil {
		return nil, err
	}
	p, err := keyPath("decrypt", key)
	if err != nil {
		return nil, err
	}
	out, err := t.write(ctx, "decrypt", p, map[string]any{"ciphertext": ciphertext})
	if err != nil {
		return nil, err
	}
	// Vault always answers a string ("" for an empty plaintext); an answer
	// without one is not an empty plaintext.
	s, ok := out["plaintext"].(string)
	if !ok {
		return nil, fmt.Errorf("%w: transit decrypt answered without plaintext", ErrInvalidRequest)
	}
	pt, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: transit decrypt answered bad base64", ErrInvalidRequest)
	}
	return pt, nil
}

// Rewrap re-encrypts a ciphertext of key under its latest version without
// revealing the plaintext to the caller.
func (t *Transit) Rewrap(ctx context.Context, key, ciphertext string) (string, error) {
	if _, err := KeyVersion(ciphertext); err != nil {
		return "", err
	}
	return t.field(ctx, "rewrap", key, "ciphertext", map[string]any{"ciphertext": ciphertext})
}

// Sign signs input with the latest version of key (a signing key type,
// such as ed25519) and returns Vault's signature ("vault:v1:...").
func (t *Transit) Sign(ctx context.Context, key string, input []byte) (string, error) {
	return t.field(ctx, "sign", key, "signature", map[string]any{"input": b64(input)})
}

// Verify reports whether signature is key's signature of input. A
// malformed signature is an error, a wrong one is (false, nil).
func (t *Transit) Verify(ctx context.Context, key string, input []byte, signature string) (bool, error) {
	return t.verify(ctx, key, map[string]any{"input": b64(input), "signature": signature}, signature)
}

// HMAC returns the HMAC-SHA256 of input under the latest version of key
// ("vault:v1:...").
func (t *Transit) HMAC(ctx context.Context, key string, input []byte) (string, error) {
	return t.field(ctx, "hmac", key, "hmac", map[string]any{"input": b64(input)})
}

// VerifyHMAC reports whether mac is key's HMAC of input, compared by Vault
// in constant time.
func (t *Transit) VerifyHMAC(ctx context.Context, key string, input []byte, mac string) (bool, error) {
	return t.verify(ctx, key, map[string]any{"input": b64(input), "hmac": mac}, mac)
}

func (t *Transit) verify(ctx context.Context, key string, data map[string]any, framed string) (bool, error) {
	if _, err := KeyVersion(framed); err != nil {
		return false, err
	}
	p, err := keyPath("verify", key)
	if err != nil {
		return false, err
	}
	out, err := t.write(ctx, "verify", p, data)
	if err != nil {
		return false, err
	}
	v, ok := out["valid"].(bool)
	if !ok {
		return false, fmt.Errorf("%w: transit verify answered without valid", ErrInvalidRequest)
	}
	return v, nil
}

// Key describes key's versions.
func (t *Transit) Key(ctx context.Context, key string) (KeyInfo, error) {
	if _, err := keyPath("keys", key); err != nil {
		return KeyInfo{}, err
	}
	var r *Response
	err := t.ops.call(ctx, "transit.key", func(b Backend, token string) (err error) {
		r, err = b.Read(ctx, token, t.mount+"/keys/"+key)
		return err
	})
	if err != nil {
		return KeyInfo{}, err
	}
	if r == nil {
		return KeyInfo{}, fmt.Errorf("%w: transit key %s", ErrNotFound, key)
	}
	typ, _ := r.Data["type"].(string)
	return KeyInfo{Type: typ, Latest: number(r.Data["latest_version"]), MinDecryption: number(r.Data["min_decryption_version"])}, nil
}

// RotateKey adds a version to key; new encryptions use it, old
// ciphertexts still decrypt (down to the minimum decryption version).
func (t *Transit) RotateKey(ctx context.Context, key string) error {
	p, err := keyPath("keys", key)
	if err != nil {
		return err
	}
	_, err = t.write(ctx, "rotate", p+"/rotate", nil)
	return err
}

func number(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}

// KeyVersion returns the key version of a transit value ("vault:v3:..."
// is 3), or an error wrapping [ErrBadCiphertext].
func KeyVersion(framed string) (int, error) {
	rest, ok := strings.CutPrefix(framed, "vault:v")
	ver, payload, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || payload == "" || ver == "" || len(ver) > 9 {
		return 0, fmt.Errorf("%w", ErrBadCiphertext)
	}
	n, err := strconv.Atoi(ver)
	if err != nil || n < 1 || ver[0] == '0' || ver[0] == '+' {
		return 0, fmt.Errorf("%w", ErrBadCiphertext)
	}
	return n, nil
}
