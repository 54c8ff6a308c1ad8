package sbom

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

// OpenVEX statuses (https://github.com/openvex/spec).
const (
	VEXNotAffected        = "not_affected"
	VEXAffected           = "affected"
	VEXFixed              = "fixed"
	VEXUnderInvestigation = "under_investigation"
)

// vexJustifications are the OpenVEX justifications of a not_affected
// statement.
var vexJustifications = []string{
	"component_not_present",
	"vulnerable_code_not_present",
	"vulnerable_code_not_in_execute_path",
	"vulnerable_code_cannot_be_controlled_by_adversary",
	"inline_mitigations_already_exist",
}

// maxVEXBytes bounds one VEX document.
const maxVEXBytes = 16 << 20

// ErrVEX is matched by the error of a VEX document that cannot be read at
// all (not JSON, not an OpenVEX document). Single bad statements are
// skipped and counted instead.
var ErrVEX = errors.New("sbom: unusable VEX document")

// A VEX is an OpenVEX document (v0.2.0, and the v0.0.x forms go-vex
// reads), reduced to the statements that are usable. A statement is
// skipped, and counted in Skipped, when it names no vulnerability or no
// product, has an unknown status, or is not_affected without one of the
// five OpenVEX justifications: a suppression always carries its reason.
type VEX struct {
	// ID is the document's @id.
	ID string
	// Author is the document's author.
	Author string
	// Timestamp is when the document was issued.
	Timestamp time.Time
	// Statements are the usable statements, in document order.
	Statements []VEXStatement
	// Skipped counts the statements left out; Warnings says why (the
	// first few).
	Skipped  int
	Warnings []string
}

// A VEXStatement says what one vulnerability means for some products.
type VEXStatement struct {
	// Vulnerability is the vulnerability's name (an OSV, CVE or GHSA ID)
	// and Aliases its other names.
	Vulnerability string
	Aliases       []string
	// Products are the products' identifiers (purls or @ids), each with
	// the subcomponents (purls) the statement is limited to, if any.
	Products []VEXProduct
	// Status is one of VEXNotAffected, VEXAffected, VEXFixed,
	// VEXUnderInvestigation.
	Status string
	// Justification is the not_affected justification, such as
	// "vulnerable_code_not_in_execute_path".
	Justification string
	// ImpactStatement says, in words, why the product is not affected.
	ImpactStatement string
	// Timestamp is the statement's time, else the document's; the latest
	// statement about a vulnerability and product wins.
	Timestamp time.Time
}

// A VEXProduct is a product a statement is about.
type VEXProduct struct {
	ID            string
	Subcomponents []string
}

// A Suppression records which VEX statement suppressed a finding and why.
type Suppression struct {
	// Document is the VEX document's @id.
	Document string `json:"document,omitempty"`
	// Product is the product identifier the statement matched.
	Product string `json:"product"`
	// Justification is the OpenVEX justification.
	Justification string `json:"justification"`
	// ImpactStatement is the statement's explanation, when it has one.
	ImpactStatement string `json:"impact_statement,omitempty"`
}

// Reason returns the suppression as one line: "not_affected
// (JUSTIFICATION): IMPACT [VEX DOC]".
func (s *Suppression) Reason() string {
	r := VEXNotAffected + " (" + s.Justification + ")"
	if s.ImpactStatement != "" {
		r += ": " + s.ImpactStatement
	}
	if s.Document != "" {
		r += " [VEX " + s.Document + "]"
	}
	return r
}

// ReadVEXFile reads an OpenVEX document from a file.
func ReadVEXFile(path string) (*VEX, error) {
	//paved:allow G304 the path is the caller's own argument: reading the file it names is this function's job
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVEX, err)
	}
	defer f.Close()
	v, err := ReadVEX(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ReadVEX reads an OpenVEX JSON document from r (at most 16 MiB).
func ReadVEX(r io.Reader) (*VEX, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxVEXBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVEX, err)
	}
	if len(data) > maxVEXBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrVEX, maxVEXBytes)
	}
	return ParseVEX(data)
}

// vexDoc is the wire form of an OpenVEX document.
type vexDoc struct {
	Context    string            `json:"@context"`
	ID         string            `json:"@id"`
	Author     string            `json:"author"`
	Timestamp  string            `json:"timestamp"`
	Statements []json.RawMessage `json:"statements"`
}

