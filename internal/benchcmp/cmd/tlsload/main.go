// Command tlsload compares requests per second over real TLS on loopback.
// Every server runs in this process, serves the same handler with the same
// certificate, and is loaded by wrk with keep-alive (HTTP/1.1) in the same
// run, one server at a time, alternating, for a bounded time. The servers:
//
//   - bare: net/http with Go's default TLS settings and no timeouts.
//   - floor: the bare handler with httpx's TLS settings, timeouts and header
//     cap, also sending the eleven fields the httpx chain sends (the eight
//     security fields the httpx issue requires, X-Request-Id and the two
//     RateLimit fields), set the cheapest way there is: prebuilt values,
//     no middleware. No middleware can make a server that sends those
//     fields under those settings faster than this. Like bare and httpx,
//     it routes GET /hello through a ServeMux.
//   - httpx: httpx.Server's full default chain, its access log off (a
//     disabled slog handler), so it does the floor's work plus the
//     chain's. Compared with the floor.
//   - httpx-log: the same with its access log on: slog's text handler,
//     formatting every line into a benchcmp.LogSink (counts, keeps
//     nothing).
//   - popular: benchcmp.PopularStack (chi's RequestID, Logger and
//     Recoverer, unrolled/secure, go-chi/httprate, the standard library's
//     cross-origin protection and body limit) on an http.Server with the
//     same TLS settings, timeouts and header cap as httpx; chi's Logger
//     formats every line into a LogSink too, on a log.Logger with the
//     standard date and time prefix. Compared with httpx-log: both format
//     a whole access-log line per request and neither writes it anywhere.
//   - popular-nolog: the same without chi's Logger (it has no level to be
//     turned off with), compared with httpx.
//
// and three that tell where the difference between bare and floor goes:
// hard (bare with httpx's TLS settings and timeouts), req8 (bare sending
// the eight required fields) and hard8 (both).
//
//	go build -o /tmp/tlsload ./cmd/tlsload
//	/tmp/tlsload -d 10s -c 32 -t 2 -rounds 3
//
// Each round loads every server once, starting one server further along
// the list than the round before, so that no server always runs first or
// right after the same neighbour; -only picks the servers to load. Each
// run also says how much CPU time this process (the server under load;
// the others are idle) spent per request, how much of the machine the
// servers and wrk used and how much other processes took, and the
// summary adds the servers' allocations and GC cycles per request, the
// lowest and highest per-round value of each ratio, and whether the run
// was quiet (other processes took at most 3% of the machine in every
// run). On a shared virtual machine even a quiet run's rounds can differ
// by tens of percent; the per-round range shows how far. A wrk run that
// saw a socket error or a status other than 2xx or 3xx stops the
// command: a server that answers errors quickly is not fast.
//
// The comparison servers set net/http's MaxHeaderBytes to httpx's
// default; httpx.Server sets net/http's 4 KiB above it and enforces the
// limit itself, which costs nothing measurable on these requests.
//
// On a small machine wrk competes with the servers for the same cores, so a
// server that sends more header bytes is also charged for wrk's parsing of
// them. To measure the servers alone, give each side its own core:
//
//	taskset -c 0 /tmp/tlsload -wrk-cpus 1 -t 1
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
	"github.com/pavedroad/paved/internal/benchcmp"
	"github.com/pavedroad/paved/internal/benchharness"
)

