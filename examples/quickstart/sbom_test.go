package main

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

func TestQuickstartSBOM(t *testing.T) {
	qs := startQuickstart(t)
	tests := []struct {
		auth, accept string
		status       int
		contentType  string
		field        string // a top-level member the document must have
	}{
		{"", "", http.StatusUnauthorized, "", ""},
		{"Bearer not.a.token", "", http.StatusUnauthorized, "", ""},
		{"Bearer " + qs.token, "", http.StatusOK, "application/spdx+json", "spdxVersion"},
		{"Bearer " + qs.token, "application/vnd.cyclonedx+json", http.StatusOK, "application/vnd.cyclonedx+json; version=1.6", "bomFormat"},
		{"Bearer " + qs.token, "application/vnd.in-toto+json", http.StatusOK, "application/vnd.in-toto+json", "predicateType"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodGet, qs.url+"/.well-known/sbom", nil)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		if tt.accept != "" {
			req.Header.Set("Accept", tt.accept)
		}
		resp, err := qs.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%q %q: status %d, want %d", tt.auth, tt.accept, resp.StatusCode, tt.status)
			continue
		}
		if tt.status != http.StatusOK {
			continue
		}
		var doc map[string]any
		if ct := resp.Header.Get("Content-Type"); ct != tt.contentType || json.Unmarshal(body, &doc) != nil || doc[tt.field] == nil || resp.Header.Get("ETag") == "" {
			t.Errorf("%q: Content-Type %q ETag %q, member %s missing or not JSON", tt.accept, ct, resp.Header.Get("ETag"), tt.field)
		}
	}
}
