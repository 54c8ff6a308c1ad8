package authtest

import (
	"strings"
	"testing"
)

// TestInvalidTokenVerdict: a served token always fails; a refusal other
// than 401 invalid_token fails unless declared, and a declared deviation
// that is no longer seen fails too.
func TestInvalidTokenVerdict(t *testing.T) {
	const chal = `Bearer error="invalid_token", error_description="x"`
	tests := []struct {
		name      string
		status    int
		challenge string
		body      map[string]any
		dev       string
		want      verdict
		msg       string
	}{
		{"401 invalid_token", 401, chal, nil, "", verdictPass, ""},
		{"scheme case-insensitive", 401, `bearer error="invalid_token"`, nil, "", verdictPass, ""},
		{"served", 200, "", map[string]any{"sub": "alice"}, "", verdictFail, "userinfo accepted the token: 200"},
		{"served though declared", 200, "", map[string]any{"sub": "alice"}, "known", verdictFail, "userinfo accepted the token"},
		{"claims on an error status", 400, "", map[string]any{"sub": "alice"}, "known", verdictFail, "userinfo accepted the token"},
		{"500", 500, "", nil, "", verdictFail, "userinfo = 500"},
		{"401 without challenge", 401, "", nil, "", verdictFail, "userinfo = 401"},
		{"401 with another error", 401, `Bearer error="insufficient_scope"`, nil, "", verdictFail, "userinfo = 401"},
		{"403 invalid_token", 403, chal, nil, "", verdictFail, "userinfo = 403"},
		{"500 declared", 500, "", nil, "known", verdictSkip, "declared deviation: known"},
		{"declared but fixed", 401, chal, nil, "known", verdictFail, "no longer seen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, msg := invalidTokenVerdict(tt.status, tt.challenge, tt.body, tt.dev)
			if v != tt.want || !strings.Contains(msg, tt.msg) {
				t.Fatalf("verdict %v %q, want %v containing %q", v, msg, tt.want, tt.msg)
			}
		})
	}
}
