package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// Layouts of a vulnerability database directory, as [VulnDB.Layout]
// names them.
const (
	// LayoutOSV is a flat directory of OSV records, one <ID>.json each:
	// the data/osv directory of the golang.org/x/vulndb module.
	LayoutOSV = "osv"
	// LayoutGovulncheck is the layout govulncheck's -db file://DIR reads
	// (https://go.dev/security/vuln/database#api): index/db.json,
	// index/modules.json and ID/<ID>.json.
	LayoutGovulncheck = "govulncheck"
)

// maxOSVBytes bounds one OSV record (the largest in the Go database is
// under 100 KiB); a larger file is skipped with a warning, unread.
const maxOSVBytes = 1 << 20

// maxIndexBytes bounds index/modules.json (about 1 MiB for the whole Go
// database).
const maxIndexBytes = 256 << 20

// maxWarnings is how many warning messages a [VulnDB] or [AuditReport]
// keeps; the count goes on past it.
const maxWarnings = 20

// ErrVulnDB is matched by every error opening a vulnerability database
// that is not usable at all (no such directory, no OSV record in it, an
// unreadable index).
var ErrVulnDB = errors.New("sbom: unusable vulnerability database")

// A VulnDB is a local Go vulnerability database, indexed by module path.
// Only the index lives in memory (module path to record IDs); records are
// read from the directory when an audit needs them, so memory does not
// grow with the size of the records.
//
// A malformed record (not JSON, no ID, an ID that is not its file name,
// an invalid version in a range, over 1 MiB) is skipped with a counted
// warning; it never fails the database. A VulnDB is safe for concurrent
// use.
type VulnDB struct {
	fsys   fs.FS
	source string
	layout string
	// byModule maps a module path to the files of the records that list
	// it, sorted and deduplicated.
	byModule map[string][]string
	records  int
	warn     warnings
}

// warnings counts problems and keeps the first few messages.
type warnings struct {
	mu    sync.Mutex
	count int
	msgs  []string
}

func (w *warnings) add(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.count++
	if len(w.msgs) < maxWarnings {
		w.msgs = append(w.msgs, fmt.Sprintf(format, args...))
	}
}

func (w *warnings) snapshot() (int, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count, slices.Clone(w.msgs)
}

// OpenVulnDB opens the vulnerability database in dir, in either layout:
// a govulncheck database (the one `govulncheck -db file://DIR` reads) when
// dir holds index/modules.json, else a directory of OSV records such as
// the golang.org/x/vulndb module's data/osv (given the module's root,
// OpenVulnDB looks in data/osv).
//
//	go mod download -json golang.org/x/vulndb@latest   # "Dir": .../vulndb@v0.0.0-...
//	db, err := sbom.OpenVulnDB(dir + "/data/osv")
func OpenVulnDB(dir string) (*VulnDB, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVulnDB, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrVulnDB, dir)
	}
	if st, err := os.Stat(path.Join(dir, "data", "osv")); err == nil && st.IsDir() {
		if _, err := os.Stat(path.Join(dir, "index", "modules.json")); err != nil {
			dir = path.Join(dir, "data", "osv")
		}
	}
	db, err := OpenVulnDBFS(os.DirFS(dir))
	if db != nil {
		db.source = dir
	}
	return db, err
}

// OpenVulnDBFS is [OpenVulnDB] for a file system (an embed.FS, an
// fstest.MapFS), whose root holds the database.
func OpenVulnDBFS(fsys fs.FS) (*VulnDB, error) {
	db := &VulnDB{fsys: fsys, byModule: make(map[string][]string)}
	var err error
	if _, statErr := fs.Stat(fsys, "index/modules.json"); statErr == nil {
		db.layout = LayoutGovulncheck
		err = db.indexGovulncheck()
	} else {
		db.layout = LayoutOSV
		err = db.indexOSV()
	}
	if err != nil {
		return nil, err
	}
	for m, files := range db.byModule {
		slices.Sort(files)
		db.byModule[m] = slices.Compact(files)
	}
	return db, nil
}

