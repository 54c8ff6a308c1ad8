package sbom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// OptOutAllowPublicSBOM is the name of the opt-out that serves the SBOM
// without authentication.
const OptOutAllowPublicSBOM = "allow-public-sbom"

// AllowPublicSBOM returns the opt-out that serves the SBOM to anyone, for
// when the bill of materials is published anyway (an open-source
// service). Scanners flag public SBOM endpoints: a module list with
// versions tells an attacker which vulnerabilities to try. Put it in
// [HandlerConfig.OptOuts].
func AllowPublicSBOM(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPublicSBOM, reason)
}

// DefaultPath is where services conventionally serve their SBOM.
const DefaultPath = "/.well-known/sbom"

// HandlerConfig configures [NewHandler]. Its zero value is refused (fail
// closed): give Protect, or the AllowPublicSBOM opt-out.
type HandlerConfig struct {
	// Build is the build to describe. Default: [Self], the running binary.
	Build *Build
	// Options are the document options (the declared license, chiefly).
	Options Options
	// Protect wraps the handler with authentication, such as an auth
	// Verifier's Middleware() (with a scope requirement if you like).
	// Required unless OptOuts holds [AllowPublicSBOM]; giving both is an
	// error.
	//
	// The handler trusts Protect: a middleware that calls the next handler
	// on failure (an "optional authentication" middleware that only
	// annotates the request, a logging wrapper) serves the SBOM to anyone,
	// and nothing here can tell. Protect must answer an unauthenticated
	// request itself (401/403) without calling next.
	Protect httpx.Middleware
	// OptOuts may hold [AllowPublicSBOM].
	OptOuts []paved.OptOut
	// Posture receives the handler's controls and opt-outs. Default:
	// [paved.DefaultPosture].
	Posture *paved.Posture
	// Name is the instance name in the posture report. Default: "1", "2"...
	Name string
	// Logger logs the opt-outs at start-up. Default: slog.Default.
	Logger *slog.Logger
}

// A representation is one precomputed document.
type representation struct {
	format      string   // the ?format= value
	mediaType   string   // bare media type, for negotiation
	contentType []string // the Content-Type header value
	etag        []string // the ETag header value
	length      []string // the Content-Length header value
	body        []byte
}

// handler serves precomputed documents.
type handler struct {
	reps    []*representation // reps[0] is the default
	vary    []string
	cache   []string
	allow   []string
	formats string

	// exact answers the Accept values clients send most (a bare media
	// type, */*), computed once; it is never written after newHandler.
	exact map[string]*representation
	// memo maps other Accept header values already negotiated to their
	// answer (nil: not acceptable), so that the usual few headers are
	// parsed once. It is copied on write and never changed once
	// published, so a lookup is one atomic load and a map read. It holds
	// at most memoMax entries: past that, headers are parsed on every
	// request, so that a client sending ever new headers cannot grow it.
	memo   atomic.Pointer[map[string]*representation]
	memoMu sync.Mutex
}

const memoMax = 256

