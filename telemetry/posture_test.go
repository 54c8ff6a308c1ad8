package telemetry

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/pavedroad/paved"
)

func requireHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer platform" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestPostureHandler(t *testing.T) {
	p := &paved.Posture{}
	rg := newRig(t, Config{Posture: p, ServiceName: "orders", ServiceVersion: "v1.2.3"})
	reg := p.Register("httpx", "public")
	reg.SetControl("tls", false, "plain HTTP (opt-out)")
	reg.SetControl("rate-limit", true, "")
	_ = reg.AddOptOut(paved.NewOptOut("httpx", "allow-plain-http", "TLS ends at the mesh sidecar"))

	if _, err := rg.tel.PostureHandler(PostureConfig{Posture: p}); !errors.Is(err, ErrPostureUnprotected) {
		t.Fatalf("no auth: err = %v, want ErrPostureUnprotected", err)
	}
	if _, err := rg.tel.PostureHandler(PostureConfig{Posture: p, OptOuts: []paved.OptOut{AllowPublicPosture("")}}); !errors.Is(err, paved.ErrNoReason) {
		t.Fatalf("empty reason: err = %v", err)
	}
	h, err := rg.tel.PostureHandler(PostureConfig{Posture: p, Auth: requireHeader})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(h, "GET", "/posture", nil); w.Code != http.StatusUnauthorized {
		t.Errorf("without credentials: %d", w.Code)
	}
	w := serve(h, "GET", "/posture", map[string]string{"Authorization": "Bearer platform"})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
	var rep PostureReport
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Service != "orders" || rep.Version != "v1.2.3" || rep.Score != 0.5 || len(rep.OptOuts) != 1 || rep.OptOuts[0].Reason != "TLS ends at the mesh sidecar" {
		t.Errorf("report = %+v", rep)
	}
	if w := serve(h, "POST", "/posture", map[string]string{"Authorization": "Bearer platform"}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", w.Code)
	}

	pub, err := rg.tel.PostureHandler(PostureConfig{Posture: p, OptOuts: []paved.OptOut{AllowPublicPosture("only the platform scraper reaches this port")}})
	if err != nil {
		t.Fatal(err)
	}
	if w := serve(pub, "GET", "/posture", nil); w.Code != 200 {
		t.Errorf("public: %d", w.Code)
	}
	found := false
	for _, o := range p.Report().OptOuts {
		if o.Component == Component && o.Name == OptOutAllowPublicPosture && o.Reason == "only the platform scraper reaches this port" {
			found = true
		}
	}
	if !found {
		t.Error("the public opt-out is not in the posture")
	}

	rm := rg.collect(t)
	ctl := points(t, rm, "paved.posture.control")
	if ctl["paved.component=httpx,paved.control=tls,paved.instance=public"] != 0 || ctl["paved.component=httpx,paved.control=rate-limit,paved.instance=public"] != 1 {
		t.Errorf("control gauges = %v", ctl)
	}
	if got := points(t, rm, "paved.posture.compliance_score"); got[""] != p.Report().Score() {
		t.Errorf("score = %v, want %v", got, p.Report().Score())
	}
	if got := points(t, rm, "paved.posture.opt_outs"); got["paved.component=httpx,paved.opt_out=allow-plain-http"] != 1 {
		t.Errorf("opt-outs = %v", got)
	}
}
