package httpx

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientFromHeader(t *testing.T) {
	r, err := newClientIPResolver(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	fwd, err := newClientIPResolver(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}, Header: "forwarded"}, "")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		res    *clientIPResolver
		peer   string
		values []string
		want   string
		key    string
	}{
		{"no header", r, "10.0.0.1:1", nil, "10.0.0.1", "10.0.0.1"},
		{"untrusted peer ignored", r, "203.0.113.5:1", []string{"198.51.100.1"}, "203.0.113.5", "203.0.113.5"},
		{"single hop", r, "10.0.0.1:1", []string{"198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
		{"right to left skips proxies", r, "10.0.0.1:1", []string{"198.51.100.1, 203.0.113.9, 10.2.3.4, 192.0.2.7"}, "203.0.113.9", "203.0.113.9"},
		{"spoofed left part ignored", r, "10.0.0.1:1", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1", "198.51.100.1"},
		{"multiple header lines", r, "10.0.0.1:1", []string{"1.1.1.1", "198.51.100.2, 10.9.9.9"}, "198.51.100.2", "198.51.100.2"},
		{"all trusted gives leftmost", r, "10.0.0.1:1", []string{"10.1.1.1, 10.2.2.2"}, "10.1.1.1", "10.1.1.1"},
		{"malformed falls back to peer", r, "10.0.0.1:1", []string{"198.51.100.1, garbage"}, "10.0.0.1", "10.0.0.1"},
		{"empty element falls back", r, "10.0.0.1:1", []string{"198.51.100.1,,"}, "10.0.0.1", "10.0.0.1"},
		{"empty header falls back", r, "10.0.0.1:1", []string{""}, "10.0.0.1", "10.0.0.1"},
		{"with port", r, "10.0.0.1:1", []string{"198.51.100.1:4711"}, "198.51.100.1", "198.51.100.1"},
		{"bad port falls back", r, "10.0.0.1:1", []string{"198.51.100.1:47x1"}, "10.0.0.1", "10.0.0.1"},
		{"ipv6 grouped by /64", r, "10.0.0.1:1", []string{"2001:db8:1:2:3:4:5:6"}, "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"bracketed ipv6 with port", r, "10.0.0.1:1", []string{"[2001:db8::9]:443"}, "2001:db8::9", "2001:db8::/64"},
		{"ipv4-mapped unmapped", r, "10.0.0.1:1", []string{"::ffff:198.51.100.3"}, "198.51.100.3", "198.51.100.3"},
		{"zone stripped", r, "10.0.0.1:1", []string{"fe80::1%eth0"}, "fe80::1", "fe80::/64"},
		{"trusted ipv6 proxy", r, "[2001:db8:ffff::1]:1", []string{"198.51.100.4"}, "198.51.100.4", "198.51.100.4"},
		{"ipv6 peer key", r, "[2001:db8:aaaa:bbbb::1]:1", nil, "2001:db8:aaaa:bbbb::1", "2001:db8:aaaa:bbbb::/64"},
		{"mapped peer", r, "[::ffff:10.0.0.1]:1", []string{"198.51.100.5"}, "198.51.100.5", "198.51.100.5"},
		{"bad peer", r, "pipe", nil, "invalid IP", "unknown"},
		{"too many hops", r, "10.0.0.1:1", []string{strings.Repeat("10.0.0.2,", 40) + "10.0.0.3"}, "10.0.0.1", "10.0.0.1"},
		// A client cannot pad its header to make the server fall back to
		// the proxy's address (and so spend the proxy's shared limit).
		{"long spoofed prefix", r, "10.0.0.1:1", []string{strings.Repeat("1.1.1.1,", 40) + "198.51.100.9"}, "198.51.100.9", "198.51.100.9"},
		{"long spoofed garbage", r, "10.0.0.1:1", []string{strings.Repeat("x,", 40) + "198.51.100.9, 10.0.0.2"}, "198.51.100.9", "198.51.100.9"},
		{"forwarded", fwd, "10.0.0.1:1", []string{`for=198.51.100.1;proto=https, for="[2001:db8::1]:80";by=10.0.0.1`}, "2001:db8::1", "2001:db8::/64"},
		{"forwarded skips trusted", fwd, "10.0.0.1:1", []string{`for=198.51.100.1, For=10.3.3.3`}, "198.51.100.1", "198.51.100.1"},
		{"forwarded unknown", fwd, "10.0.0.1:1", []string{`for=unknown`}, "10.0.0.1", "10.0.0.1"},
		{"forwarded without for", fwd, "10.0.0.1:1", []string{`proto=https`}, "10.0.0.1", "10.0.0.1"},
		{"forwarded obfuscated", fwd, "10.0.0.1:1", []string{`for=_hidden`}, "10.0.0.1", "10.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/", nil)
			req.RemoteAddr = tt.peer
			if tt.values != nil {
				req.Header[tt.res.header] = tt.values
			}
			st := &reqState{}
			tt.res.resolve(st, req)
			if st.ip.String() != tt.want || st.ipKey != tt.key {
				t.Fatalf("client = %v key %q, want %s key %q", st.ip, st.ipKey, tt.want, tt.key)
			}
		})
	}
}

// FuzzClientIP checks that no forwarded header makes the resolver panic,
// return an address the header did not contain, or pick a trusted proxy
// while an untrusted hop exists.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"198.51.100.1", "1.1.1.1, 10.0.0.2", "[2001:db8::1]:80", "for=1.2.3.4;proto=http", `for="[::1]"`, ",,", "::ffff:1.2.3.4%x", "300.1.1.1",
		strings.Repeat("1.1.1.1,", 40) + "198.51.100.1", strings.Repeat("10.0.0.2,", 40) + "10.0.0.3"} {
		f.Add(s, false)
		f.Add(s, true)
	}
	r, _ := newClientIPResolver(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}}, "")
	fwd, _ := newClientIPResolver(ClientIPConfig{TrustedProxies: []string{"10.0.0.0/8"}, Header: HeaderForwarded}, "")
	peer := netip.MustParseAddr("10.0.0.1")
	f.Fuzz(func(t *testing.T, header string, forwarded bool) {
		res := r
		if forwarded {
			res = fwd
		}
		got := clientFromHeader(peer, []string{header}, forwarded, res.isTrusted)
		if !got.IsValid() {
			t.Fatalf("invalid address for %q", header)
		}
		if got.Zone() != "" || got.Is4In6() {
			t.Fatalf("address %v not normalized", got)
		}
		if want := naiveClient(peer, header, forwarded, res.isTrusted); got != want {
			t.Fatalf("client of %q = %v, reference says %v", header, got, want)
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = "10.0.0.1:1234"
		req.Header[res.header] = []string{header}
		st := &reqState{}
		res.resolve(st, req)
		if st.ipKey == "" {
			t.Fatal("empty key")
		}
	})
}

