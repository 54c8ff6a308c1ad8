package telemetry

import (
	"strings"
	"testing"
)

// FuzzParseEnvLists feeds OTEL_RESOURCE_ATTRIBUTES and
// OTEL_EXPORTER_OTLP_HEADERS parsing arbitrary text: no panic, and a
// header error never quotes a value.
func FuzzParseEnvLists(f *testing.F) {
	for _, s := range []string{"", "a=b", "a=b,c=d", "k=%zz", "=x", "a", "api-key=s3cr3t%", ",,", "a=b=c", "é=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = parseResourceAttrs(s)
		h, err := parseHeaders(s)
		if err != nil {
			for _, part := range strings.Split(s, ",") {
				if _, v, ok := strings.Cut(part, "="); ok && len(v) > 8 && strings.Contains(err.Error(), v) {
					t.Fatalf("error %q quotes the value %q", err, v)
				}
			}
		}
		for k := range h {
			if !validHeaderName(k) {
				t.Fatalf("accepted header name %q", k)
			}
		}
	})
}
