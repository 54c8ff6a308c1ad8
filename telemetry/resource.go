package telemetry

import (
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
)

// Resource attribute keys paved adds beside the semantic conventions'
// service.* and vcs.* ones.
const (
	// KeyVCSRevision is the VCS revision the binary was built from
	// (semantic conventions' vcs.ref.head.revision).
	KeyVCSRevision = attribute.Key("vcs.ref.head.revision")
	// KeyVCSTime is the commit time of that revision, RFC 3339.
	KeyVCSTime = attribute.Key("paved.vcs.time")
	// KeyVCSModified is true when the tree had uncommitted changes.
	KeyVCSModified = attribute.Key("paved.vcs.modified")
)

// BuildInfo is what the binary knows of its own build, from
// runtime/debug.ReadBuildInfo.
type BuildInfo struct {
	// Module is the main module's path, Version its version ("(devel)"
	// for a local build).
	Module, Version string
	// Revision, Time and Modified are the vcs.revision, vcs.time and
	// vcs.modified build settings; empty or zero when the build had none
	// (go build -buildvcs=false, go run, go test).
	Revision string
	Time     time.Time
	Modified bool
}

// ReadBuildInfo returns the running binary's [BuildInfo].
func ReadBuildInfo() BuildInfo {
	var b BuildInfo
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module, b.Version = bi.Main.Path, bi.Main.Version
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.Time, _ = time.Parse(time.RFC3339, s.Value)
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// serviceVersion derives service.version from the build.
func (b BuildInfo) serviceVersion() string {
	if b.Version != "" && b.Version != "(devel)" {
		return b.Version
	}
	if b.Revision != "" {
		v := b.Revision
		if len(v) > 12 {
			v = v[:12]
		}
		if b.Modified {
			v += "-modified"
		}
		return v
	}
	return "unknown"
}

func defaultServiceName(b BuildInfo) string {
	if b.Module != "" && b.Module != "command-line-arguments" {
		name := path.Base(b.Module)
		// A major-version suffix (example.com/svc/v2) is not the name.
		if len(name) > 1 && name[0] == 'v' && strings.Trim(name[1:], "0123456789") == "" {
			name = path.Base(path.Dir(b.Module))
		}
		return name
	}
	if exe, err := os.Executable(); err == nil {
		return strings.TrimSuffix(filepath.Base(exe), ".test")
	}
	return "unknown_service"
}

// buildResource returns the resource: build info, the Config, then
// OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, each winning over the
// previous, and Config fields over everything.
func buildResource(s *settings, b BuildInfo) (*resource.Resource, error) {
	name := defaultServiceName(b)
	version := b.serviceVersion()
	var env string
	var extra []attribute.KeyValue
	for _, kv := range s.resAttrs {
		switch kv.Key {
		case "service.name":
			name = kv.Value.AsString()
		case "service.version":
			version = kv.Value.AsString()
		case "deployment.environment.name", "deployment.environment":
			env = kv.Value.AsString()
		default:
			extra = append(extra, kv)
		}
	}
	if v, ok := s.env("OTEL_SERVICE_NAME"); ok {
		name = v
	}
	if s.cfg.ServiceName != "" {
		name = s.cfg.ServiceName
	}
	if s.cfg.ServiceVersion != "" {
		version = s.cfg.ServiceVersion
	}
	if s.cfg.Environment != "" {
		env = s.cfg.Environment
	}
	attrs := []attribute.KeyValue{
		attribute.String("service.name", name),
		attribute.String("service.version", version),
		attribute.String("telemetry.sdk.language", "go"),
		attribute.String("telemetry.sdk.name", "opentelemetry"),
		attribute.String("telemetry.distro.name", "paved"),
	}
	if env != "" {
		attrs = append(attrs, attribute.String("deployment.environment.name", env))
	}
	if b.Revision != "" {
		attrs = append(attrs, KeyVCSRevision.String(b.Revision), KeyVCSModified.Bool(b.Modified))
	}
	if !b.Time.IsZero() {
		attrs = append(attrs, KeyVCSTime.String(b.Time.UTC().Format(time.RFC3339)))
	}
	attrs = append(attrs, extra...)
	attrs = append(attrs, s.cfg.Attributes...)
	return resource.NewSchemaless(attrs...), nil
}
