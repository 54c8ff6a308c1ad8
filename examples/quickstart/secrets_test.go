package main

import (
	"encoding/json"
	"testing"
)

// /config serves secrets injected from secretstest (or Vault with
// VAULT_ADDR); the API key, a secrets.Secret, marshals as REDACTED.
func TestQuickstartConfigFromSecrets(t *testing.T) {
	qs := startQuickstart(t)
	resp, err := qs.client.Get(qs.url + "/config")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got["greeting"] == "" || got["api_key"] != "REDACTED" || got["source"] == "" {
		t.Fatalf("/config = %v; want a greeting, a REDACTED api_key and a source", got)
	}
	r2, err := qs.client.Get(qs.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("/readyz = %d with the secrets check", r2.StatusCode)
	}
}
