package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pavedroad/paved/cmd/paved/analyzers"
)

// A finding is one result of `paved vet` or `paved secrets`.
type finding struct {
	Rule     string `json:"rule"`
	Tool     string `json:"tool"` // paved, gosec or gitleaks
	Severity string `json:"severity"`
	CWE      int    `json:"cwe,omitempty"`
	File     string `json:"file"`
	Line     int    `json:"line"`
	Column   int    `json:"column,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
	// Summary describes the rule (SARIF's shortDescription).
	Summary string `json:"-"`
	// Verified is set by `paved secrets -verify`: "live", "not live" or
	// the reason it could not tell.
	Verified string `json:"verified,omitempty"`
	// Fingerprint is the baseline key of a secret (rule, file and
	// SHA-256 of the value); never the value.
	Fingerprint string `json:"fingerprint,omitempty"`
	// secret is the value `paved secrets -verify` checks; never written.
	secret string
}

// findingsReport is what both commands write.
type findingsReport struct {
	Command    string    `json:"command"`
	Findings   []finding `json:"findings"`
	Suppressed int       `json:"suppressed"`
	Skipped    []string  `json:"skipped,omitempty"`
	Errors     []string  `json:"errors,omitempty"`
}

func severityOf(s string) analyzers.Severity {
	v, _ := analyzers.ParseSeverity(s)
	return v
}

// failing counts findings at or above min.
func (r *findingsReport) failing(min analyzers.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if severityOf(f.Severity) >= min {
			n++
		}
	}
	return n
}

func (r *findingsReport) sort() {
	slices.SortFunc(r.Findings, func(a, b finding) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		if a.Column != b.Column {
			return a.Column - b.Column
		}
		return strings.Compare(a.Rule, b.Rule)
	})
	r.Findings = slices.CompactFunc(r.Findings, func(a, b finding) bool {
		return a.Rule == b.Rule && a.File == b.File && a.Line == b.Line && a.Column == b.Column && a.Commit == b.Commit && a.Message == b.Message
	})
}

func writeFindings(w io.Writer, format string, r *findingsReport) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if r.Findings == nil {
			r.Findings = []finding{}
		}
		return enc.Encode(r)
	case "sarif":
		return writeFindingsSARIF(w, r)
	}
	for _, f := range r.Findings {
		loc := f.File + ":" + strconv.Itoa(f.Line)
		if f.Column > 0 {
			loc += ":" + strconv.Itoa(f.Column)
		}
		if f.Commit != "" {
			loc = shortCommit(f.Commit) + ":" + loc
		}
		fmt.Fprintf(w, "%s: %s [%s] %s\n", loc, f.Rule, f.Severity, f.Message)
		if f.Verified != "" {
			fmt.Fprintf(w, "\tverify: %s\n", f.Verified)
		}
		fmt.Fprintf(w, "\tfix: %s\n", f.Fix)
	}
	return nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// writeFindingsSARIF writes one rule per rule ID (unique, as GitHub code
// scanning wants) and one result per finding, with a line region.
func writeFindingsSARIF(w io.Writer, r *findingsReport) error {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "paved " + r.Command, InformationURI: "https://github.com/pavedroad/paved", Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	idx := map[string]int{}
	for _, f := range r.Findings {
		i, ok := idx[f.Rule]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			idx[f.Rule] = i
			tags := []string{"security", f.Tool}
			if f.CWE > 0 {
				tags = append(tags, "external/cwe/cwe-"+strconv.Itoa(f.CWE))
			}
			summary := f.Summary
			if summary == "" {
				summary = f.Rule
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
				ID: f.Rule, ShortDescription: sarifMessage{summary}, FullDescription: sarifMessage{summary},
				Help: sarifMessage{f.Fix}, Properties: sarifProperties{Tags: tags},
			})
		}
		level := "warning"
		switch severityOf(f.Severity) {
		case analyzers.High:
			level = "error"
		case analyzers.Low:
			level = "note"
		}
		var region *sarifRegion
		if f.Line > 0 {
			region = &sarifRegion{StartLine: f.Line, StartColumn: f.Column}
		}
		res := sarifResult{
			RuleID: f.Rule, RuleIndex: i, Level: level, Message: sarifMessage{f.Message},
			Locations:  []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: filepath.ToSlash(f.File)}, Region: region}}},
			Properties: map[string]any{"severity": f.Severity, "tool": f.Tool},
		}
		if f.Commit != "" {
			res.Properties["commit"] = f.Commit
		}
		if f.Fingerprint != "" {
			res.PartialFingerprints = map[string]string{"pavedSecret/v1": f.Fingerprint}
		}
		run.Results = append(run.Results, res)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}

// parseFormatFailOn checks the two flags every findings command takes.
func parseFormatFailOn(e *env, cmd, format, failOn string) (analyzers.Severity, bool) {
	switch format {
	case "text", "json", "sarif":
	default:
		fmt.Fprintf(e.stderr, "paved %s: -format %q: want text, json or sarif\n", cmd, format)
		return 0, false
	}
	sev, ok := analyzers.ParseSeverity(failOn)
	if !ok {
		fmt.Fprintf(e.stderr, "paved %s: -fail-on %q: want low, medium or high\n", cmd, failOn)
		return 0, false
	}
	return sev, true
}
