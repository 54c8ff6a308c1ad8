package main

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
)

// SARIF 2.1.0 (https://docs.oasis-open.org/sarif/sarif/v2.1.0/), the
// subset paved writes: audit (one rule per vulnerability ID, one result
// per vulnerable module), vet and secrets (results with a region and a
// fingerprint), check (a region, suppressions, the invocation's
// notifications and the artifacts judged). Every optional part is
// omitempty, so each command's log holds only what it sets.
type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool        sarifTool         `json:"tool"`
	Invocations []sarifInvocation `json:"invocations,omitempty"`
	Results     []sarifResult     `json:"results"`
	Artifacts   []sarifArtifacts  `json:"artifacts,omitempty"`
}

type sarifArtifacts struct {
	Location sarifArtifact `json:"location"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level     string          `json:"level"`
	Message   sarifMessage    `json:"message"`
	Locations []sarifLocation `json:"locations,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string          `json:"id"`
	ShortDescription sarifMessage    `json:"shortDescription"`
	FullDescription  sarifMessage    `json:"fullDescription"`
	HelpURI          string          `json:"helpUri,omitempty"`
	Help             sarifMessage    `json:"help"`
	Properties       sarifProperties `json:"properties"`
}

type sarifProperties struct {
	Tags []string `json:"tags,omitempty"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Level               string             `json:"level"`
	Message             sarifMessage       `json:"message"`
	Locations           []sarifLocation    `json:"locations"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification"`
}

// writeSARIF writes r as a SARIF 2.1.0 log: findings are errors,
// informational findings notes, suppressed findings notes with an
// accepted external suppression carrying the VEX reason.
func writeSARIF(w io.Writer, r *auditResult) error {
	run := sarifRun{
		Tool:    sarifTool{Driver: sarifDriver{Name: "paved", InformationURI: "https://github.com/pavedroad/paved", Rules: []sarifRule{}}},
		Results: []sarifResult{},
	}
	ruleIndex := make(map[string]int)
	uri := filepath.ToSlash(r.Binary)
	add := func(f auditFinding, level string) {
		i, ok := ruleIndex[f.ID]
		if !ok {
			i = len(run.Tool.Driver.Rules)
			ruleIndex[f.ID] = i
			summary := f.Summary
			if summary == "" {
				summary = f.ID
			}
			full := summary
			if len(f.Aliases) > 0 {
				full += " (" + strings.Join(f.Aliases, ", ") + ")"
			}
			help := "Upgrade " + f.Module
			if f.FixedVersion != "" {
				help += " to " + f.FixedVersion + " or later"
			} else {
				help += " once a fix is released"
			}
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
				ID: f.ID, ShortDescription: sarifMessage{summary}, FullDescription: sarifMessage{full},
				HelpURI: f.URL, Help: sarifMessage{help + "."}, Properties: sarifProperties{Tags: append([]string{"security", "vulnerability"}, f.Aliases...)},
			})
		}
		msg := f.ID + ": " + f.Module + "@" + f.Version + " is vulnerable"
		if len(f.Symbols) > 0 {
			msg += "; linked: " + strings.Join(f.Symbols, ", ")
		}
		if f.FixedVersion != "" {
			msg += "; fixed in " + f.FixedVersion
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: i, Level: level, Message: sarifMessage{msg},
			Locations:  []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: uri}}}},
			Properties: map[string]any{"module": f.Module, "version": f.Version, "level": f.Level, "severity": string(f.Severity)},
		}
		if f.Suppression != nil {
			res.Suppressions = []sarifSuppression{{Kind: "external", Status: "accepted", Justification: f.Suppression.Reason()}}
		}
		run.Results = append(run.Results, res)
	}
	for _, f := range r.Findings {
		add(f, "error")
	}
	for _, f := range r.Informational {
		add(f, "note")
	}
	for _, f := range r.Suppressed {
		add(f, "note")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(sarifLog{Schema: "https://json.schemastore.org/sarif-2.1.0.json", Version: "2.1.0", Runs: []sarifRun{run}})
}
