package paved

import (
	"cmp"
	"context"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"sync"
)

// A Control is one security control an instance of a component enforces,
// as shown in the posture report.
type Control struct {
	// Component is the owning package, such as "httpx" or "auth".
	Component string `json:"component"`
	// Instance names the instance of the component that enforces it (a
	// server, a verifier), unique within the [Posture]; see
	// [Posture.Register].
	Instance string `json:"instance"`
	// Name identifies the control within its component, such as "tls".
	Name string `json:"name"`
	// Enabled is false when the control was switched off by an opt-out.
	Enabled bool `json:"enabled"`
	// Detail describes the effective setting ("TLS 1.2+, 6 AEAD suites").
	// A setting changed from its default says so here.
	Detail string `json:"detail,omitempty"`
}

// A Report is a point-in-time copy of a [Posture], sorted by component,
// instance and name.
type Report struct {
	Controls []Control `json:"controls"`
	OptOuts  []OptOut  `json:"opt_outs"`
}

// An InstanceScore is the share of enabled controls of one instance of a
// component.
type InstanceScore struct {
	Component string  `json:"component"`
	Instance  string  `json:"instance"`
	Enabled   int     `json:"enabled"`
	Total     int     `json:"total"`
	Score     float64 `json:"score"`
}

// Instances returns the score of each instance in the report, in the
// order of each instance's first control (sorted, for a report from
// [Posture.Report]).
func (r Report) Instances() []InstanceScore {
	var out []InstanceScore
	index := make(map[[2]string]int)
	for _, c := range r.Controls {
		k := [2]string{c.Component, c.Instance}
		i, ok := index[k]
		if !ok {
			i = len(out)
			index[k] = i
			out = append(out, InstanceScore{Component: c.Component, Instance: c.Instance})
		}
		s := &out[i]
		s.Total++
		if c.Enabled {
			s.Enabled++
		}
	}
	for i := range out {
		out[i].Score = float64(out[i].Enabled) / float64(out[i].Total)
	}
	return out
}

// Score returns the score of the weakest instance, from 0 to 1: a process
// is as strong as its weakest server or client, so a plain-HTTP server
// beside a TLS one lowers the score however many strong instances there
// are. A report with no controls scores 0: nothing is known to be
// enforced. [Report.Instances] gives every instance's own score.
func (r Report) Score() float64 {
	inst := r.Instances()
	if len(inst) == 0 {
		return 0
	}
	lo := math.Inf(1)
	for _, s := range inst {
		lo = min(lo, s.Score)
	}
	return lo
}

// Posture collects the controls and opt-outs of the component instances in
// a process. The zero value is ready to use. Most programs use
// [DefaultPosture]; tests and multi-tenant programs may keep their own.
type Posture struct {
	mu        sync.Mutex
	controls  map[key]Control
	optOuts   map[key]OptOut
	logged    map[key]bool
	instances map[[2]string]bool // component, instance
	seq       map[string]int     // per component, for unnamed instances
}

type key struct{ component, instance, name string }

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

// Register claims an instance of component in p and returns the handle
// through which that instance records its controls and opt-outs, so that
// two servers sharing a Posture never overwrite each other. An empty name
// becomes "1", "2", ... in order of registration; a name already claimed
// for component gets a suffix ("api", "api#2").
func (p *Posture) Register(component, name string) *Registration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.instances == nil {
		p.instances = make(map[[2]string]bool)
		p.seq = make(map[string]int)
	}
	inst := name
	for i := 2; inst == "" || p.instances[[2]string{component, inst}]; i++ {
		if name == "" {
			p.seq[component]++
			inst = strconv.Itoa(p.seq[component])
		} else {
			inst = name + "#" + strconv.Itoa(i)
		}
	}
	p.instances[[2]string{component, inst}] = true
	return &Registration{p: p, component: component, instance: inst}
}

// A Registration is one component instance's place in a [Posture].
type Registration struct {
	p         *Posture
	component string
	instance  string
}

// Component returns the component name.
func (g *Registration) Component() string { return g.component }

// Instance returns the instance name, unique for the component within the
// Posture.
func (g *Registration) Instance() string { return g.instance }

// SetControl registers or replaces the instance's control name.
func (g *Registration) SetControl(name string, enabled bool, detail string) {
	g.p.SetControl(Control{Component: g.component, Instance: g.instance, Name: name, Enabled: enabled, Detail: detail})
}

// AddOptOut records o for this instance; see [Posture.AddOptOut].
func (g *Registration) AddOptOut(o OptOut) error {
	o.Instance = g.instance
	return g.p.AddOptOut(o)
}

// SetControl registers or replaces a control, keyed by component, instance
// and name. Prefer [Posture.Register], which keeps instances apart.
func (p *Posture) SetControl(c Control) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.controls == nil {
		p.controls = make(map[key]Control)
	}
	p.controls[key{c.Component, c.Instance, c.Name}] = c
}

// AddOptOut records o. It returns o.Validate()'s error, and records nothing,
// when o is invalid. Recording the same opt-out of the same instance twice
// keeps the latest reason.
func (p *Posture) AddOptOut(o OptOut) error {
	if err := o.Validate(); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.optOuts == nil {
		p.optOuts = make(map[key]OptOut)
	}
	p.optOuts[key{o.Component, o.Instance, o.Name}] = o
	return nil
}

func compareKeys(a, b key) int {
	return cmp.Or(cmp.Compare(a.component, b.component), cmp.Compare(a.instance, b.instance), cmp.Compare(a.name, b.name))
}

func controlKey(c Control) key { return key{c.Component, c.Instance, c.Name} }
func optOutKey(o OptOut) key   { return key{o.Component, o.Instance, o.Name} }

// Report returns a copy of the registry, sorted by component, instance,
// then name.
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
	slices.SortFunc(r.Controls, func(a, b Control) int { return compareKeys(controlKey(a), controlKey(b)) })
	slices.SortFunc(r.OptOuts, func(a, b OptOut) int { return compareKeys(optOutKey(a), optOutKey(b)) })
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
				p.logged = make(map[key]bool)
			}
			p.logged[k] = true
			fresh = append(fresh, o)
		}
	}
	p.mu.Unlock()
	slices.SortFunc(fresh, func(a, b OptOut) int { return compareKeys(optOutKey(a), optOutKey(b)) })
	for _, o := range fresh {
		logger.LogAttrs(ctx, slog.LevelWarn, "paved: secure default opted out", slog.Any("opt_out", o))
	}
}