// indexOSV reads every *.json at the root of the file system, one at a
// time, keeping only the module paths each record lists.
func (db *VulnDB) indexOSV() error {
	entries, err := fs.ReadDir(db.fsys, ".")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrVulnDB, err)
	}
	var buf bytes.Buffer
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".json") {
			continue
		}
		buf.Reset()
		if err := readBounded(db.fsys, name, &buf); err != nil {
			db.warn.add("%s: %v", name, err)
			continue
		}
		var head struct {
			ID       string `json:"id"`
			Affected []struct {
				Package struct {
					Name string `json:"name"`
				} `json:"package"`
			} `json:"affected"`
		}
		if err := json.Unmarshal(buf.Bytes(), &head); err != nil {
			db.warn.add("%s: not an OSV record: %v", name, err)
			continue
		}
		if head.ID+".json" != name {
			db.warn.add("%s: record id %s does not match its file name", name, quoteShort(head.ID))
			continue
		}
		if len(head.Affected) == 0 {
			db.warn.add("%s: no affected module", name)
			continue
		}
		db.records++
		for _, a := range head.Affected {
			db.byModule[a.Package.Name] = append(db.byModule[a.Package.Name], name)
		}
	}
	if db.records == 0 && db.warn.count == 0 {
		return fmt.Errorf("%w: no OSV record (*.json) and no index/modules.json", ErrVulnDB)
	}
	return nil
}

// indexGovulncheck streams index/modules.json: an array of
// {"path": ..., "vulns": [{"id": ...}, ...]}.
func (db *VulnDB) indexGovulncheck() error {
	f, err := db.fsys.Open("index/modules.json")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrVulnDB, err)
	}
	defer f.Close()
	dec := json.NewDecoder(io.LimitReader(f, maxIndexBytes))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%w: index/modules.json is not a JSON array", ErrVulnDB)
	}
	ids := make(map[string]bool)
	for dec.More() {
		var m struct {
			Path  string `json:"path"`
			Vulns []struct {
				ID string `json:"id"`
			} `json:"vulns"`
		}
		if err := dec.Decode(&m); err != nil {
			// The decoder cannot resynchronize inside an array: what was
			// read so far stays usable, the rest is one counted warning.
			db.warn.add("index/modules.json: %v (rest of the index skipped)", err)
			break
		}
		for _, v := range m.Vulns {
			if !validOSVID(v.ID) {
				db.warn.add("index/modules.json: module %s: invalid id %s", quoteShort(m.Path), quoteShort(v.ID))
				continue
			}
			ids[v.ID] = true
			db.byModule[m.Path] = append(db.byModule[m.Path], "ID/"+v.ID+".json")
		}
	}
	db.records = len(ids)
	return nil
}

