package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/pavedroad/paved"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ErrPostureUnprotected is the cause of [PostureHandler]'s error when it is
// given no authentication middleware and no AllowPublicPosture opt-out.
var ErrPostureUnprotected = errors.New("telemetry: the posture report needs an authentication middleware or the AllowPublicPosture opt-out")

// PostureConfig configures [PostureHandler].
type PostureConfig struct {
	// Posture is the registry reported; paved.DefaultPosture when nil.
	Posture *paved.Posture
	// Auth wraps the report, such as an auth.Verifier's middleware that
	// requires a token with a platform scope. Required unless OptOuts
	// holds AllowPublicPosture.
	Auth func(http.Handler) http.Handler
	// OptOuts may hold [AllowPublicPosture] (and nothing else).
	OptOuts []paved.OptOut
}

// PostureReport is the JSON document the posture handler serves: the
// controls and opt-outs of every component instance, each instance's
// score, and the process's score (that of its weakest instance).
type PostureReport struct {
	Service   string                `json:"service"`
	Version   string                `json:"version"`
	Score     float64               `json:"score"`
	Instances []paved.InstanceScore `json:"instances"`
	paved.Report
}

// NewPostureReport returns the report of p (paved.DefaultPosture when nil)
// for the service named by res attributes service.name and
// service.version.
func NewPostureReport(p *paved.Posture, service, version string) PostureReport {
	r := paved.PostureOrDefault(p).Report()
	inst := r.Instances()
	if inst == nil {
		inst = []paved.InstanceScore{}
	}
	return PostureReport{Service: service, Version: version, Score: r.Score(), Instances: inst, Report: r}
}

// PostureHandler returns the handler serving the posture report as JSON
// (GET and HEAD; no-store), behind cfg.Auth. Without cfg.Auth it needs
// the AllowPublicPosture opt-out, which it records, with its reason, in
// the posture it reports. Serve it under a path of your choosing, such as
// /.well-known/paved/posture.
func (t *Telemetry) PostureHandler(cfg PostureConfig) (http.Handler, error) {
	c := paved.ConfigCheck{Component: Component}
	public := false
	var pub paved.OptOut
	for i, o := range cfg.OptOuts {
		field := "PostureConfig.OptOuts[" + strconv.Itoa(i) + "]"
		switch {
		case o.Component != Component || o.Name != OptOutAllowPublicPosture:
			c.Add(field, o.Component+"/"+o.Name+" is not an opt-out of the posture handler", "only telemetry.AllowPublicPosture(reason) goes here")
		default:
			if err := o.Validate(); err != nil {
				c.Merge(&paved.ConfigError{Component: Component, Field: field, Problem: "the reason given to telemetry.AllowPublicPosture is empty",
					Fix: `say why, such as telemetry.AllowPublicPosture("the port is only reachable from the platform scraper")`, Err: err})
				continue
			}
			public, pub = true, o
		}
	}
	switch {
	case cfg.Auth == nil && !public && c.OK():
		c.Merge(&paved.ConfigError{Component: Component, Field: "PostureConfig.Auth", Problem: "no authentication middleware",
			Fix: "pass the auth middleware that guards your platform endpoints, or add telemetry.AllowPublicPosture(reason) to PostureConfig.OptOuts",
			Err: ErrPostureUnprotected})
	case cfg.Auth != nil && public:
		c.Add("PostureConfig.Auth", "set, and PostureConfig.OptOuts holds telemetry.AllowPublicPosture", "choose one")
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	p := paved.PostureOrDefault(cfg.Posture)
	reg := p.Register(Component, "posture")
	if public {
		_ = reg.AddOptOut(pub)
		reg.SetControl("posture-auth", false, "posture report served without authentication (opt-out)")
	} else {
		reg.SetControl("posture-auth", true, "posture report behind authentication")
	}
	service, version := "", ""
	if t != nil {
		service, version = t.serviceName(), t.serviceVersion()
	}
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := json.Marshal(NewPostureReport(p, service, version))
		if err != nil {
			http.Error(w, "posture report failed", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(append(body, '\n'))
		}
	})
	if cfg.Auth != nil {
		h = cfg.Auth(h)
	}
	return h, nil
}

func (t *Telemetry) serviceName() string {
	v, _ := t.res.Set().Value("service.name")
	return v.AsString()
}

func (t *Telemetry) serviceVersion() string {
	v, _ := t.res.Set().Value("service.version")
	return v.AsString()
}

// postureInstruments registers the posture gauges: paved.posture.control
// (1 enabled, 0 opted out) per component, instance and control,
// paved.posture.opt_outs per component and opt-out name,
// paved.posture.score per instance and paved.posture.compliance_score for
// the process (its weakest instance), read from the posture at each
// collection.
func (t *Telemetry) postureInstruments() error {
	if !t.metrics {
		return nil
	}
	m := t.meter
	control, err := m.Int64ObservableGauge("paved.posture.control", metric.WithDescription("1 when a security control is enabled, 0 when opted out."), metric.WithUnit("1"))
	if err != nil {
		return err
	}
	optOuts, err := m.Int64ObservableGauge("paved.posture.opt_outs", metric.WithDescription("Opt-outs from secure defaults in force."), metric.WithUnit("{opt_out}"))
	if err != nil {
		return err
	}
	inst, err := m.Float64ObservableGauge("paved.posture.score", metric.WithDescription("Share of enabled controls of each component instance."), metric.WithUnit("1"))
	if err != nil {
		return err
	}
	score, err := m.Float64ObservableGauge("paved.posture.compliance_score", metric.WithDescription("Score of the process: that of its weakest component instance, from 0 to 1."), metric.WithUnit("1"))
	if err != nil {
		return err
	}
	max := t.s.cfg.MaxAttributeSets
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		r := t.posture.Report()
		for i, c := range r.Controls {
			if i >= max {
				t.overflow.Add(context.Background(), 1, metric.WithAttributes(attribute.String("paved.instrument", "paved.posture.control")))
				break
			}
			v := int64(0)
			if c.Enabled {
				v = 1
			}
			o.ObserveInt64(control, v, metric.WithAttributes(KeyComponent.String(c.Component),
				attribute.String("paved.instance", c.Instance), attribute.String("paved.control", c.Name)))
		}
		counts := map[[2]string]int64{}
		for _, x := range r.OptOuts {
			counts[[2]string{x.Component, x.Name}]++
		}
		for k, n := range counts {
			o.ObserveInt64(optOuts, n, metric.WithAttributes(KeyComponent.String(k[0]), attribute.String("paved.opt_out", k[1])))
		}
		for _, s := range r.Instances() {
			o.ObserveFloat64(inst, s.Score, metric.WithAttributes(KeyComponent.String(s.Component), attribute.String("paved.instance", s.Instance)))
		}
		o.ObserveFloat64(score, r.Score())
		return nil
	}, control, optOuts, inst, score)
	return err
}
