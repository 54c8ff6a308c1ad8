package testenv

import "testing"

func TestIntegration(t *testing.T) {
	for _, tt := range []struct {
		v    string
		want bool
	}{{"", false}, {"0", false}, {"1", true}, {"true", true}, {"TRUE", true}, {"yes", false}} {
		t.Setenv(EnvIntegration, tt.v)
		if got := Integration(); got != tt.want {
			t.Errorf("Integration() with %q = %v, want %v", tt.v, got, tt.want)
		}
	}
}
