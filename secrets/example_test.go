package secrets_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

func ExampleSecret() {
	pw := secrets.NewSecret("hunter2")
	b, _ := json.Marshal(map[string]any{"password": pw})
	fmt.Printf("%v %s %#v %q\n", pw, pw, pw, pw)
	fmt.Println(string(b))
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("connecting", "password", pw)
	fmt.Println(pw.Reveal())
	// Output:
	// REDACTED REDACTED REDACTED REDACTED
	// {"password":"REDACTED"}
	// level=INFO msg=connecting password=REDACTED
	// hunter2
}

func ExampleParseRef() {
	r, err := secrets.ParseRef("secret/app#password@3")
	fmt.Println(r.Path, r.Key, r.Version, err)
	_, err = secrets.ParseRef("secret/app")
	fmt.Println(err)
	// Output:
	// secret/app password 3 <nil>
	// secret reference "secret/app": no #key (want mount/path#key)
}

func ExampleClient_Inject() {
	ctx := context.Background()
	f := secretstest.New() // Vault in memory; use secrets.Config.Vault for a real one
	f.Put("secret/db", map[string]any{"user": "app", "password": "s3cret"})
	sid := f.AddAppRole("approle", "role-1")
	file, _ := os.CreateTemp("", "secret-id")
	defer os.Remove(file.Name())
	_, _ = file.WriteString(sid)
	_ = file.Close()

	c, err := secrets.New(ctx, secrets.Config{
		Backend: f,
		Login:   secrets.AppRoleLogin{RoleID: "role-1", SecretIDFile: file.Name()},
		Posture: &paved.Posture{},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	var cfg struct {
		User     string         `secret:"secret/db#user"`
		Password secrets.Secret `secret:"secret/db#password"`
		Token    string         `secret:"secret/db#token,optional"`
	}
	if err := c.Inject(ctx, &cfg); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v\n", cfg)
	fmt.Println(cfg.Password.Reveal())

	var missing struct {
		Key string `secret:"secret/db#api_key"`
	}
	fmt.Println(c.Inject(ctx, &missing))
	// Output:
	// {User:app Password:REDACTED Token:}
	// s3cret
	// secrets: inject field Key secret/db#api_key: missing_key: secrets: not found
}

func ExampleClient_Static() {
	ctx := context.Background()
	f := secretstest.New()
	f.Put("secret/api", map[string]any{"key": "k1"})
	c, _ := secrets.New(ctx, secrets.Config{Backend: f, Posture: &paved.Posture{},
		Login:   secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("example against the fake")}})
	defer c.Close(ctx)

	key, _ := c.Static(ctx, "secret/api#key")
	key.OnChange(func(old, new secrets.Secret) { fmt.Println("rotated:", old.Reveal(), "->", new.Reveal()) })
	v, _ := key.Value() // one atomic load: call it on every use
	fmt.Println(v.Reveal(), key.Version())

	f.Put("secret/api", map[string]any{"key": "k2"})
	_ = c.Refresh(ctx) // what every Config.RefreshInterval does
	v, _ = key.Value()
	fmt.Println(v.Reveal(), key.Version())
	// Output:
	// k1 1
	// rotated: k1 -> k2
	// k2 2
}