type vexWireStatement struct {
	Vulnerability   json.RawMessage   `json:"vulnerability"`
	Products        []json.RawMessage `json:"products"`
	Subcomponents   []json.RawMessage `json:"subcomponents"` // v0.0.x
	Status          string            `json:"status"`
	Justification   string            `json:"justification"`
	ImpactStatement string            `json:"impact_statement"`
	Timestamp       string            `json:"timestamp"`
}

type vexWireComponent struct {
	ID          string `json:"@id"`
	Identifiers struct {
		PURL string `json:"purl"`
	} `json:"identifiers"`
	Subcomponents []json.RawMessage `json:"subcomponents"`
}

// ParseVEX decodes an OpenVEX JSON document; see [VEX] for what is kept.
func ParseVEX(data []byte) (*VEX, error) {
	var d vexDoc
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVEX, err)
	}
	if !strings.HasPrefix(d.Context, "https://openvex.dev/ns") {
		return nil, fmt.Errorf("%w: @context %s is not OpenVEX's (https://openvex.dev/ns/...)", ErrVEX, quoteShort(d.Context))
	}
	v := &VEX{ID: d.ID, Author: d.Author}
	if d.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, d.Timestamp)
		if err != nil {
			return nil, fmt.Errorf("%w: document timestamp %s: %v", ErrVEX, quoteShort(d.Timestamp), err)
		}
		v.Timestamp = t
	}
	for i, raw := range d.Statements {
		s, problem := parseVEXStatement(raw, v.Timestamp)
		if problem != "" {
			v.Skipped++
			if len(v.Warnings) < maxWarnings {
				v.Warnings = append(v.Warnings, fmt.Sprintf("VEX %s statement %d: %s", vexOr(d.ID, "(no @id)"), i, problem))
			}
			continue
		}
		v.Statements = append(v.Statements, s)
	}
	return v, nil
}

func vexOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parseVEXStatement(raw json.RawMessage, docTime time.Time) (VEXStatement, string) {
	var w vexWireStatement
	if err := json.Unmarshal(raw, &w); err != nil {
		return VEXStatement{}, "not a statement: " + err.Error()
	}
	s := VEXStatement{Status: w.Status, Justification: w.Justification, ImpactStatement: strings.TrimSpace(w.ImpactStatement), Timestamp: docTime}
	if w.Timestamp != "" {
		t, err := time.Parse(time.RFC3339Nano, w.Timestamp)
		if err != nil {
			return VEXStatement{}, "invalid timestamp " + quoteShort(w.Timestamp)
		}
		s.Timestamp = t
	}
	// The vulnerability is an object (v0.2.0) or a bare name (v0.0.x).
	var name string
	if json.Unmarshal(w.Vulnerability, &name) != nil {
		var obj struct {
			ID      string   `json:"@id"`
			Name    string   `json:"name"`
			Aliases []string `json:"aliases"`
		}
		if json.Unmarshal(w.Vulnerability, &obj) != nil {
			return VEXStatement{}, "vulnerability is neither a name nor an object"
		}
		name = vexOr(obj.Name, obj.ID)
		s.Aliases = obj.Aliases
	}
	s.Vulnerability = strings.TrimSpace(name)
	if s.Vulnerability == "" {
		return VEXStatement{}, "names no vulnerability"
	}
	legacySubs, problem := vexIdentifiers(w.Subcomponents)
	if problem != "" {
		return VEXStatement{}, problem
	}
	for _, p := range w.Products {
		id, subs, problem := vexComponent(p)
		if problem != "" {
			return VEXStatement{}, problem
		}
		s.Products = append(s.Products, VEXProduct{ID: id, Subcomponents: append(subs, legacySubs...)})
	}
	if len(s.Products) == 0 {
		return VEXStatement{}, "names no product"
	}
	switch s.Status {
	case VEXNotAffected:
		if !slices.Contains(vexJustifications, s.Justification) {
			if s.Justification == "" {
				return VEXStatement{}, "not_affected without a justification"
			}
			return VEXStatement{}, "unknown justification " + quoteShort(s.Justification)
		}
	case VEXAffected, VEXFixed, VEXUnderInvestigation:
	default:
		return VEXStatement{}, "unknown status " + quoteShort(s.Status)
	}
	return s, ""
}

// vexComponent reads a product: a bare identifier (v0.0.x) or an object
// with @id or identifiers.purl and its subcomponents.
func vexComponent(raw json.RawMessage) (id string, subs []string, problem string) {
	if json.Unmarshal(raw, &id) == nil {
		if id = strings.TrimSpace(id); id == "" {
			return "", nil, "empty product identifier"
		}
		return id, nil, ""
	}
	var c vexWireComponent
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", nil, "product is neither an identifier nor an object"
	}
	id = strings.TrimSpace(vexOr(c.ID, c.Identifiers.PURL))
	if id == "" {
		return "", nil, "product has no @id and no purl"
	}
	subs, problem = vexIdentifiers(c.Subcomponents)
	return id, subs, problem
}

