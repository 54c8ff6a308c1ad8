package secretstest_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func localClient(t *testing.T, f *secretstest.Fake) *secrets.Client {
	t.Helper()
	c, err := secrets.New(context.Background(), secrets.Config{Backend: f, Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("local development")}, Posture: &paved.Posture{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

func TestLoadEnvAndFile(t *testing.T) {
	f := secretstest.New()
	err := f.LoadEnv("DEV_SECRET_", []string{
		"DEV_SECRET_DB=secret/db#password=pa=ss",
		"DEV_SECRET_USER=secret/db#user=app",
		"DEV_SECRET_OTHER=app/cfg#token=t1",
		"UNRELATED=secret/x#y=z",
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"files/api": {"key": "k1", "n": 3}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := f.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	c := localClient(t, f)
	for ref, want := range map[string]string{"secret/db#password": "pa=ss", "secret/db#user": "app", "app/cfg#token": "t1", "files/api#key": "k1", "files/api#n": "3"} {
		got, err := c.Get(context.Background(), ref)
		if err != nil || got.Reveal() != want {
			t.Errorf("%s = %q, %v; want %q", ref, got.Reveal(), err, want)
		}
	}
	if _, err := c.Get(context.Background(), "secret/x#y"); err == nil {
		t.Error("a variable without the prefix was loaded")
	}
	for _, bad := range []string{"DEV_SECRET_A=nohash", "DEV_SECRET_B=secret/db#k@2=v", "DEV_SECRET_C=secret/db#k"} {
		err := secretstest.New().LoadEnv("DEV_SECRET_", []string{bad + "-topsecret"})
		if err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("LoadEnv(%q) = %v; want an error that does not echo the value", bad, err)
		}
	}
}
