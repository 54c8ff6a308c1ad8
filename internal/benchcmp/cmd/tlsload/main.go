// Command tlsload compares requests per second over real TLS on loopback:
// a bare net/http TLS server against an httpx.Server with its full default
// chain, both serving the same handler with the same certificate, loaded by
// wrk with keep-alive in the same run, alternating, for a bounded time.
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
	hello := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("hello"))
	}

	// Bare net/http over TLS with Go's default TLS settings.
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", hello)
	bare := &http.Server{Handler: mux, TLSConfig: &tls.Config{GetCertificate: dev.GetCertificate}}
	go func() { _ = bare.ServeTLS(bareLn, "", "") }()
	defer bare.Close()

	// The same bare server with httpx's timeouts, limits and TLS settings,
	// to tell the cost of the middleware from that of the connection
	// hardening.
	hardLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hard := &http.Server{
		Handler: mux, TLSConfig: httpx.TLSConfig(dev, nil, 0),
		ReadHeaderTimeout: httpx.DefaultReadHeaderTimeout, ReadTimeout: httpx.DefaultReadTimeout,
		WriteTimeout: httpx.DefaultWriteTimeout, IdleTimeout: httpx.DefaultIdleTimeout, MaxHeaderBytes: httpx.DefaultMaxHeaderBytes,
	}
	go func() { _ = hard.ServeTLS(hardLn, "", "") }()
	defer hard.Close()

	// The same bare server whose handler also writes the headers the
	// paved chain adds, to tell the cost of the middleware from that of
	// sending more headers.
	hdrLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	hdrMux := http.NewServeMux()
	hdrMux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Request-Id", "0123456789abcdef0123456789abcdef")
		h.Set("RateLimit-Policy", `"default";q=100000000;w=1`)
		h.Set("RateLimit", `"default";r=99999999;t=1`)
		hello(w, r)
	})
	hdrSrv := &http.Server{Handler: hdrMux, TLSConfig: &tls.Config{GetCertificate: dev.GetCertificate}}
	go func() { _ = hdrSrv.ServeTLS(hdrLn, "", "") }()
	defer hdrSrv.Close()

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
	srv.HandleFunc("GET /hello", hello)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = srv.ListenAndServe(ctx) }()
	<-srv.Ready()

	targets := []struct{ name, url string }{
		{"bare net/http TLS", "https://" + bareLn.Addr().String() + "/hello"},
		{"httpx default chain", srv.URL() + "/hello"},
		{"bare + httpx TLS/timeouts", "https://" + hardLn.Addr().String() + "/hello"},
		{"bare + same headers", "https://" + hdrLn.Addr().String() + "/hello"},
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
	n := float64(*rounds)
	fmt.Printf("mean: bare %.0f req/s; httpx %.0f (%.1f%% of bare); bare with httpx TLS/timeouts %.0f (%.1f%%); bare sending the same headers %.0f (%.1f%%)\n",
		sums[0]/n, sums[1]/n, 100*sums[1]/sums[0], sums[2]/n, 100*sums[2]/sums[0], sums[3]/n, 100*sums[3]/sums[0])
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
