package httpx

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"github.com/pavedroad/paved"
)

// Forwarded-header names understood by [ClientIPConfig.Header].
const (
	HeaderXForwardedFor = "X-Forwarded-For"
	HeaderForwarded     = "Forwarded" // RFC 7239, the for= parameter
)

// maxForwardedHops bounds the work spent on one forwarded header: only the
// right-most hops are examined, and a chain of trusted proxies longer than
// that is treated as malformed (the peer address is used). Elements left of
// the first untrusted hop are never looked at, so a client cannot pad the
// header to push the server back to its proxy's address.
const maxForwardedHops = 32

// ClientIPConfig says whose forwarded headers to believe.
type ClientIPConfig struct {
	// TrustedProxies lists the proxies (addresses or CIDR prefixes, such
	// as "10.0.0.0/8" or "192.0.2.7") whose forwarded header is honoured.
	// Empty, the default, trusts no one: the client is the TCP peer.
	TrustedProxies []string
	// Header names the forwarded header to read from a trusted proxy:
	// "X-Forwarded-For" (the default) or "Forwarded" (RFC 7239).
	Header string
}

// clientIPResolver finds the client address of a request: the peer, or,
// when the peer is a trusted proxy, the right-most untrusted address of the
// forwarded header.
type clientIPResolver struct {
	trusted   []netip.Prefix
	forwarded bool // RFC 7239 instead of X-Forwarded-For
	header    string
}

func newClientIPResolver(cfg ClientIPConfig, prefix string) (*clientIPResolver, error) {
	ck := paved.ConfigCheck{Component: Component, Prefix: prefix}
	c := &clientIPResolver{header: HeaderXForwardedFor}
	switch http.CanonicalHeaderKey(strings.TrimSpace(cfg.Header)) {
	case "", HeaderXForwardedFor:
	case HeaderForwarded:
		c.forwarded, c.header = true, HeaderForwarded
	default:
		ck.Add("Header", fmt.Sprintf("%q is not a forwarded header httpx reads", cfg.Header),
			fmt.Sprintf("want %q (the default) or %q", HeaderXForwardedFor, HeaderForwarded))
	}
	for i, s := range cfg.TrustedProxies {
		p, err := parsePrefix(s)
		if err != nil {
			ck.Add(fmt.Sprintf("TrustedProxies[%d]", i), fmt.Sprintf("%q is not an address or prefix", s),
				"want an IP address or CIDR prefix, such as 192.0.2.7 or 10.0.0.0/8")
			continue
		}
		c.trusted = append(c.trusted, p)
	}
	if err := ck.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return netip.Prefix{}, fmt.Errorf("IPv4-mapped prefix too short")
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (c *clientIPResolver) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// resolve fills st's client address from r.
func (c *clientIPResolver) resolve(st *reqState, r *http.Request) {
	peer, peerHost := parsePeer(r.RemoteAddr)
	st.ipSet = true
	if c == nil || len(c.trusted) == 0 || !peer.IsValid() || !c.isTrusted(peer) {
		// Whatever an earlier resolver decided, this one does not trust
		// the peer, so neither may the request ID middleware.
		st.ip, st.ipKey, st.viaProxy = peer, addrKey(peer, peerHost), false
		return
	}
	st.viaProxy = true
	client := clientFromHeader(peer, r.Header[c.header], c.forwarded, c.isTrusted)
	if client == peer {
		st.ip, st.ipKey = peer, addrKey(peer, peerHost)
		return
	}
	st.ip, st.ipKey = client, addrKey(client, "")
}

// parsePeer parses a RemoteAddr of the form "host:port" without allocating.
func parsePeer(remote string) (netip.Addr, string) {
	host := remote
	if i := strings.LastIndexByte(remote, ':'); i >= 0 {
		host = remote[:i]
	}
	if len(host) >= 2 && host[0] == '[' && host[len(host)-1] == ']' {
		host = host[1 : len(host)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, ""
	}
	if a.Zone() != "" || a.Is4In6() {
		return a.WithZone("").Unmap(), ""
	}
	return a, host
}

// addrKey returns the rate-limit and log key of a: the address itself for
// IPv4, its /64 prefix for IPv6 (one subscriber usually holds a whole /64).
// host, when non-empty, is a's canonical text and is reused as is.
func addrKey(a netip.Addr, host string) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is4():
		if host != "" {
			return host
		}
		return a.String()
	default:
		p, _ := a.Prefix(64)
		return p.String()
	}
}

