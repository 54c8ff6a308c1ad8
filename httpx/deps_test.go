package httpx_test

import (
	"os/exec"
	"strings"
	"testing"
)

// A service that imports httpx and never uses Redis does not link
// go-redis: the Redis store lives in httpx/redislimit.
func TestNoRedisInCoreDeps(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "github.com/pavedroad/paved/httpx").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps printed %q", out)
	}
	for _, d := range deps {
		if strings.HasPrefix(d, "github.com/redis/") {
			t.Fatalf("httpx depends on %s", d)
		}
	}
}
