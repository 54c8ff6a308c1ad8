package secrets_test

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/pavedroad/paved/secrets"
)

func TestSecretNeverLeaks(t *testing.T) {
	const value = "hunter2-s3cr3t"
	s := secrets.NewSecret(value)
	type wrapper struct {
		Password secrets.Secret
		Ptr      *secrets.Secret
	}
	w := wrapper{Password: s, Ptr: &s}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s", "%-10v", "%T"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, w), fmt.Sprintf(verb, &s))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(s, w), s.String(), s.GoString())
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(j))
	txt, _ := s.MarshalText()
	outs = append(outs, string(txt))
	var logBuf bytes.Buffer
	l := slog.New(slog.NewJSONHandler(&logBuf, nil))
	l.Info("x", "secret", s, "wrapped", w)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("y", "secret", s)
	outs = append(outs, logBuf.String())
	var gb bytes.Buffer
	if err := gob.NewEncoder(&gb).Encode(w); err != nil {
		t.Fatal(err)
	}
	outs = append(outs, gb.String())
	for _, o := range outs {
		if strings.Contains(o, value) || strings.Contains(o, fmt.Sprintf("%x", value)) {
			t.Errorf("leaked: %q", o)
		}
	}
	if got := fmt.Sprintf("%v|%s|%#v|%q", s, s, s, s); got != "REDACTED|REDACTED|REDACTED|REDACTED" {
		t.Errorf("fmt = %q", got)
	}
	if string(j) != `{"Password":"REDACTED","Ptr":"REDACTED"}` {
		t.Errorf("json = %s", j)
	}
	// gob round trip yields empty secrets, never the value.
	var back wrapper
	if err := gob.NewDecoder(&gb).Decode(&back); err != nil {
		t.Fatal(err)
	}
	if !back.Password.IsZero() {
		t.Error("gob decoded a value")
	}
	if s.Reveal() != value || string(s.RevealBytes()) != value {
		t.Error("Reveal does not return the value")
	}
	if !(secrets.Secret{}).IsZero() || (secrets.Secret{}).Reveal() != "" {
		t.Error("zero Secret not empty")
	}
}

func TestParseRef(t *testing.T) {
	cases := []struct {
		in   string
		want secrets.Ref
		err  string
	}{
		{"secret/app#password", secrets.Ref{Path: "secret/app", Key: "password"}, ""},
		{"secret/app#password@3", secrets.Ref{Path: "secret/app", Key: "password", Version: 3}, ""},
		{"kv/team/db-1#url", secrets.Ref{Path: "kv/team/db-1", Key: "url"}, ""},
		{"secret/a.b_c~d#k=v,x:y", secrets.Ref{Path: "secret/a.b_c~d", Key: "k=v,x:y"}, ""},
		{"", secrets.Ref{}, "no #key"},
		{"secret/app", secrets.Ref{}, "no #key"},
		{"secret/app#", secrets.Ref{}, "empty key"},
		{"#key", secrets.Ref{}, "empty path"},
		{"secret#key", secrets.Ref{}, "names a mount"},
		{"/secret/app#k", secrets.Ref{}, "empty segment"},
		{"secret//app#k", secrets.Ref{}, "empty segment"},
		{"secret/app/#k", secrets.Ref{}, "empty segment"},
		{"secret/../sys#k", secrets.Ref{}, `".." segment`},
		{"secret/./app#k", secrets.Ref{}, `"." segment`},
		{"secret/app?version=2#k", secrets.Ref{}, "character outside"},
		{"secret/a p#k", secrets.Ref{}, "character outside"},
		{"secret/app#k/x", secrets.Ref{}, "key has a character"},
		{"secret/app#k#x", secrets.Ref{}, "key has a character"},
		{"secret/app#k@0", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@-1", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@+1", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@01", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@x", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#k@1@2", secrets.Ref{}, "not a decimal from 1"},
		{"secret/app#@1", secrets.Ref{}, "empty key"},
	}
	for _, tc := range cases {
		got, err := secrets.ParseRef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRef(%q) = %v, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("String() = %q; want %q", got.String(), tc.in)
		}
	}
}

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"secret/app#password", "secret/app#password@3", "kv/a/b/c#k", "a/b#c@99999999999999999999", "x/../y#k", "a/b#k@1@2", "a/b#\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := secrets.ParseRef(s)
		if err != nil {
			if len(err.Error()) > 300 {
				t.Fatalf("error too long (%d): echoes too much input", len(err.Error()))
			}
			return
		}
		// A parsed reference prints back to itself and parses again alike.
		if r.String() != s {
			t.Fatalf("String() = %q; input %q", r.String(), s)
		}
		r2, err := secrets.ParseRef(r.String())
		if err != nil || r2 != r {
			t.Fatalf("re-parse = %+v, %v; want %+v", r2, err, r)
		}
		if r.Version < 0 || r.Key == "" || r.Path == "" || strings.ContainsAny(r.Path+r.Key, "?# \x00%") {
			t.Fatalf("accepted a bad reference %+v", r)
		}
	})
}
