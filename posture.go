package paved

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
)

// A Control is one security control a package enforces, as shown in the
// posture report.
type Control struct {
	// Component is the owning package, such as "httpx" or "auth".
	Component string `json:"component"`
	// Name identifies the control within its component, such as "tls".
	Name string `json:"name"`
	// Enabled is false when the control was switched off by an opt-out.
	Enabled bool `json:"enabled"`
	// Detail describes the effective setting ("TLS 1.2+, 6 AEAD suites").
	Detail string `json:"detail,omitempty"`
}

// A Report is a point-in-time copy of a [Posture].
type Report struct {
	Controls []Control `json:"controls"`
	OptOuts  []OptOut  `json:"opt_outs"`
}

// Score returns the share of registered controls that are enabled, from 0
// to 1. A report with no controls scores 0: nothing is known to be enforced.
func (r Report) Score() float64 {
	if len(r.Controls) == 0 {
		return 0
	}
	n := 0
	for _, c := range r.Controls {
		if c.Enabled {
			n++
		}
	}
	return float64(n) / float64(len(r.Controls))
}

// Posture collects the controls and opt-outs of the packages in a process.
// The zero value is ready to use. Most programs use [DefaultPosture]; tests
// and multi-tenant programs may keep their own.
type Posture struct {
	mu       sync.Mutex
	controls map[[2]string]Control
	optOuts  map[[2]string]OptOut
	logged   map[[2]string]bool
}

var defaultPosture Posture

// DefaultPosture returns the process-wide posture registry that packages
// use when their configuration does not name one.
func DefaultPosture() *Posture { return &defaultPosture }

// PostureOrDefault returns p, or [DefaultPosture] when p is nil.
func PostureOrDefault(p *Posture) *Posture {
	if p == nil {
		return DefaultPosture()
	}
	return p
}

// SetControl registers or replaces a control, keyed by component and name.
func (p *Posture) SetControl(c Control) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.controls == nil {
		p.controls = make(map[[2]string]Control)
	}
	p.controls[[2]string{c.Component, c.Name}] = c
}

// AddOptOut records o. It returns o.Validate()'s error, and records nothing,
// when o is invalid. Recording the same opt-out twice keeps the latest
// reason.
func (p *Posture) AddOptOut(o OptOut) error {
	if err := o.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.optOuts == nil {
		p.optOuts = make(map[[2]string]OptOut)
	}
	p.optOuts[[2]string{o.Component, o.Name}] = o
	return nil
}

// Report returns a copy of the registry, sorted by component then name.
func (p *Posture) Report() Report {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Report{Controls: make([]Control, 0, len(p.controls)), OptOuts: make([]OptOut, 0, len(p.optOuts))}
	for _, c := range p.controls {
		r.Controls = append(r.Controls, c)
	}
	for _, o := range p.optOuts {
		r.OptOuts = append(r.OptOuts, o)
	}
	slices.SortFunc(r.Controls, func(a, b Control) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Name, b.Name))
	})
	slices.SortFunc(r.OptOuts, func(a, b OptOut) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Name, b.Name))
	})
	return r
}

// LogOptOuts logs, at warning level, each recorded opt-out that has not been
// logged through p before, so that every opt-out appears once at startup
// however many servers or clients share the registry. A nil logger uses
// [slog.Default].
func (p *Posture) LogOptOuts(ctx context.Context, logger *slog.Logger) {
	if logger == nil {
		logger = slog.Default()
	}
	p.mu.Lock()
	var fresh []OptOut
	for k, o := range p.optOuts {
		if !p.logged[k] {
			if p.logged == nil {
				p.logged = make(map[[2]string]bool)
			}
			p.logged[k] = true
			fresh = append(fresh, o)
		}
	}
	p.mu.Unlock()
	slices.SortFunc(fresh, func(a, b OptOut) int {
		return cmp.Or(cmp.Compare(a.Component, b.Component), cmp.Compare(a.Name, b.Name))
	})
	for _, o := range fresh {
		logger.LogAttrs(ctx, slog.LevelWarn, "paved: secure default opted out", slog.Any("opt_out", o))
	}
}