// naiveClient is a straightforward reference for clientFromHeader.
func naiveClient(peer netip.Addr, header string, forwarded bool, trusted func(netip.Addr) bool) netip.Addr {
	elems := strings.Split(header, ",")
	var last netip.Addr
	for j := len(elems) - 1; j >= 0; j-- {
		if len(elems)-j > maxForwardedHops {
			return peer // only the right-most hops are examined
		}
		var a netip.Addr
		var ok bool
		if forwarded {
			a, ok = parseForwardedFor(elems[j])
		} else {
			a, ok = parseNode(strings.TrimSpace(elems[j]))
		}
		if !ok {
			return peer
		}
		if !trusted(a) {
			return a
		}
		last = a
	}
	return last
}

// FuzzRedactQuery checks that redaction never panics, keeps the query's
// shape (same separators), and leaves no value of a secret-looking
// parameter behind.
func FuzzRedactQuery(f *testing.F) {
	for _, s := range []string{"", "a=1", "token=x&b=2", "a=1;code=2;", "%74oken=x", "=x&&;", "password"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		got := RedactQuery(q)
		if strings.Count(got, "&") != strings.Count(q, "&") || strings.Count(got, ";") != strings.Count(q, ";") {
			t.Fatalf("RedactQuery(%q) = %q changed the separators", q, got)
		}
		for _, part := range strings.FieldsFunc(got, func(r rune) bool { return r == '&' || r == ';' }) {
			if k, v, ok := strings.Cut(part, "="); ok && secretParam(k) && v != "REDACTED" {
				t.Fatalf("RedactQuery(%q) = %q leaves %q", q, got, part)
			}
		}
	})
}
