package secrets_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pavedroad/paved/secrets"
)

// dbCreds is an unexported type embedded in injectEmbedded: its exported
// fields are promoted and settable, as encoding/json treats them.
type dbCreds struct {
	User string `secret:"secret/db#user"`
}

type injectEmbedded struct {
	dbCreds
	Key string `secret:"secret/db#password"`
}

type injectHidden struct {
	Key   string `secret:"secret/db#password"`
	inner struct {
		User string `secret:"secret/db#user"`
	}
}

type injectUnexported struct {
	key string `secret:"secret/db#password"`
}

type injectPointer struct {
	Key *string `secret:"secret/db#password"`
}

// TestInjectFieldShapes: a tagged field is either filled or an error
// naming it, never silently skipped; no shape of argument panics.
func TestInjectFieldShapes(t *testing.T) {
	f, c, _ := fakeClient(t, nil)
	ctx := context.Background()
	f.Put("secret/db", map[string]any{"password": "pw", "user": "u"})

	var emb injectEmbedded
	if err := c.Inject(ctx, &emb); err != nil {
		t.Fatalf("Inject of an embedded unexported struct: %v", err)
	}
	if emb.User != "u" || emb.Key != "pw" {
		t.Fatalf("Inject filled %+v; want the embedded field too", emb)
	}

	var nilPtr *injectEmbedded
	var nilAny any
	for _, tc := range []struct {
		name, field string
		dst         any
	}{
		{"tagged field inside an unexported struct field", "injectHidden.inner.User", &injectHidden{}},
		{"unexported tagged field", "injectUnexported.key", &injectUnexported{}},
		{"pointer field", "injectPointer.Key", &injectPointer{}},
		{"nil pointer", "", nilPtr},
		{"nil interface", "", nilAny},
		{"pointer to a non-struct", "", new(string)},
		{"pointer to a pointer", "", &nilPtr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Inject(ctx, tc.dst)
			var e *secrets.Error
			if !errors.As(err, &e) || e.Reason != secrets.ReasonBadTarget || e.Field != tc.field {
				t.Fatalf("Inject = %v; want reason %s on field %q", err, secrets.ReasonBadTarget, tc.field)
			}
			if tc.field != "" && !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %q does not name the field", err)
			}
		})
	}
	if h := (injectHidden{}); h.Key != "" || h.inner.User != "" {
		t.Fatal("unreachable") // keeps the unexported fields used
	}
	if u := (injectUnexported{}); u.key != "" {
		t.Fatal("unreachable")
	}
}