// NewHandler returns the handler that serves the build's SBOM. It renders
// every document once, here, and serves the same bytes to every request:
//
//   - SPDX 2.3 JSON (application/spdx+json; the default, and for
//     application/json), SPDX 2.3 tag-value (text/spdx), CycloneDX 1.6
//     JSON (application/vnd.cyclonedx+json) and, when the binary can be
//     read, the in-toto provenance statement (application/vnd.in-toto+json),
//     chosen by the Accept header or by ?format=spdx-json, spdx-tv,
//     cyclonedx-json or provenance (406 problem when none is acceptable);
//   - a strong ETag per document, with If-None-Match answered by 304;
//   - GET and HEAD only (405 otherwise).
//
// The handler is wrapped with cfg.Protect; it is public only with the
// AllowPublicSBOM opt-out. Mount it at [DefaultPath].
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: "HandlerConfig."}
	var public paved.OptOut
	for i, o := range cfg.OptOuts {
		field := "OptOuts[" + strconv.Itoa(i) + "]"
		switch {
		case o.Component != Component || o.Name != OptOutAllowPublicSBOM:
			c.Add(field, "unknown opt-out "+o.Component+"/"+o.Name, "the sbom handler takes sbom.AllowPublicSBOM(reason) only")
		case o.Validate() != nil:
			c.AddErr(field, o.Validate(), `give a reason, such as sbom.AllowPublicSBOM("open-source service: the SBOM is published with each release")`)
		default:
			public = o
		}
	}
	switch {
	case cfg.Protect == nil && public.IsZero():
		c.Add("Protect", "nil: the SBOM would be served to anyone",
			"pass your authentication middleware (such as verifier.Middleware()), or sbom.AllowPublicSBOM(reason) in OptOuts")
	case cfg.Protect != nil && !public.IsZero():
		c.Add("Protect", "set together with the allow-public-sbom opt-out", "keep one: Protect, or the opt-out")
	}
	b := cfg.Build
	if b == nil && c.OK() {
		self, err := Self()
		if err != nil {
			c.AddErr("Build", err, "build the binary in module mode, or pass a Build")
		}
		b = self
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	h, err := newHandler(b, cfg.Options, cfg.Protect != nil)
	if err != nil {
		return nil, err
	}

	posture := paved.PostureOrDefault(cfg.Posture)
	reg := posture.Register(Component, cfg.Name)
	if public.IsZero() {
		reg.SetControl("sbom-endpoint", true, "served behind the caller's authentication middleware; formats "+h.formats)
	} else {
		reg.SetControl("sbom-endpoint", false, "public (allow-public-sbom); formats "+h.formats)
		_ = reg.AddOptOut(public) // validated above
	}
	if lic := b.license(cfg.Options); lic.expr != "" {
		reg.SetControl("license-declared", true, "main module license "+lic.expr)
	} else {
		reg.SetControl("license-declared", false, "NOASSERTION: declare it with -ldflags \"-X github.com/pavedroad/paved/sbom.License=EXPR\" or Options.License")
	}
	switch v := b.VCS; {
	case !v.Known():
		reg.SetControl("vcs-stamped", false, "no VCS revision in the build info (built outside a repository or with -buildvcs=false)")
	case v.Modified:
		reg.SetControl("vcs-stamped", false, v.System+" revision "+v.Revision+" with uncommitted changes")
	default:
		reg.SetControl("vcs-stamped", true, v.System+" revision "+v.Revision+", clean tree")
	}
	posture.LogOptOuts(context.Background(), cfg.Logger)

	if cfg.Protect != nil {
		return cfg.Protect(h), nil
	}
	return h, nil
}

// newHandler renders the documents of b.
func newHandler(b *Build, o Options, private bool) (*handler, error) {
	h := &handler{
		vary:  []string{"Accept"},
		allow: []string{"GET, HEAD"},
		cache: []string{"private, no-cache"},
	}
	if !private {
		h.cache = []string{"no-cache"}
	}
	add := func(format, mediaType, contentType string, body []byte) {
		sum := sha256.Sum256(body)
		h.reps = append(h.reps, &representation{
			format:      format,
			mediaType:   mediaType,
			contentType: []string{contentType},
			etag:        []string{`"` + hex.EncodeToString(sum[:16]) + `"`},
			length:      []string{strconv.Itoa(len(body))},
			body:        body,
		})
	}
	spdxJSON, err := b.SPDXJSON(o)
	if err != nil {
		return nil, err
	}
	add("spdx-json", MediaTypeSPDXJSON, MediaTypeSPDXJSON, spdxJSON)
	tv, err := b.SPDXTagValue(o)
	if err != nil {
		return nil, err
	}
	add("spdx-tv", MediaTypeSPDXTagValue, MediaTypeSPDXTagValue+"; charset=utf-8", tv)
	cdxJSON, err := b.CycloneDXJSON(o)
	if err != nil {
		return nil, err
	}
	add("cyclonedx-json", MediaTypeCycloneDXJSON, MediaTypeCycloneDXJSON+"; version=1.6", cdxJSON)
	if prov, err := b.ProvenanceJSON(o); err == nil {
		add("provenance", MediaTypeInToto, MediaTypeInToto, prov)
	}
	h.exact = make(map[string]*representation)
	for _, v := range []string{"*/*", "application/json", "text/*", "application/*"} {
		h.exact[v] = h.negotiate([]string{v})
	}
	for _, rep := range h.reps {
		h.exact[rep.mediaType] = rep
		h.exact[rep.contentType[0]] = rep
	}
	names := make([]string, len(h.reps))
	for i, r := range h.reps {
		names[i] = r.format
	}
	h.formats = strings.Join(names, ", ")
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr["Allow"] = h.allow
		httpx.WriteProblem(w, r, &httpx.Problem{Status: http.StatusMethodNotAllowed, Detail: "GET or HEAD"})
		return
	}
	rep := h.choose(r)
	if rep == nil {
		hdr["Vary"] = h.vary
		httpx.WriteProblem(w, r, &httpx.Problem{
			Status:     http.StatusNotAcceptable,
			Detail:     "no acceptable SBOM format",
			Extensions: map[string]any{"formats": h.available()},
		})
		return
	}
	hdr["Vary"] = h.vary
	hdr["Cache-Control"] = h.cache
	hdr["Etag"] = rep.etag
	// Direct map reads: net/http canonicalizes incoming header names.
	if inm := r.Header["If-None-Match"]; len(inm) > 0 && etagMatch(strings.Join(inm, ","), rep.etag[0]) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Type"] = rep.contentType
	hdr["Content-Length"] = rep.length
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(rep.body)
	}
}

