package httpx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/pavedroad/paved"
)

// The server's health endpoints: /livez answers "ok" while the process
// serves; /readyz runs the readiness checks registered with
// [Server.AddCheck] and reports "draining" during a graceful shutdown.

// readyCacheTTL is how long a /readyz result is reused, so that a flood of
// probes cannot turn into a flood of checks against the dependencies.
const readyCacheTTL = time.Second

// AddCheck registers a readiness check under name, replacing any check of
// that name; a nil c removes it. /readyz runs every check, at most once a
// second however many probes arrive (concurrent probes share one run).
func (s *Server) AddCheck(name string, c Check) {
	s.readyMu.Lock()
	s.readyAt = time.Time{} // the next probe runs the new set
	s.readyMu.Unlock()
	s.checksMu.Lock()
	defer s.checksMu.Unlock()
	if c == nil {
		delete(s.checks, name)
		return
	}
	s.checks[name] = c
}

type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"`
}

type healthBody struct {
	Status string        `json:"status"`
	Checks []checkResult `json:"checks,omitempty"`
}

func healthMethod(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	WriteProblem(w, r, &Problem{Status: http.StatusMethodNotAllowed})
	return false
}

func writeHealth(w http.ResponseWriter, code int, b healthBody) {
	body, _ := json.Marshal(b)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}

func (s *Server) livez(w http.ResponseWriter, r *http.Request) {
	if healthMethod(w, r) {
		writeHealth(w, http.StatusOK, healthBody{Status: "ok"})
	}
}

// readyz reports readiness. The body lists each check as "ok" or "fail";
// errors are logged, never sent.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !healthMethod(w, r) {
		return
	}
	if s.draining.Load() {
		writeHealth(w, http.StatusServiceUnavailable, healthBody{Status: "draining"})
		return
	}
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < readyCacheTTL {
		writeHealth(w, s.readyCode, s.readyBody)
		return
	}
	code, b := s.runChecks(r.Context())
	s.readyAt, s.readyCode, s.readyBody = time.Now(), code, b
	writeHealth(w, code, b)
}

// runChecks runs every check concurrently under CheckTimeout.
func (s *Server) runChecks(ctx context.Context) (int, healthBody) {
	s.checksMu.RLock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	slices.Sort(names)
	for i, n := range names {
		checks[i] = s.checks[n]
	}
	s.checksMu.RUnlock()

	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.CheckTimeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = runCheck(ctx, c)
		}()
	}
	wg.Wait()
	b := healthBody{Status: "ok", Checks: make([]checkResult, len(names))}
	code := http.StatusOK
	for i, n := range names {
		b.Checks[i] = checkResult{Name: n, Status: "ok"}
		switch {
		case errs[i] == nil:
		case errors.Is(errs[i], ErrDegraded):
			b.Checks[i].Status = "degraded"
			if b.Status == "ok" {
				b.Status = "degraded"
			}
			s.logger.LogAttrs(ctx, slog.LevelWarn, "httpx: readiness check degraded",
				slog.String("check", n), slog.String("error", errs[i].Error()))
		default:
			b.Checks[i].Status = "fail"
			b.Status, code = "fail", http.StatusServiceUnavailable
			s.logger.LogAttrs(ctx, slog.LevelWarn, "httpx: readiness check failed",
				slog.String("check", n), slog.String("error", errs[i].Error()))
		}
	}
	s.noteReadiness(ctx, b.Status)
	return code, b
}

// runCheck runs c, turning a panic or an overrun into an error.
func runCheck(ctx context.Context, c Check) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				done <- fmt.Errorf("check panicked: %v", v)
			}
		}()
		done <- c.Check(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noteReadiness emits [paved.EventReadiness] when the aggregate status
// changes ("ok" is reported as "ready"), so that a platform can derive time
// to restore from degraded-to-ready transitions. Callers hold readyMu.
func (s *Server) noteReadiness(ctx context.Context, status string) {
	if status == "ok" {
		status = "ready"
	}
	if status == s.readyLast {
		return
	}
	prev := s.readyLast
	s.readyLast = status
	if prev == "" && status == "ready" {
		return // the first probe of a healthy server is no transition
	}
	outcome := paved.OutcomeSuccess
	if status != "ready" {
		outcome = paved.OutcomeFailure
	}
	paved.Emit(ctx, s.cfg.Events, paved.Event{
		Type: paved.EventReadiness, Component: Component, Outcome: outcome, Reason: status,
		Attrs: []slog.Attr{slog.String("previous", prev)},
	})
}
