// Command tlsload compares requests per second over real TLS on loopback:
// a bare net/http TLS server against an httpx.Server with its full default
// chain, both serving the same handler with the same certificate, loaded by
// wrk with keep-alive in the same run, alternating, for a bounded time.
// Four more bare servers tell where the difference goes: one with httpx's
// timeouts and TLS settings, and three sending security headers the
// cheapest way there is (no middleware), the eight the httpx issue
// requires alone and with those timeouts, and all eleven that httpx
// sends with them. The last two are the floor: no middleware can make a
// server that sends those headers under those timeouts faster than them.
//
//	go run ./cmd/tlsload -d 5s -c 32 -t 2 -rounds 3
//
// On a small machine wrk competes with the servers for the same cores, so a
// server that sends more header bytes is also charged for wrk's parsing of
// them. To measure the servers alone, give each side its own core:
//
//	go build -o /tmp/tlsload ./cmd/tlsload
//	taskset -c 0 /tmp/tlsload -wrk-cpus 1 -t 1
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/benchharness"
)

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each wrk run (at most 30s)")
	conns := flag.Int("c", 32, "wrk connections")
	threads := flag.Int("t", 2, "wrk threads")
	rounds := flag.Int("rounds", 3, "alternating rounds")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the httpx runs to this file")
	wrkCPUs := flag.String("wrk-cpus", "", "run wrk under taskset -c with this CPU list (pin this process elsewhere)")
	flag.Parse()
	if *dur > 30*time.Second {
		*dur = 30 * time.Second
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		log.Fatal("wrk not found: apt-get install wrk")
	}
	dir, err := os.MkdirTemp("", "tlsload-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dev, err := httpx.NewDevCertificate(dir)
	if err != nil {
		log.Fatal(err)
	}
	// Bare net/http over TLS with Go's default TLS settings.
	mux := benchharness.Mux()
	bareTLS := &tls.Config{GetCertificate: dev.GetCertificate}
	bare := startBare(&http.Server{Handler: mux, TLSConfig: bareTLS})
	defer bare.Close()

	// The same bare server with httpx's timeouts, limits and TLS settings,
	// to tell the cost of the middleware from that of the connection
	// hardening.
	hardened := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler: h, TLSConfig: httpx.TLSConfig(dev, nil, 0),
			ReadHeaderTimeout: httpx.DefaultReadHeaderTimeout, ReadTimeout: httpx.DefaultReadTimeout,
			WriteTimeout: httpx.DefaultWriteTimeout, IdleTimeout: httpx.DefaultIdleTimeout, MaxHeaderBytes: httpx.DefaultMaxHeaderBytes,
		}
	}
	hard := startBare(hardened(mux))
	defer hard.Close()

	// Bare servers whose handler also sends security headers, set the
	// cheapest way there is (prebuilt values assigned to canonical keys,
	// no middleware), to tell the cost of the middleware from that of
	// sending the headers: the eight the httpx issue requires, alone and
	// with httpx's timeouts and TLS settings (the least any server with
	// the defaults pays), then all eleven the paved chain sends
	// (those plus X-Request-Id and the two RateLimit fields) with them.
	required := startBare(&http.Server{Handler: benchharness.WithHeaders(benchharness.Hello, benchharness.RequiredHeaders), TLSConfig: bareTLS})
	defer required.Close()
	hardRequired := startBare(hardened(benchharness.WithHeaders(benchharness.Hello, benchharness.RequiredHeaders)))
	defer hardRequired.Close()
	hardAll := startBare(hardened(benchharness.WithHeaders(benchharness.Hello, benchharness.ChainHeaders)))
	defer hardAll.Close()

	// paved: the default chain, access log discarded, limit high enough
	// never to deny one loopback client.
	srv, err := httpx.New(httpx.Config{
		Addr:         "127.0.0.1:0",
		Logger:       slog.New(slog.DiscardHandler),
		Posture:      new(paved.Posture),
		Certificates: dev,
		RateLimit:    httpx.RateLimitConfig{Policy: httpx.Policy{Limit: 100_000_000, Window: time.Second}},
		OptOuts:      []paved.OptOut{httpx.AllowDevCertificate("loopback load comparison")},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv.HandleFunc("GET /hello", benchharness.Hello)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.ListenAndServe(ctx) }()
	<-srv.Ready()

	targets := []struct{ name, url string }{
		{"bare net/http TLS", bare.url},
		{"httpx default chain", srv.URL() + "/hello"},
		{"bare + httpx TLS/timeouts", hard.url},
		{"bare + 8 required headers", required.url},
		{"bare + hardening + 8 hdrs", hardRequired.url},
		{"bare + hardening + 11 hdrs", hardAll.url},
	}
	sums := make([]float64, len(targets))
	for r := range *rounds {
		for i, tg := range targets {
			if i == 1 && *cpuprofile != "" && r == 0 {
				f, err := os.Create(*cpuprofile)
				if err != nil {
					log.Fatal(err)
				}
				_ = pprof.StartCPUProfile(f)
			}
			rps, err := runWrk(*wrkCPUs, tg.url, *dur, *conns, *threads)
			if i == 1 && *cpuprofile != "" && r == 0 {
				pprof.StopCPUProfile()
			}
			if err != nil {
				log.Fatal(err)
			}
			sums[i] += rps
			fmt.Printf("round %d  %-26s %10.0f req/s\n", r+1, tg.name, rps)
		}
	}
	fmt.Printf("mean of %d rounds:\n", *rounds)
	for i, tg := range targets {
		fmt.Printf("  %-26s %10.0f req/s %6.1f%% of bare\n", tg.name, sums[i]/float64(*rounds), 100*sums[i]/sums[0])
	}
}

// bareServer is a net/http server under comparison and its URL.
type bareServer struct {
	*http.Server
	url string
}

// startBare serves srv over TLS on a loopback port of its own.
func startBare(srv *http.Server) bareServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	return bareServer{srv, "https://" + ln.Addr().String() + "/hello"}
}

var rpsLine = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func runWrk(cpus, url string, d time.Duration, c, t int) (float64, error) {
	args := []string{"wrk", "-t", strconv.Itoa(t), "-c", strconv.Itoa(c),
		"-d", strconv.Itoa(int(d/time.Second)) + "s", "--timeout", "5s", url}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}
