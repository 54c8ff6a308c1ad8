package secretstest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/backoff"
	"github.com/pavedroad/paved/secrets"
)

// An EngineTarget is a Vault, real or fake, for [RunEngineConformance].
type EngineTarget struct {
	// Client is the client under test; the leases it creates are its
	// token's.
	Client *secrets.Client
	// Admin and AdminToken set up roles and keys and count leases
	// (listing sys/leases/lookup needs sudo: a root token).
	Admin      secrets.Backend
	AdminToken string
	// Name is unique to this run: every role, key and mount-relative
	// name the suite creates starts with it, so runs do not collide.
	Name string
	// Database, when set, is written to database/config/<Name> (with
	// plugin_name, connection_url, username and password, as Vault's
	// database engine wants them), and the suite's database roles use it.
	// A fake needs none.
	Database map[string]any
	// DBLogin logs in to the database with issued credentials and runs a
	// query: PostgreSQL in the integration run, [Engines.ValidLogin] for
	// the fake.
	DBLogin func(ctx context.Context, username, password string) error
	// Sleep lets d pass on the target's clock: time.Sleep for a real
	// Vault, [Clock.Advance] in small steps for the fake.
	Sleep func(d time.Duration)
	// Clock is the client's clock (nil: the system clock).
	Clock secrets.Clock
}

// RunEngineConformance runs the cases every backend of dynamic secrets,
// PKI and transit must pass, against the fake in unit tests and against
// Vault's dev server in the integration run:
//
//   - Dynamic: database credentials that log in, renewed at 2/3 of their
//     lease, rotated before max TTL while logins keep working, the old
//     lease revoked once the new one is in use, never more than two
//     leases, none left after Close (counted in sys/leases/lookup);
//   - PKI: a certificate from a PKI role served by a live httpx server and
//     accepted by a client that trusts only the mount's CA, refused by a
//     client that does not, and rotated at 2/3 of its lifetime without a
//     restart; on a real clock, mutual TLS with ClientCAs = the mount's CA
//     and the source as the client's certificate;
//   - Transit: encrypt and decrypt, key rotation with versioned
//     ciphertexts, rewrap, a minimum decryption version, sign and verify,
//     HMAC, malformed values refused.
func RunEngineConformance(t *testing.T, tgt EngineTarget) {
	t.Run("Dynamic", func(t *testing.T) { dynamicCase(t, tgt) })
	t.Run("PKI", func(t *testing.T) { pkiCase(t, tgt) })
	t.Run("Transit", func(t *testing.T) { transitCase(t, tgt) })
}

