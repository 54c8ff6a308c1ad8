package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/policy"
)

func TestQuickstartPolicyRoutes(t *testing.T) {
	qs := startQuickstart(t)
	for _, tt := range []struct {
		method, path string
		token        bool
		status       int
	}{
		{"GET", "/docs/1", true, http.StatusOK},
		{"GET", "/docs/2", true, http.StatusForbidden},
		{"DELETE", "/docs/1", true, http.StatusForbidden},
		{"GET", "/docs/1", false, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(tt.method, qs.url+tt.path, nil)
		if tt.token {
			req.Header.Set("Authorization", "Bearer "+qs.token)
		}
		resp, err := qs.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d: %s", tt.method, tt.path, resp.StatusCode, tt.status, body)
			continue
		}
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		switch tt.status {
		case http.StatusOK:
			if m["id"] != "1" || m["allowed_by"] != "docs" || len(m["decision_id"].(string)) != 32 {
				t.Errorf("%s %s: body %s", tt.method, tt.path, body)
			}
		case http.StatusForbidden:
			if resp.Header.Get("Content-Type") != "application/problem+json" || len(m["decision_id"].(string)) != 32 {
				t.Errorf("%s %s: %s %s", tt.method, tt.path, resp.Header.Get("Content-Type"), body)
			}
		}
	}
}

// The same posture in production: the development certificate stops it.
func TestQuickstartConfigCheckInProduction(t *testing.T) {
	posture := &paved.Posture{}
	reg := posture.Register("httpx", "1")
	reg.SetControl("tls-certificate", false, "development CA (opt-out)")
	_, err := policy.CheckConfig(context.Background(), policy.ConfigCheckConfig{Posture: posture})
	var cde *policy.ConfigDeniedError
	if !errors.As(err, &cde) || len(cde.Violations) == 0 || cde.Violations[0].Rule != "dev-certificate" {
		t.Fatalf("err = %v, want the dev-certificate rule", err)
	}
}