// clientFromHeader walks the forwarded header right to left, skipping
// trusted proxies, and returns the first untrusted address. A malformed
// element or an empty header met before it, or more than maxForwardedHops
// trusted hops, make it return peer.
func clientFromHeader(peer netip.Addr, values []string, forwarded bool, trusted func(netip.Addr) bool) netip.Addr {
	var last netip.Addr
	hops := 0
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		for more := true; more; {
			var elem string
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				elem, v = v[j+1:], v[:j]
			} else {
				elem, more = v, false
			}
			hops++
			if hops > maxForwardedHops {
				return peer
			}
			var a netip.Addr
			var ok bool
			if forwarded {
				a, ok = parseForwardedFor(elem)
			} else {
				a, ok = parseNode(strings.TrimSpace(elem))
			}
			if !ok {
				return peer
			}
			if !trusted(a) {
				return a
			}
			last = a
		}
	}
	if last.IsValid() {
		return last
	}
	return peer
}

// parseNode parses an address as proxies write it: "192.0.2.1",
// "192.0.2.1:443", "2001:db8::1", "[2001:db8::1]" or "[2001:db8::1]:443".
func parseNode(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, false
		}
		rest := s[end+1:]
		if rest != "" && !validPort(rest) {
			return netip.Addr{}, false
		}
		s = s[1:end]
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return netip.Addr{}, false
		}
		return a.WithZone("").Unmap(), true
	}
	if strings.Count(s, ":") == 1 {
		i := strings.IndexByte(s, ':')
		if !validPort(s[i:]) {
			return netip.Addr{}, false
		}
		s = s[:i]
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

// validPort reports whether s is ":" followed by 1 to 5 digits.
func validPort(s string) bool {
	if len(s) < 2 || len(s) > 6 || s[0] != ':' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseForwardedFor extracts the for= node of one RFC 7239 element.
func parseForwardedFor(elem string) (netip.Addr, bool) {
	for elem != "" {
		var pair string
		if j := strings.IndexByte(elem, ';'); j >= 0 {
			pair, elem = elem[:j], elem[j+1:]
		} else {
			pair, elem = elem, ""
		}
		pair = strings.TrimSpace(pair)
		k, v, ok := strings.Cut(pair, "=")
		if !ok || !strings.EqualFold(k, "for") {
			continue
		}
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		return parseNode(v)
	}
	return netip.Addr{}, false
}

// ResolveClientIP returns middleware that records the client address of
// each request, read with [ClientIP]: the TCP peer, or, when the peer is one
// of cfg.TrustedProxies, the right-most untrusted address in its forwarded
// header. A malformed header falls back to the peer. The [RequestID]
// middleware also accepts an inbound X-Request-Id only from a trusted proxy.
// Its error holds a [paved.ConfigError] for every faulty field.
func ResolveClientIP(cfg ClientIPConfig) (Middleware, error) {
	c, err := newClientIPResolver(cfg, "ClientIPConfig.")
	if err != nil {
		return nil, err
	}
	return c.middleware, nil
}

func (c *clientIPResolver) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, w, r := ensure(w, r)
		c.resolve(st, r)
		next.ServeHTTP(w, r)
	})
}

// ClientIP returns the client address of r as resolved by
// [ResolveClientIP] (or the server), else the TCP peer address. It returns
// the zero Addr when neither is known.
func ClientIP(r *http.Request) netip.Addr {
	if st := stateFrom(r.Context()); st != nil && st.ipSet {
		return st.ip
	}
	a, _ := parsePeer(r.RemoteAddr)
	return a
}

// clientKey returns the rate-limit key of r's client: the address, or its
// /64 for IPv6.
func clientKey(r *http.Request) string {
	if st := stateFrom(r.Context()); st != nil {
		if !st.ipSet {
			(*clientIPResolver)(nil).resolve(st, r)
		}
		return st.ipKey
	}
	a, host := parsePeer(r.RemoteAddr)
	return addrKey(a, host)
}