func vexIdentifiers(raws []json.RawMessage) ([]string, string) {
	var out []string
	for _, r := range raws {
		id, _, problem := vexComponent(r)
		if problem != "" {
			return nil, "subcomponent: " + problem
		}
		out = append(out, id)
	}
	return out, ""
}

// suppression returns the suppression of f in b by the latest statement
// that names f's vulnerability (by ID or alias) and a product of b, or nil
// when there is none or the latest is not not_affected (at equal times,
// affected, fixed or under_investigation beats not_affected).
//
// A statement's product matches when it is the build's main module or
// command ("pkg:golang/example.com/app", with or without its version) and
// its subcomponents, if it lists any, include the finding's module; or
// when the product is the finding's module itself
// ("pkg:golang/golang.org/x/text@v0.3.7", with or without the version)
// and it lists no subcomponents other than the module.
func suppression(docs []*VEX, b *Build, f Finding) *Suppression {
	var best *VEXStatement
	var bestDoc *VEX
	var bestProduct string
	for _, d := range docs {
		for i := range d.Statements {
			s := &d.Statements[i]
			if !vexNamesFinding(s, f) {
				continue
			}
			p, ok := vexMatchProduct(s, b, f)
			if !ok {
				continue
			}
			// The latest statement wins. At the same time (statements that
			// inherit one document's timestamp, documents without one), one
			// that does not suppress wins over not_affected: conflicting
			// statements fail closed, whatever their order.
			if best == nil || s.Timestamp.After(best.Timestamp) ||
				s.Timestamp.Equal(best.Timestamp) && best.Status == VEXNotAffected {
				best, bestDoc, bestProduct = s, d, p
			}
		}
	}
	if best == nil || best.Status != VEXNotAffected {
		return nil
	}
	return &Suppression{Document: bestDoc.ID, Product: bestProduct, Justification: best.Justification, ImpactStatement: best.ImpactStatement}
}

func vexNamesFinding(s *VEXStatement, f Finding) bool {
	for _, n := range f.names() {
		if strings.EqualFold(s.Vulnerability, n) || slices.ContainsFunc(s.Aliases, func(a string) bool { return strings.EqualFold(a, n) }) {
			return true
		}
	}
	return false
}

func vexMatchProduct(s *VEXStatement, b *Build, f Finding) (string, bool) {
	for _, p := range s.Products {
		// The finding's module as the product: unless the statement is
		// limited to subcomponents of it that are not the module itself.
		if purlMatches(p.ID, f.Module, f.Version) &&
			(len(p.Subcomponents) == 0 || slices.ContainsFunc(p.Subcomponents, func(sub string) bool { return purlMatches(sub, f.Module, f.Version) })) {
			return p.ID, true
		}
		if !purlMatches(p.ID, b.Main.Path, b.Main.Version) && (b.Command == "" || !purlMatches(p.ID, b.Command, "")) {
			continue
		}
		if len(p.Subcomponents) == 0 {
			return p.ID, true
		}
		for _, sub := range p.Subcomponents {
			if purlMatches(sub, f.Module, f.Version) {
				return p.ID, true
			}
		}
	}
	return "", false
}

// purlMatches reports whether id is the purl of Go module path, without a
// version or at version; qualifiers and subpath are ignored.
func purlMatches(id, path, version string) bool {
	if path == "" {
		return false
	}
	rest, ok := strings.CutPrefix(id, "pkg:golang/")
	if !ok {
		return false
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i]
	}
	name, ver, hasVersion := strings.Cut(rest, "@")
	name, err := url.PathUnescape(name)
	if err != nil {
		return false
	}
	if name != path {
		return false
	}
	if !hasVersion {
		return true
	}
	ver, err = url.PathUnescape(ver)
	return err == nil && version != "" && ver == version
}

// String returns the statement in one line, for logs and test failures.
func (s VEXStatement) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s", s.Vulnerability, s.Status)
	if s.Justification != "" {
		fmt.Fprintf(&b, " (%s)", s.Justification)
	}
	for _, p := range s.Products {
		fmt.Fprintf(&b, " %s", p.ID)
		if len(p.Subcomponents) > 0 {
			fmt.Fprintf(&b, "[%s]", strings.Join(p.Subcomponents, " "))
		}
	}
	return b.String()
}
