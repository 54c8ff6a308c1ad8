package secrets

import (
	"fmt"
	"strconv"
	"strings"
)

// A Ref names one key of a static (KV) secret: "mount/path#key", or
// "mount/path#key@version" for one version of a KV v2 secret.
//
//	secret/app#password        the current version's "password"
//	secret/app#password@3      version 3's "password" (KV v2 only)
//	kv/team/db#url             a KV v1 mount "kv/" (the mount is found by asking Vault)
//
// The path is Vault's logical path without "/v1/" and, for KV v2, without
// "data/": the client finds the mount and its version by asking Vault
// (sys/internal/ui/mounts, as the vault CLI does). A path is one or more
// segments of letters, digits and "-_.+=:,~" separated by single slashes,
// none of them "." or ".."; a key is one or more of those characters
// (no "/", "#" or "@"); a version is a decimal from 1.
type Ref struct {
	// Path is the secret's path, such as "secret/app".
	Path string
	// Key is the key within the secret, such as "password".
	Key string
	// Version is the KV v2 version; 0 means the current one.
	Version int
}

// ParseRef parses a reference. Its error wraps nothing and says what is
// wrong; [Client] methods return it inside an *[Error] of reason
// [ReasonBadReference].
func ParseRef(s string) (Ref, error) {
	path, rest, ok := strings.Cut(s, "#")
	if !ok {
		return Ref{}, fmt.Errorf("secret reference %q: no #key (want mount/path#key)", clip(s))
	}
	if err := checkPath(path); err != nil {
		return Ref{}, fmt.Errorf("secret reference %q: %w", clip(s), err)
	}
	key, ver, hasVer := strings.Cut(rest, "@")
	if key == "" {
		return Ref{}, fmt.Errorf("secret reference %q: empty key", clip(s))
	}
	for i := 0; i < len(key); i++ {
		if !pathChar(key[i]) {
			return Ref{}, fmt.Errorf("secret reference %q: key has a character outside [A-Za-z0-9-_.+=:,~]", clip(s))
		}
	}
	r := Ref{Path: path, Key: key}
	if hasVer {
		n, err := strconv.Atoi(ver)
		if err != nil || n < 1 || ver[0] == '+' || ver[0] == '0' {
			return Ref{}, fmt.Errorf("secret reference %q: version %q is not a decimal from 1", clip(s), clip(ver))
		}
		r.Version = n
	}
	return r, nil
}

// MustParseRef is ParseRef that panics on error, for references written in
// the program.
func MustParseRef(s string) Ref {
	r, err := ParseRef(s)
	if err != nil {
		panic(err)
	}
	return r
}

// String returns the reference in the syntax ParseRef reads.
func (r Ref) String() string {
	s := r.Path + "#" + r.Key
	if r.Version > 0 {
		s += "@" + strconv.Itoa(r.Version)
	}
	return s
}

func checkPath(p string) error {
	if p == "" {
		return fmt.Errorf("empty path")
	}
	if len(p) > 512 {
		return fmt.Errorf("path longer than 512 bytes")
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return fmt.Errorf("path has an empty segment (a leading, trailing or double slash)")
		case ".", "..":
			return fmt.Errorf("path has a %q segment", seg)
		}
		for i := 0; i < len(seg); i++ {
			if !pathChar(seg[i]) {
				return fmt.Errorf("path has a character outside [A-Za-z0-9-_.+=:,~/]")
			}
		}
	}
	if !strings.Contains(p, "/") {
		return fmt.Errorf("path %q names a mount but no secret (want mount/path)", p)
	}
	return nil
}

func pathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.+=:,~", c) >= 0
}

// clip bounds what an error echoes of untrusted input.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