// target is one server under load.
type target struct {
	key, name string
	url       string
	logs      *benchcmp.LogSink // where its access log goes; nil if it logs nothing
}

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each wrk run (at most 30s)")
	conns := flag.Int("c", 32, "wrk connections")
	threads := flag.Int("t", 2, "wrk threads")
	rounds := flag.Int("rounds", 3, "alternating rounds")
	only := flag.String("only", "", "comma-separated servers to load (default all): bare,hard,req8,hard8,floor,httpx,httpx-log,popular,popular-nolog")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process during the first round's run of the -profile server")
	profile := flag.String("profile", "httpx-log", "the server the -cpuprofile covers")
	wrkCPUs := flag.String("wrk-cpus", "", "run wrk under taskset -c with this CPU list (pin this process elsewhere)")
	flag.Parse()
	if *dur > 30*time.Second {
		*dur = 30 * time.Second
	}
	if *dur < time.Second || *rounds < 1 {
		log.Fatal("-d must be at least 1s and -rounds at least 1")
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

	mux := benchharness.Mux()
	bareTLS := &tls.Config{GetCertificate: dev.GetCertificate}
	// hardened is an http.Server with httpx's TLS settings, timeouts and
	// header cap, the settings httpx.Server runs with by default.
	// Their error logs (a client closing during the handshake, as wrk
	// does when a run ends) are dropped, as httpx's are with its log off.
	quiet := log.New(io.Discard, "", 0)
	hardened := func(h http.Handler) *http.Server {
		return &http.Server{
			Handler: h, TLSConfig: httpx.TLSConfig(dev, nil, 0), ErrorLog: quiet,
			ReadHeaderTimeout: httpx.DefaultReadHeaderTimeout, ReadTimeout: httpx.DefaultReadTimeout,
			WriteTimeout: httpx.DefaultWriteTimeout, IdleTimeout: httpx.DefaultIdleTimeout, MaxHeaderBytes: httpx.DefaultMaxHeaderBytes,
		}
	}
	var targets []target
	add := func(key, name string, srv *http.Server, logs *benchcmp.LogSink) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
		targets = append(targets, target{key, name, "https://" + ln.Addr().String() + "/hello", logs})
	}
	add("bare", "bare net/http TLS", &http.Server{Handler: mux, TLSConfig: bareTLS, ErrorLog: quiet}, nil)
	add("hard", "bare + httpx TLS/timeouts", hardened(mux), nil)
	add("req8", "bare + 8 required fields", &http.Server{Handler: benchharness.MuxWithHeaders(benchharness.RequiredHeaders), TLSConfig: bareTLS, ErrorLog: quiet}, nil)
	add("hard8", "bare + hardening + 8 fields", hardened(benchharness.MuxWithHeaders(benchharness.RequiredHeaders)), nil)
	add("floor", "floor: hardening + 11 fields", hardened(benchharness.MuxWithHeaders(benchharness.ChainHeaders)), nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// httpx: the default chain, with a limit high enough never to deny
	// one loopback client.
	startHTTPX := func(key, name string, logger *slog.Logger, logs *benchcmp.LogSink) {
		srv, err := httpx.New(httpx.Config{
			Addr:         "127.0.0.1:0",
			Logger:       logger,
			Posture:      new(paved.Posture),
			Events:       paved.NopSink{},
			Certificates: dev,
			RateLimit:    httpx.RateLimitConfig{Policy: httpx.RatePolicy{Limit: benchcmp.HugeLimit, Window: time.Second}},
			OptOuts:      []paved.OptOut{httpx.AllowDevCertificate("loopback load comparison")},
		})
		if err != nil {
			log.Fatal(err)
		}
		srv.HandleFunc("GET /hello", benchharness.Hello)
		go func() { _ = srv.ListenAndServe(ctx) }()
		<-srv.Ready()
		targets = append(targets, target{key, name, srv.URL() + "/hello", logs})
	}
	startHTTPX("httpx", "httpx chain, log off", slog.New(slog.DiscardHandler), nil)
	httpxLogs := new(benchcmp.LogSink)
	startHTTPX("httpx-log", "httpx chain, text log", benchcmp.PavedLogger(httpxLogs), httpxLogs)
	popularLogs := new(benchcmp.LogSink)
	add("popular", "popular stack, chi Logger", hardened(benchcmp.PopularStack(benchharness.Mux(), popularLogs)), popularLogs)
	add("popular-nolog", "popular stack, no Logger", hardened(benchcmp.PopularStack(benchharness.Mux(), nil)), nil)

	if *only != "" {
		keep := strings.Split(*only, ",")
		for _, k := range keep {
			if !slices.ContainsFunc(targets, func(t target) bool { return t.key == k }) {
				log.Fatalf("-only: no server %q", k)
			}
		}
		targets = slices.DeleteFunc(targets, func(t target) bool { return !slices.Contains(keep, t.key) })
	}

	if *cpuprofile != "" && !slices.ContainsFunc(targets, func(t target) bool { return t.key == *profile }) {
		log.Fatalf("-profile: server %q is not loaded", *profile)
	}
	client := &tls.Config{RootCAs: dev.CertPool(), NextProtos: []string{"http/1.1"}}
	fmt.Println("one HTTP/1.1 response of each server:")
	for _, tg := range targets {
		fields, size, err := probe(client, tg.url)
		if err != nil {
			log.Fatalf("%s: %v", tg.name, err)
		}
		fmt.Printf("  %-14s %-30s 200 hello, %2d header fields, %4d header bytes\n", tg.key, tg.name, fields, size)
	}

	sums := make([]float64, len(targets))
	cpuSums := make([]float64, len(targets)) // server CPU µs per request
	// The server's allocations per request and GC cycles per 10,000
	// requests, summed over the rounds.
	mem := make([]struct{ allocs, bytes, gcs float64 }, len(targets))
	perRound := make([][]float64, *rounds)
	worstOthers := -1.0
	for r := range *rounds {
		perRound[r] = make([]float64, len(targets))
		for j := range targets {
			i := (r + j) % len(targets)
			tg := targets[i]
			profiling := *cpuprofile != "" && r == 0 && tg.key == *profile
			if profiling {
				f, err := os.Create(*cpuprofile)
				if err != nil {
					log.Fatal(err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					log.Fatal(err)
				}
			}
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			m0, s0, ok0 := cpuTimes()
			start := time.Now()
			res, err := runWrk(*wrkCPUs, tg.url, *dur, *conns, *threads)
			wall := time.Since(start)
			m1, s1, ok1 := cpuTimes()
			runtime.ReadMemStats(&ms1)
			if profiling {
				pprof.StopCPUProfile()
			}
			if err != nil {
				log.Fatalf("%s: %v", tg.name, err)
			}
			sums[i] += res.rps
			perRound[r][i] = res.rps
			reqs := float64(max(res.requests, 1))
			mem[i].allocs += float64(ms1.Mallocs-ms0.Mallocs) / reqs
			mem[i].bytes += float64(ms1.TotalAlloc-ms0.TotalAlloc) / reqs
			mem[i].gcs += float64(ms1.NumGC-ms0.NumGC) / reqs * 1e4
			load := ""
			if ok0 && ok1 {
				capacity := float64(wall) * float64(runtime.NumCPU())
				ours := float64(s1-s0) + float64(res.cpu)
				others := max(0, float64(m1-m0)-ours) / capacity
				worstOthers = max(worstOthers, others)
				serverCPU := float64(s1-s0) / reqs / float64(time.Microsecond)
				cpuSums[i] += serverCPU
				load = fmt.Sprintf("  server %5.1f µs CPU/req; servers+wrk %3.0f%%, others %4.1f%% of %d CPUs",
					serverCPU, 100*ours/capacity, 100*others, runtime.NumCPU())
			}
			fmt.Printf("round %d  %-14s %-30s %10.0f req/s%s\n", r+1, tg.key, tg.name, res.rps, load)
		}
		fmt.Printf("round %d  %s\n", r+1, ratios(targets, perRound[r]))
	}

	n := float64(*rounds)
	fmt.Printf("mean of %d rounds of %s, wrk -c %d -t %d:\n", *rounds, *dur, *conns, *threads)
	for i, tg := range targets {
		cpu := ""
		if cpuSums[i] > 0 {
			cpu = fmt.Sprintf("  server %5.1f µs CPU/req", cpuSums[i]/n)
		}
		fmt.Printf("  %-14s %-30s %10.0f req/s %6.1f%% of %s%s\n", tg.key, tg.name, sums[i]/n, 100*sums[i]/sums[0], targets[0].key, cpu)
	}
	fmt.Println("  the servers' allocations (whole process, wrk's loading of one server at a time):")
	for i, tg := range targets {
		fmt.Printf("  %-14s %5.1f allocs/req %6.0f B/req %5.2f GC cycles per 10k req\n", tg.key, mem[i].allocs/n, mem[i].bytes/n, mem[i].gcs/n)
	}
	means := make([]float64, len(sums))
	for i := range sums {
		means[i] = sums[i] / n
	}
	fmt.Printf("  %s\n", ratios(targets, means))
	fmt.Printf("  per-round range: %s\n", ratioRanges(targets, perRound))
	for _, tg := range targets {
		if tg.logs != nil && tg.logs.Lines() > 0 {
			fmt.Printf("  %-14s access log: %d lines, %.0f bytes a line\n", tg.key, tg.logs.Lines(), float64(tg.logs.Bytes())/float64(tg.logs.Lines()))
		}
	}
	if worstOthers >= 0 {
		verdict := "quiet"
		if worstOthers > quietShare {
			verdict = fmt.Sprintf("NOT quiet (above %.0f%%): other processes competed with the servers; treat the figures as noise", 100*quietShare)
		}
		fmt.Printf("  other processes took at most %.1f%% of the machine during a run: %s\n", 100*worstOthers, verdict)
	}
}

// quietShare is the largest share of the machine other processes may take
// during a run for the run to count as quiet.
const quietShare = 0.03

// comparisons are the ratios the httpx issue asks for: each httpx variant
// against the floor, and each against the popular stack doing the same
// logging work.
var comparisons = [][2]string{{"httpx", "floor"}, {"httpx-log", "floor"}, {"httpx-log", "popular"}, {"httpx", "popular-nolog"}}

// ratio is rps of server a over that of server b, if both were loaded.
func ratio(targets []target, rps []float64, a, b string) (float64, bool) {
	ia := slices.IndexFunc(targets, func(t target) bool { return t.key == a })
	ib := slices.IndexFunc(targets, func(t target) bool { return t.key == b })
	if ia < 0 || ib < 0 || rps[ib] == 0 {
		return 0, false
	}
	return rps[ia] / rps[ib], true
}

// ratios formats the comparisons among the servers that were loaded.
func ratios(targets []target, rps []float64) string {
	var out []string
	for _, c := range comparisons {
		if r, ok := ratio(targets, rps, c[0], c[1]); ok {
			out = append(out, fmt.Sprintf("%s/%s %.3f", c[0], c[1], r))
		}
	}
	return strings.Join(out, "  ")
}

// ratioRanges formats the lowest and highest per-round value of each
// comparison: how far one round can be from the mean on this machine.
func ratioRanges(targets []target, perRound [][]float64) string {
	var out []string
	for _, c := range comparisons {
		lo, hi := 0.0, 0.0
		for i, rps := range perRound {
			r, ok := ratio(targets, rps, c[0], c[1])
			if !ok {
				break
			}
			if i == 0 || r < lo {
				lo = r
			}
			if i == 0 || r > hi {
				hi = r
			}
		}
		if hi > 0 {
			out = append(out, fmt.Sprintf("%s/%s %.3f-%.3f", c[0], c[1], lo, hi))
		}
	}
	return strings.Join(out, "  ")
}

// probe makes one HTTP/1.1 request to rawURL and returns the number of
// header fields and the size of the response head (status line, fields
// and the blank line), after checking the response is 200 "hello".
func probe(cfg *tls.Config, rawURL string) (fields, size int, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0, 0, err
	}
	conn, err := tls.Dial("tcp", u.Host, cfg)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.Path, u.Host); err != nil {
		return 0, 0, err
	}
	var raw bytes.Buffer
	resp, err := http.ReadResponse(bufio.NewReader(io.TeeReader(conn, &raw)), nil)
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	if resp.StatusCode != http.StatusOK || string(body) != "hello" {
		return 0, 0, fmt.Errorf("got %d %q, want 200 \"hello\"", resp.StatusCode, body)
	}
	head, _, ok := bytes.Cut(raw.Bytes(), []byte("\r\n\r\n"))
	if !ok {
		return 0, 0, fmt.Errorf("no end of header in %q", raw.Bytes())
	}
	return bytes.Count(head, []byte("\r\n")), len(head) + 4, nil
}

