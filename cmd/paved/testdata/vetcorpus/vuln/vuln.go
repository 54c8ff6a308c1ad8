// Package vuln is a corpus of known-vulnerable snippets (gosec's rule
// examples and the road's own): paved vet must find at least what gosec
// alone finds here, plus the road rules.
package vuln

import (
	"crypto/md5"
	"crypto/tls"
	"database/sql"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"strconv"
)

// G101 (gosec) / PAV107 (paved, through gitleaks).
const awsSecret = "AKIAIOSFODNN7EXAMPLF"

var password = "hvs.Q7pLm2Xv9Rt4Bn6Jc8Hd1Fs3"

// G201/G202 (gosec) / PAV106.
func lookup(db *sql.DB, name string) {
	_, _ = db.Query("SELECT * FROM users WHERE name = '" + name + "'")
	_, _ = db.Query(fmt.Sprintf("SELECT * FROM users WHERE name = '%s'", name))
}

// G204.
func run(cmd string) { _ = exec.Command("sh", "-c", cmd).Run() }

// G304.
func read(path string) []byte { b, _ := os.ReadFile(path); return b }

// G401/G501.
func sum(b []byte) [16]byte { return md5.Sum(b) }

// G402 / PAV102.
var insecure = &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}

// G404 / PAV105.
func newToken() string { return strconv.Itoa(rand.Int()) }

// G114 / PAV100.
func serve(h http.Handler) { _ = http.ListenAndServe(":8080", h) }

// G112 / PAV100.
func server(h http.Handler) *http.Server { return &http.Server{Addr: ":8080", Handler: h} }

// G107 / PAV101.
func fetch(url string) { _, _ = http.Get(url) }

// G404 / PAV105: math/rand filling a key's bytes.
func newKey() []byte { k := make([]byte, 32); rand.Read(k); return k }