// available lists the formats and media types served.
func (h *handler) available() []string {
	out := make([]string, len(h.reps))
	for i, r := range h.reps {
		out[i] = r.format + " (" + r.mediaType + ")"
	}
	return out
}

// choose picks the representation: ?format= first, then the Accept
// header's most preferred media range (RFC 9110 §12.5.1), ties going to
// the first listed; nil when none is acceptable.
func (h *handler) choose(r *http.Request) *representation {
	if r.URL.RawQuery != "" {
		if f := r.URL.Query().Get("format"); f != "" {
			for _, rep := range h.reps {
				if rep.format == f {
					return rep
				}
			}
			return nil
		}
	}
	accept := r.Header["Accept"]
	switch len(accept) {
	case 0:
		return h.reps[0]
	case 1:
		if rep, ok := h.exact[accept[0]]; ok {
			return rep
		}
		if m := h.memo.Load(); m != nil {
			if rep, ok := (*m)[accept[0]]; ok {
				return rep
			}
		}
		rep := h.negotiate(accept)
		h.remember(accept[0], rep)
		return rep
	}
	return h.negotiate(accept)
}

// remember adds accept's answer to the memo, while it has room.
func (h *handler) remember(accept string, rep *representation) {
	h.memoMu.Lock()
	defer h.memoMu.Unlock()
	var old map[string]*representation
	if m := h.memo.Load(); m != nil {
		old = *m
	}
	if len(old) >= memoMax {
		return
	}
	m := make(map[string]*representation, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[accept] = rep
	h.memo.Store(&m)
}

// negotiate picks the representation the Accept header values prefer.
// Each representation takes the q value of the most specific media range
// that matches it (RFC 9110 §12.5.1), so that "application/spdx+json;q=0,
// */*" refuses SPDX JSON and serves the next format; among equal q values
// the one matched by the more specific range wins, then the first listed.
func (h *handler) negotiate(accept []string) *representation {
	var best *representation
	bestQ, bestSpec := 0.0, -1
	for _, rep := range h.reps {
		q, spec := 0.0, -1
		for _, line := range accept {
			for part := range strings.SplitSeq(line, ",") {
				mt, pq := parseMediaRange(part)
				if mt == "" || pq < 0 {
					continue
				}
				s := matchSpecificity(mt, rep.mediaType)
				if s > spec || s == spec && pq > q {
					q, spec = pq, s
				}
			}
		}
		if spec < 0 || q <= 0 {
			continue
		}
		if q > bestQ || q == bestQ && spec > bestSpec {
			best, bestQ, bestSpec = rep, q, spec
		}
	}
	return best
}

// parseMediaRange returns the lower-cased media range of one Accept
// element and its q value (1 when absent, -1 when malformed).
func parseMediaRange(s string) (string, float64) {
	mt, params, _ := strings.Cut(s, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	q := 1.0
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return "", -1
			}
			q = f
		}
	}
	return mt, q
}

// matchSpecificity says how a media range matches a media type: 2 exact,
// 1 type/*, 0 */*, -1 no match. application/json matches the SPDX JSON
// document exactly.
func matchSpecificity(rangeType, mediaType string) int {
	switch {
	case rangeType == mediaType:
		return 2
	case rangeType == "application/json" && mediaType == MediaTypeSPDXJSON:
		return 2
	case rangeType == "*/*":
		return 0
	case strings.HasSuffix(rangeType, "/*") && strings.HasPrefix(mediaType, rangeType[:len(rangeType)-1]):
		return 1
	}
	return -1
}

// etagMatch applies If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatch(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