var (
	rpsLine      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	requestsLine = regexp.MustCompile(`([0-9]+) requests in `)
	failedLine   = regexp.MustCompile(`(Socket errors:.*|Non-2xx or 3xx responses:.*)`)
)

// wrkResult is what one wrk run measured and cost.
type wrkResult struct {
	rps      float64
	requests int64         // requests completed
	cpu      time.Duration // CPU time wrk itself used
}

func runWrk(cpus, url string, d time.Duration, c, t int) (wrkResult, error) {
	args := []string{"wrk", "-t", strconv.Itoa(t), "-c", strconv.Itoa(c),
		"-d", strconv.Itoa(int(d/time.Second)) + "s", "--timeout", "5s", url}
	if cpus != "" {
		args = append([]string{"taskset", "-c", cpus}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if m := failedLine.Find(out); m != nil {
		return wrkResult{}, fmt.Errorf("wrk: %s\n%s", m, out)
	}
	m := rpsLine.FindSubmatch(out)
	if m == nil {
		return wrkResult{}, fmt.Errorf("no Requests/sec in wrk output:\n%s", out)
	}
	rps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return wrkResult{}, err
	}
	var n int64
	if m := requestsLine.FindSubmatch(out); m != nil {
		n, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	return wrkResult{rps, n, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}, nil
}
