package sbom

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavedroad/paved"
)

// Generating both formats from a binary, against `go version -m` on the
// same binary in the same run (the yardstick: a process that reads
// the build info and prints it). Compare sub-benchmarks' ns/op:
//
//	go test -run '^$' -bench 'VersusGoVersionM' -benchtime 20x -count 5 ./sbom
func BenchmarkVersusGoVersionM(b *testing.B) {
	small := testBinary(b)
	big := bigBinary(b)
	for _, bin := range []struct{ name, path string }{{"test-binary", small}, {"300-modules", big}} {
		b.Run(bin.name+"/go-version-m", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := exec.Command("go", "version", "-m", bin.path).Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bin.name+"/sbom-both", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bd, err := Read(bin.path)
				if err != nil {
					b.Fatal(err)
				}
				generateBoth(b, bd)
			}
		})
	}
}

// The synthetic 300-module build info (with sums and replacements, which
// the big binary's local modules lack), from text to both documents.
func BenchmarkGenerateSynthetic300(b *testing.B) {
	text := syntheticText(300)
	b.ReportAllocs()
	for b.Loop() {
		bi, err := parseBuildInfo(text)
		if err != nil {
			b.Fatal(err)
		}
		bd, err := FromBuildInfo(bi)
		if err != nil {
			b.Fatal(err)
		}
		generateBoth(b, bd)
	}
}

func generateBoth(b *testing.B, bd *Build) {
	if _, err := bd.SPDXJSON(Options{}); err != nil {
		b.Fatal(err)
	}
	if _, err := bd.CycloneDXJSON(Options{}); err != nil {
		b.Fatal(err)
	}
}

var (
	bigOnce sync.Once
	bigPath string
	bigErr  error
)

// bigBinary builds, once, a binary that links 300 small local modules, so
// that its build info lists 300 dependencies.
func bigBinary(b *testing.B) string {
	bigOnce.Do(func() { bigPath, bigErr = buildBigBinary(300) })
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigPath
}

func buildBigBinary(n int) (string, error) {
	files := map[string]string{}
	var mod, imports, uses strings.Builder
	mod.WriteString("module example.com/big\n\ngo 1.25\n\nrequire (\n")
	for i := range n {
		p := fmt.Sprintf("example.com/m%03d", i)
		fmt.Fprintf(&mod, "\t%s v1.0.0\n", p)
		fmt.Fprintf(&imports, "\tm%03d %q\n", i, p)
		fmt.Fprintf(&uses, "\tm%03d.F()\n", i)
		md := fmt.Sprintf("mods/m%03d/", i)
		files[md+"go.mod"] = "module " + p + "\n\ngo 1.25\n"
		files[md+"m.go"] = fmt.Sprintf("package m%03d\n\nvar n int\n\n// F is a stand-in.\nfunc F() { n++ }\n", i)
	}
	mod.WriteString(")\n\n")
	for i := range n {
		fmt.Fprintf(&mod, "replace example.com/m%03d => ./mods/m%03d\n", i, i)
	}
	files["go.mod"] = mod.String()
	files["main.go"] = "package main\n\nimport (\n" + imports.String() + ")\n\nfunc main() {\n" + uses.String() + "}\n"
	return cachedBuild("big", files, func(dir string) error {
		cmd := exec.Command("go", "build", "-o", "app", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build: %v: %s", err, out)
		}
		return nil
	})
}

// Serving the precomputed SBOM against serving a static byte slice of
// the same size, through the same writer:
//
//	go test -run '^$' -bench 'Serve' -count 5 ./sbom
func BenchmarkServe(b *testing.B) {
	h, err := NewHandler(HandlerConfig{
		Build:   synthetic(b, 300),
		OptOuts: []paved.OptOut{AllowPublicSBOM("benchmark")},
		Posture: new(paved.Posture),
		Logger:  discardLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := synthetic(b, 300).SPDXJSON(Options{})
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	req, _ := http.NewRequest("GET", DefaultPath, nil)
	req.Header.Set("Accept", "application/spdx+json, application/json;q=0.9")
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"static-bytes", static}, {"sbom-handler", h}} {
		b.Run(c.name, func(b *testing.B) {
			w := &discardWriter{h: make(http.Header)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				c.h.ServeHTTP(w, req)
			}
		})
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkRatio interleaves the candidate and its yardstick in each
// iteration, so that both see the same load (this machine is shared), and
// reports their time ratio as the metric "x-yardstick":
//
//	go test -run '^$' -bench 'Ratio' -benchtime 30x -count 5 ./sbom
func BenchmarkRatio(b *testing.B) {
	small, big := testBinary(b), bigBinary(b)
	synth := syntheticText(300)
	goVersionM := func(path string) func() {
		return func() {
			if err := exec.Command("go", "version", "-m", path).Run(); err != nil {
				b.Fatal(err)
			}
		}
	}
	fromFile := func(path string) func() {
		return func() {
			bd, err := Read(path)
			if err != nil {
				b.Fatal(err)
			}
			generateBoth(b, bd)
		}
	}
	fromText := func() {
		bi, err := parseBuildInfo(synth)
		if err != nil {
			b.Fatal(err)
		}
		bd, err := FromBuildInfo(bi)
		if err != nil {
			b.Fatal(err)
		}
		generateBoth(b, bd)
	}
	for _, c := range []struct {
		name                 string
		yardstick, candidate func()
	}{
		{"both-formats-vs-go-version-m/test-binary", goVersionM(small), fromFile(small)},
		{"both-formats-vs-go-version-m/300-module-binary", goVersionM(big), fromFile(big)},
		{"both-formats-vs-go-version-m/synthetic-300", goVersionM(big), fromText},
	} {
		b.Run(c.name, func(b *testing.B) {
			var ys, cs time.Duration
			for b.Loop() {
				t0 := time.Now()
				c.yardstick()
				t1 := time.Now()
				c.candidate()
				ys, cs = ys+t1.Sub(t0), cs+time.Since(t1)
			}
			b.ReportMetric(float64(cs)/float64(ys), "x-yardstick")
			b.ReportMetric(float64(ys.Nanoseconds())/float64(b.N), "yardstick-ns/op")
			b.ReportMetric(float64(cs.Nanoseconds())/float64(b.N), "candidate-ns/op")
		})
	}
}

// BenchmarkRatioServe interleaves serving a static byte slice and the
// SBOM handler, in batches of 1000 requests each, and reports the ratio.
func BenchmarkRatioServe(b *testing.B) {
	bd := synthetic(b, 300)
	h, err := NewHandler(HandlerConfig{Build: bd, OptOuts: []paved.OptOut{AllowPublicSBOM("benchmark")}, Posture: new(paved.Posture), Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	body, _ := bd.SPDXJSON(Options{})
	static := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	for _, accept := range []string{"*/*", "application/spdx+json, application/json;q=0.9"} {
		b.Run("accept="+strings.ReplaceAll(accept, " ", ""), func(b *testing.B) {
			req, _ := http.NewRequest("GET", DefaultPath, nil)
			req.Header.Set("Accept", accept)
			w := &discardWriter{h: make(http.Header)}
			var ys, cs time.Duration
			for b.Loop() {
				t0 := time.Now()
				for range 1000 {
					clear(w.h)
					static.ServeHTTP(w, req)
				}
				t1 := time.Now()
				for range 1000 {
					clear(w.h)
					h.ServeHTTP(w, req)
				}
				ys, cs = ys+t1.Sub(t0), cs+time.Since(t1)
			}
			b.ReportMetric(float64(cs)/float64(ys), "x-static")
		})
	}
}
