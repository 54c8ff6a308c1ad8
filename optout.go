package paved

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// ErrNoReason is returned when an opt-out is requested without a reason.
var ErrNoReason = errors.New("paved: an opt-out needs a non-empty reason")

// An OptOut records that a service left a secure default on purpose.
//
// It is the only way to weaken a control in paved: packages expose
// constructors such as httpx.AllowPlainHTTP(reason) that return an OptOut,
// and the zero configuration never contains one. The reason is free text
// meant for the platform team reading the posture report ("TLS ends at the
// mesh sidecar", "provider does not set typ").
type OptOut struct {
	// Component is the package that owns the control, such as "httpx".
	Component string `json:"component"`
	// Instance names the component instance that took it (see
	// [Posture.Register]); the package fills it when it records the
	// opt-out, so constructors leave it empty.
	Instance string `json:"instance,omitempty"`
	// Name identifies the opt-out within its component. It is the
	// kebab-case form of the constructor that returns it:
	// httpx.AllowPlainHTTP returns "allow-plain-http".
	Name string `json:"name"`
	// Reason says why the service needs it. Never empty in a valid OptOut.
	Reason string `json:"reason"`
}

// NewOptOut returns an OptOut for component and name with the given reason.
// It does not validate; call [OptOut.Validate] or let the consuming
// package's constructor do it.
func NewOptOut(component, name, reason string) OptOut {
	return OptOut{Component: component, Name: name, Reason: strings.TrimSpace(reason)}
}

// IsZero reports whether o is the zero OptOut, meaning "not opted out".
func (o OptOut) IsZero() bool { return o == OptOut{} }

// Validate reports whether o names its component and opt-out and carries a
// reason. The error wraps [ErrNoReason] when only the reason is missing.
func (o OptOut) Validate() error {
	switch {
	case o.Component == "" || o.Name == "":
		return fmt.Errorf("paved: opt-out %q/%q must name its component and itself", o.Component, o.Name)
	case strings.TrimSpace(o.Reason) == "":
		return fmt.Errorf("%w: %s/%s", ErrNoReason, o.Component, o.Name)
	}
	return nil
}

// String returns "component/name: reason".
func (o OptOut) String() string { return o.Component + "/" + o.Name + ": " + o.Reason }

// LogValue implements [slog.LogValuer].
func (o OptOut) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("component", o.Component)}
	if o.Instance != "" {
		attrs = append(attrs, slog.String("instance", o.Instance))
	}
	return slog.GroupValue(append(attrs, slog.String("name", o.Name), slog.String("reason", o.Reason))...)
}
