package sbom

import (
	"net/http"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/httpx"
)

// OptOutAllowPublicSBOM is the name of the opt-out that serves the SBOM
// without authentication.
const OptOutAllowPublicSBOM = "allow-public-sbom"

// AllowPublicSBOM returns the opt-out that serves the SBOM to anyone.
func AllowPublicSBOM(reason string) paved.OptOut {
	return paved.NewOptOut(Component, OptOutAllowPublicSBOM, reason)
}

// DefaultPath is where services conventionally serve their SBOM.
const DefaultPath = "/.well-known/sbom"

// HandlerConfig configures [NewHandler].
type HandlerConfig struct {
	// Build is the build to describe. Default: [Self].
	Build *Build
	// Options are the document options.
	Options Options
	// Protect wraps the handler with authentication (such as an auth
	// Verifier's Middleware). Required unless OptOuts has AllowPublicSBOM.
	Protect httpx.Middleware
	// OptOuts may hold [AllowPublicSBOM].
	OptOuts []paved.OptOut
	// Posture receives the handler's controls. Default: paved.DefaultPosture.
	Posture *paved.Posture
	// Name is the instance name in the posture report.
	Name string
}

// NewHandler returns the handler that serves the SBOM documents.
func NewHandler(cfg HandlerConfig) (http.Handler, error) { return nil, errTODO }