// CountLeases returns how many live leases Vault holds under prefix (such
// as "database/creds/app/"), listing sys/leases/lookup/<prefix> with a
// token that may (root, or sudo on that path). No lease is 0, not an error.
func CountLeases(ctx context.Context, b secrets.Backend, token, prefix string) (int, error) {
	prefix = strings.Trim(prefix, "/") + "/"
	r, err := b.List(ctx, token, "sys/leases/lookup/"+prefix)
	if errors.Is(err, secrets.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	keys, _ := r.Data["keys"].([]any)
	n := 0
	for _, k := range keys {
		s, _ := k.(string)
		if strings.HasSuffix(s, "/") {
			m, err := CountLeases(ctx, b, token, prefix+s)
			if err != nil {
				return 0, err
			}
			n += m
			continue
		}
		n++
	}
	return n, nil
}

func (tgt EngineTarget) admin(t *testing.T, path string, data map[string]any) {
	t.Helper()
	if _, err := tgt.Admin.Write(context.Background(), tgt.AdminToken, path, data); err != nil {
		t.Fatalf("setting up %s: %v", path, err)
	}
}

func (tgt EngineTarget) leases(t *testing.T, prefix string) int {
	t.Helper()
	n, err := CountLeases(context.Background(), tgt.Admin, tgt.AdminToken, prefix)
	if err != nil {
		t.Fatalf("counting leases under %s: %v", prefix, err)
	}
	return n
}

// sleepUntil lets time pass in steps of step until cond holds, failing
// after limit.
func (tgt EngineTarget) sleepUntil(t *testing.T, what string, step, limit time.Duration, cond func() bool) {
	t.Helper()
	for waited := time.Duration(0); !cond(); waited += step {
		if waited > limit {
			t.Fatalf("%s: not after %s", what, limit)
		}
		tgt.Sleep(step)
	}
}

func dynamicCase(t *testing.T, tgt EngineTarget) {
	ctx := context.Background()
	role := tgt.Name + "-dyn"
	roleData := map[string]any{"default_ttl": 4, "max_ttl": 8}
	if tgt.Database != nil {
		conn := map[string]any{"allowed_roles": role + "," + tgt.Name + "-*", "verify_connection": true}
		for k, v := range tgt.Database {
			conn[k] = v
		}
		tgt.admin(t, "database/config/"+tgt.Name, conn)
		roleData["db_name"] = tgt.Name
		roleData["creation_statements"] = `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'; GRANT pg_read_all_data TO "{{name}}";`
		roleData["revocation_statements"] = `DROP ROLE IF EXISTS "{{name}}";`
	}
	tgt.admin(t, "database/roles/"+role, roleData)
	prefix := "database/creds/" + role + "/"

	var rotations, maxLeases atomic.Int64
	var mu sync.Mutex
	var callbackErr error
	d, err := tgt.Client.Dynamic(ctx, secrets.DynamicConfig{
		Path: "database/creds/" + role, Clock: tgt.Clock, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler),
		Retry: backoff.Policy{Base: 200 * time.Millisecond, Cap: 2 * time.Second},
		OnRotate: func(ctx context.Context, old, nl *secrets.Lease) error {
			// The new login works before it is put in use.
			if err := tgt.DBLogin(ctx, nl.Reveal("username"), nl.Reveal("password")); err != nil {
				mu.Lock()
				callbackErr = err
				mu.Unlock()
				return err
			}
			rotations.Add(1)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	first := d.Current()
	if first.Reveal("username") == "" || first.Reveal("password") == "" || !first.Renewable() {
		t.Fatalf("database credentials without username, password or renewable lease: %v", first)
	}
	if err := tgt.DBLogin(ctx, first.Reveal("username"), first.Reveal("password")); err != nil {
		t.Fatalf("logging in with the issued credentials: %v", err)
	}
	if n := tgt.leases(t, prefix); n != 1 {
		t.Fatalf("%d leases after the first fetch, want 1", n)
	}

	// Logins keep succeeding with the current credentials throughout. A
	// login that raced the swap (it read the old lease, which was revoked
	// before it logged in) is retried once with the new current lease, as
	// a caller that reads Current per connection would.
	stop := make(chan struct{})
	var logins, failures atomic.Int64
	var lastFailure atomic.Value
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			l := d.Current()
			err := tgt.DBLogin(ctx, l.Reveal("username"), l.Reveal("password"))
			if err != nil && d.Current() != l {
				l = d.Current()
				err = tgt.DBLogin(ctx, l.Reveal("username"), l.Reveal("password"))
			}
			logins.Add(1)
			if err != nil {
				failures.Add(1)
				lastFailure.Store(err.Error())
			}
			if n, err := CountLeases(ctx, tgt.Admin, tgt.AdminToken, prefix); err == nil && int64(n) > maxLeases.Load() {
				maxLeases.Store(int64(n))
			}
		}
	}()
	tgt.sleepUntil(t, "a rotation before max TTL", 250*time.Millisecond, 20*time.Second, func() bool {
		return rotations.Load() >= 1 && d.Current() != first
	})
	tgt.sleepUntil(t, "the old lease's revocation", 100*time.Millisecond, 10*time.Second, func() bool {
		return tgt.leases(t, prefix) == 1
	})
	close(stop)
	wg.Wait()
	mu.Lock()
	if callbackErr != nil {
		t.Errorf("a new lease's login failed in OnRotate: %v", callbackErr)
	}
	mu.Unlock()
	if f := failures.Load(); f != 0 {
		t.Errorf("%d of %d logins failed during the rotation; last: %v", f, logins.Load(), lastFailure.Load())
	}
	if m := maxLeases.Load(); m > 2 {
		t.Errorf("%d leases at once, want at most 2", m)
	}
	if err := tgt.DBLogin(ctx, first.Reveal("username"), first.Reveal("password")); err == nil {
		t.Error("the old credentials still log in after their lease was revoked")
	}
	if err := d.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := tgt.leases(t, prefix); n != 0 {
		t.Fatalf("%d leases after Close, want exactly 0", n)
	}
}

func pkiCase(t *testing.T, tgt EngineTarget) {
	ctx := context.Background()
	role := tgt.Name + "-pki"
	tgt.admin(t, "pki/roles/"+role, map[string]any{"allowed_domains": "localhost", "allow_localhost": true, "allow_ip_sans": true,
		"key_type": "ec", "key_bits": 256, "max_ttl": "1h", "not_before_duration": "1s"})
	events := &countSink{}
	p, err := tgt.Client.PKI(ctx, secrets.PKIConfig{Role: role, CommonName: "localhost", IPSANs: []string{"127.0.0.1"}, TTL: 6 * time.Second,
		Clock: tgt.Clock, Events: events, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if got := p.Leaf().NotAfter.Sub(p.Leaf().NotBefore); got < 6*time.Second || got > 8*time.Second {
		t.Fatalf("lifetime %s, want 7s (6s TTL + 1s not-before)", got)
	}
	srv, err := httpx.New(httpx.Config{Certificates: p, Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hello") })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(sctx, ln) }()
	defer func() { cancel(); <-errc }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	}
	url := "https://" + ln.Addr().String() + "/hello"
	get := func(roots *x509.CertPool) (*x509.Certificate, error) {
		cfg := &tls.Config{RootCAs: roots}
		if tgt.Clock != nil {
			cfg.Time = tgt.Clock.Now // the fake's certificates are valid on its clock
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
		resp, err := c.Get(url)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "hello" {
			return nil, fmt.Errorf("%s: %q", resp.Status, b)
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	leaf, err := get(p.CAPool())
	if err != nil {
		t.Fatalf("a client trusting only the PKI mount's CA: %v", err)
	}
	if leaf.SerialNumber.Cmp(p.Leaf().SerialNumber) != 0 {
		t.Fatal("the server did not serve the issued certificate")
	}
	if _, err := get(x509.NewCertPool()); err == nil {
		t.Fatal("a client trusting another CA accepted the certificate")
	}
	if got := events.count(paved.EventCertificateExpiry); got != 1 {
		t.Fatalf("%d certificate-expiry events at issue, want 1", got)
	}
	if tgt.Clock == nil {
		// httpx verifies client certificates on the system clock: a
		// fake's certificates are valid on its own clock only.
		tgt.mutualTLS(t, p)
	}
	// Rotation at 2/3 of 7s: about 4.7s after issue; the next handshake
	// gets the new certificate, with no restart.
	tgt.sleepUntil(t, "a certificate rotation", 250*time.Millisecond, 20*time.Second, func() bool { return p.Issued() >= 2 })
	leaf2, err := get(p.CAPool())
	if err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if leaf2.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
		t.Fatal("the server still serves the first certificate after the rotation")
	}
	if events.count(paved.EventSecretRotation) < 2 || events.count(paved.EventCertificateExpiry) < 2 {
		t.Fatal("no rotation or expiry event for the rotation")
	}
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// mutualTLS (real clocks only) serves with ClientCAs = the mount's CA: a client presenting
// the source's certificate (GetClientCertificate) gets through, one
// without a certificate does not.
func (tgt EngineTarget) mutualTLS(t *testing.T, p *secrets.PKI) {
	t.Helper()
	srv, err := httpx.New(httpx.Config{Certificates: p, ClientCAs: p.CAPool(), Posture: &paved.Posture{}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv.HandleFunc("GET /who", func(w http.ResponseWriter, r *http.Request) {
		//paved:allow G705 the test handler echoes the verified client certificate's CN to the test's own client
		_, _ = io.WriteString(w, r.TLS.PeerCertificates[0].Subject.CommonName)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-errc }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		t.Fatalf("Serve: %v", err)
	}
	call := func(withCert bool) (string, error) {
		cfg := &tls.Config{RootCAs: p.CAPool()}
		if withCert {
			cfg.GetClientCertificate = p.GetClientCertificate
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}}
		resp, err := c.Get("https://" + ln.Addr().String() + "/who")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	if who, err := call(true); err != nil || who != "localhost" {
		t.Fatalf("mTLS with the source's client certificate: %q, %v", who, err)
	}
	if _, err := call(false); err == nil {
		t.Fatal("mTLS server accepted a client without a certificate")
	}
}

func transitCase(t *testing.T, tgt EngineTarget) {
	ctx := context.Background()
	aesKey, edKey := tgt.Name+"-aes", tgt.Name+"-ed"
	tgt.admin(t, "transit/keys/"+aesKey, map[string]any{"type": "aes256-gcm96"})
	tgt.admin(t, "transit/keys/"+edKey, map[string]any{"type": "ed25519"})
	tr := tgt.Client.Transit("")
	msg := []byte("the payload \x00\xff")

	ct1, err := tr.Encrypt(ctx, aesKey, msg)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := secrets.KeyVersion(ct1); v != 1 || err != nil {
		t.Fatalf("first ciphertext %q: version %d, %v", ct1[:9], v, err)
	}
	if pt, err := tr.Decrypt(ctx, aesKey, ct1); err != nil || string(pt) != string(msg) {
		t.Fatalf("Decrypt: %q, %v", pt, err)
	}
	if ct, err := tr.Encrypt(ctx, aesKey, nil); err != nil {
		t.Fatalf("Encrypt of an empty plaintext: %v", err)
	} else if pt, err := tr.Decrypt(ctx, aesKey, ct); err != nil || len(pt) != 0 {
		t.Fatalf("Decrypt of an empty plaintext: %q, %v", pt, err)
	}
	if err := tr.RotateKey(ctx, aesKey); err != nil {
		t.Fatal(err)
	}
	if k, err := tr.Key(ctx, aesKey); err != nil || k.Latest != 2 || k.MinDecryption != 1 || k.Type != "aes256-gcm96" {
		t.Fatalf("Key after rotation: %+v, %v", k, err)
	}
	ct2, err := tr.Encrypt(ctx, aesKey, msg)
	if v, _ := secrets.KeyVersion(ct2); err != nil || v != 2 {
		t.Fatalf("after rotation: %q, %v", ct2, err)
	}
	if pt, err := tr.Decrypt(ctx, aesKey, ct1); err != nil || string(pt) != string(msg) {
		t.Fatalf("old ciphertext after rotation: %q, %v", pt, err)
	}
	rw, err := tr.Rewrap(ctx, aesKey, ct1)
	if v, _ := secrets.KeyVersion(rw); err != nil || v != 2 {
		t.Fatalf("Rewrap: %q, %v", rw, err)
	}
	if pt, err := tr.Decrypt(ctx, aesKey, rw); err != nil || string(pt) != string(msg) {
		t.Fatalf("rewrapped: %q, %v", pt, err)
	}
	tgt.admin(t, "transit/keys/"+aesKey+"/config", map[string]any{"min_decryption_version": 2})
	if _, err := tr.Decrypt(ctx, aesKey, ct1); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("v1 ciphertext below the minimum decryption version: %v", err)
	}
	tampered := ct2[:len(ct2)-4] + "AAA="
	if _, err := tr.Decrypt(ctx, aesKey, tampered); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
	for _, bad := range []string{"", "vault:", "vault:v:abc", "vault:v0:abc", "vault:vx:abc", "v1:abc", "vault:v1:"} {
		if _, err := tr.Decrypt(ctx, aesKey, bad); !errors.Is(err, secrets.ErrBadCiphertext) {
			t.Errorf("Decrypt(%q): %v, want ErrBadCiphertext", bad, err)
		}
	}

	sig, err := tr.Sign(ctx, edKey, msg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tr.Verify(ctx, edKey, msg, sig); !ok || err != nil {
		t.Fatalf("Verify: %v, %v", ok, err)
	}
	if ok, err := tr.Verify(ctx, edKey, []byte("other"), sig); ok || err != nil {
		t.Fatalf("Verify of other input: %v, %v", ok, err)
	}
	if _, err := tr.Sign(ctx, aesKey, msg); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("Sign with an AES key: %v", err)
	}
	mac, err := tr.HMAC(ctx, edKey, msg)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := tr.VerifyHMAC(ctx, edKey, msg, mac); !ok || err != nil {
		t.Fatalf("VerifyHMAC: %v, %v", ok, err)
	}
	if ok, err := tr.VerifyHMAC(ctx, edKey, []byte("other"), mac); ok || err != nil {
		t.Fatalf("VerifyHMAC of other input: %v, %v", ok, err)
	}
	if _, err := tr.Encrypt(ctx, "bad/name", msg); !errors.Is(err, secrets.ErrInvalidRequest) {
		t.Fatalf("a key name with a slash: %v", err)
	}
}

type countSink struct {
	mu sync.Mutex
	n  map[paved.EventType]int
}

func (s *countSink) Enabled(context.Context, paved.EventType) bool { return true }

func (s *countSink) Emit(_ context.Context, e paved.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[paved.EventType]int{}
	}
	s.n[e.Type]++
}

func (s *countSink) count(t paved.EventType) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[t]
}