// validOSVID reports whether id can name a file: no separator, no dot
// segment.
func validOSVID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsAny(id, `/\`) && id != "." && id != ".." && fs.ValidPath(id)
}

// readBounded reads name into buf, failing on a file over maxOSVBytes
// without reading it all.
func readBounded(fsys fs.FS, name string, buf *bytes.Buffer) error {
	f, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := buf.ReadFrom(io.LimitReader(f, maxOSVBytes+1))
	if err != nil {
		return err
	}
	if n > maxOSVBytes {
		return fmt.Errorf("larger than %d bytes", maxOSVBytes)
	}
	return nil
}

// Layout returns [LayoutOSV] or [LayoutGovulncheck].
func (db *VulnDB) Layout() string { return db.layout }

// Source returns the directory the database was opened from; empty for
// [OpenVulnDBFS].
func (db *VulnDB) Source() string { return db.source }

// Len returns the number of records indexed.
func (db *VulnDB) Len() int { return db.records }

// Modules returns the number of module paths that have records.
func (db *VulnDB) Modules() int { return len(db.byModule) }

// Warnings returns how many records or index entries were skipped while
// opening the database, and the first messages.
func (db *VulnDB) Warnings() (count int, messages []string) { return db.warn.snapshot() }

// Lookup returns the records that list module, read from the database
// now, sorted by ID. A record that cannot be read or is malformed is left
// out and described in skipped.
func (db *VulnDB) Lookup(module string) (records []*OSV, skipped []string) {
	var buf bytes.Buffer
	for _, name := range db.byModule[module] {
		e, err := db.read(name, &buf)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		records = append(records, e)
	}
	slices.SortFunc(records, func(a, b *OSV) int { return strings.Compare(a.ID, b.ID) })
	return records, skipped
}

func (db *VulnDB) read(name string, buf *bytes.Buffer) (*OSV, error) {
	buf.Reset()
	if err := readBounded(db.fsys, name, buf); err != nil {
		return nil, err
	}
	var e OSV
	if err := json.Unmarshal(buf.Bytes(), &e); err != nil {
		return nil, fmt.Errorf("not an OSV record: %v", err)
	}
	if path.Base(name) != e.ID+".json" {
		return nil, fmt.Errorf("record id %s does not match its file name", quoteShort(e.ID))
	}
	if p := e.validate(); p != "" {
		return nil, fmt.Errorf("malformed OSV record: %s", p)
	}
	return &e, nil
}

// ParseOSV decodes and checks one OSV record: the ID, at least one
// affected module, valid versions in its SEMVER ranges.
func ParseOSV(data []byte) (*OSV, error) {
	var e OSV
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("sbom: not an OSV record: %w", err)
	}
	if p := e.validate(); p != "" {
		return nil, fmt.Errorf("sbom: malformed OSV record %s: %s", quoteShort(e.ID), p)
	}
	return &e, nil
}

// WriteGovulncheckDB writes the database's readable records to dir in the
// layout `govulncheck -db file://DIR` documents (index/db.json,
// index/modules.json, ID/<ID>.json), each record copied byte for byte.
// Malformed records are left out. The index's modified times are the
// records' own (zero for the golang.org/x/vulndb module): nothing relies
// on them.
func (db *VulnDB) WriteGovulncheckDB(dir string) error {
	files := make(map[string]bool)
	for _, list := range db.byModule {
		for _, f := range list {
			files[f] = true
		}
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	slices.Sort(names)
	//paved:allow G301 a vulnerability database mirror is public data read by govulncheck
	if err := os.MkdirAll(path.Join(dir, "ID"), 0o755); err != nil {
		return err
	}
	//paved:allow G301 a vulnerability database mirror is public data read by govulncheck
	if err := os.MkdirAll(path.Join(dir, "index"), 0o755); err != nil {
		return err
	}
	type vulnMeta struct {
		ID       string    `json:"id"`
		Modified time.Time `json:"modified"`
		Fixed    string    `json:"fixed,omitempty"`
	}
	type moduleMeta struct {
		Path  string     `json:"path"`
		Vulns []vulnMeta `json:"vulns"`
	}
	modules := make(map[string]*moduleMeta)
	var newest time.Time
	var buf bytes.Buffer
	for _, name := range names {
		e, err := db.read(name, &buf)
		if err != nil {
			continue
		}
		var times struct {
			Modified time.Time `json:"modified"`
		}
		_ = json.Unmarshal(buf.Bytes(), &times)
		if times.Modified.After(newest) {
			newest = times.Modified
		}
		//paved:allow G306 a vulnerability database mirror is public data read by govulncheck
		if err := os.WriteFile(path.Join(dir, "ID", e.ID+".json"), buf.Bytes(), 0o644); err != nil {
			return err
		}
		for _, a := range e.Affected {
			m := modules[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name, Vulns: []vulnMeta{}}
				modules[a.Package.Name] = m
			}
			m.Vulns = append(m.Vulns, vulnMeta{ID: e.ID, Modified: times.Modified, Fixed: strings.TrimPrefix(nonSupersededFix(a.Ranges), "v")})
		}
	}
	list := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		slices.SortStableFunc(m.Vulns, func(a, b vulnMeta) int { return strings.Compare(a.ID, b.ID) })
		list = append(list, m)
	}
	slices.SortFunc(list, func(a, b *moduleMeta) int { return strings.Compare(a.Path, b.Path) })
	idx, err := json.Marshal(list)
	if err != nil {
		return err
	}
	//paved:allow G306 a vulnerability database mirror is public data read by govulncheck
	if err := os.WriteFile(path.Join(dir, "index", "modules.json"), idx, 0o644); err != nil {
		return err
	}
	meta, err := json.Marshal(struct {
		Modified time.Time `json:"modified"`
	}{newest})
	if err != nil {
		return err
	}
	//paved:allow G306 a vulnerability database mirror is public data read by govulncheck
	return os.WriteFile(path.Join(dir, "index", "db.json"), meta, 0o644)
}

// nonSupersededFix returns the latest fixed version of ranges unless a
// later introduction supersedes it ("" then), as the database index
// records it.
func nonSupersededFix(ranges []OSVRange) string {
	var latest string
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && osvLess(latest, e.Fixed) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && osvLess(latest, e.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}
