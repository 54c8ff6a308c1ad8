package policy

import (
	"context"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/pavedroad/paved"
)

// Defaults applied by [New] to zero fields of [Config] and [BundleConfig].
const (
	DefaultTimeout        = 50 * time.Millisecond
	DefaultMaxInputDepth  = 32
	DefaultMaxInputNodes  = 10_000
	DefaultMaxInputBytes  = 1 << 20
	DefaultCacheSize      = 10_000
	DefaultPollInterval   = 30 * time.Second
	DefaultBundleMaxBytes = 16 << 20
	DefaultFetchTimeout   = 10 * time.Second
)

// Config configures an [Engine]. The zero value is not useful alone: set
// exactly one policy source (FS, Dir, Bundle.File or Bundle.URL). Every
// other zero field takes the default its comment states; a weaker setting
// takes a named opt-out in OptOuts. [New] validates all of it and returns a
// [paved.ConfigError] for every faulty field at once.
type Config struct {
	// Name names this engine in the posture report; empty means numbered
	// in order of creation.
	Name string

	// FS holds Rego modules (*.rego) and data (data.json, data.yaml) laid
	// out as an OPA bundle directory: a data file's directory is its path
	// under data. An embed.FS works. Test files (*_test.rego) are loaded
	// too, as OPA does; they define only test_ rules.
	FS fs.FS
	// Dir is a directory laid out as FS is.
	Dir string
	// Bundle loads an OPA bundle (tar.gz) from a file or polls it from an
	// HTTP bundle server.
	Bundle BundleConfig

	// Queries declares the decisions the service asks for, each prepared
	// when a policy loads: a query that does not compile fails the load.
	// [Engine.Decide] and [Engine.Query] also take a data reference
	// ("data.httpapi.authz.decision") not declared here, prepared on first
	// use and never cached.
	Queries []QueryConfig

	// Timeout bounds each evaluation. Default 50ms; from 1ms to 10s. An
	// evaluation past it denies with [CauseTimeout].
	Timeout time.Duration
	// MaxInputDepth bounds the nesting of an input. Default 32; from 2 to
	// 1000.
	MaxInputDepth int
	// MaxInputNodes bounds the number of values in an input (each object
	// member, array element and scalar counts one). Default 10,000; from
	// 10 to 10,000,000.
	MaxInputNodes int
	// MaxInputBytes bounds the total length of an input's strings and
	// object keys, and the length of an input given as json.RawMessage
	// (checked before it is parsed). Default 1 MiB; from 1 KiB to 1 GiB.
	MaxInputBytes int
	// CacheSize bounds the decision cache of the queries declared Pure, in
	// entries, across queries. Default 10,000; from 1 to 10,000,000.
	CacheSize int

	// HTTPSendHosts is the allow-list of host names ("api.example.com",
	// "192.0.2.7") an http.send allowed with AllowBuiltin may reach, as
	// OPA's capabilities allow_net: a name matches exactly, on any port.
	// Empty means none: an allowed http.send reaches no host. Setting it
	// without AllowBuiltin("http.send", ...) is an error.
	//
	// The list names hosts, not services: OPA ignores the port, so
	// "127.0.0.1" or "localhost" lets a policy reach every local port (a
	// Redis on 6379, an admin endpoint), and "localhost" also every Unix
	// socket (http.send's "unix://localhost/?socket=/path"). An allowed
	// http.send can also read the host's files and environment through
	// its tls_*_file and tls_*_env_variable options. Redirects are checked
	// against the list at each hop.
	HTTPSendHosts []string

	// DecisionLog, when set, receives every decision (policy-edge's
	// decision logger implements it). Nil logs nothing.
	DecisionLog DecisionLogger

	// Logger receives load, swap and poll messages; slog.Default when nil.
	Logger *slog.Logger
	// Posture records the engine's controls and opt-outs;
	// paved.DefaultPosture when nil.
	Posture *paved.Posture
	// Events receives a paved.EventPolicyDecision for every decision;
	// paved.DefaultSink when nil.
	Events paved.Sink

	// OptOuts lists the secure defaults this engine leaves, each with its
	// reason: [AllowUnsignedBundle], [AllowBuiltin]. They are recorded in
	// Posture and logged once, by New.
	OptOuts []paved.OptOut
}

// QueryConfig declares one decision.
type QueryConfig struct {
	// Name is how the service asks for the decision ("http"). Required,
	// unique.
	Name string
	// Path is the data reference whose value is the decision, such as
	// "data.httpapi.authz.decision". It evaluates to a boolean (allow), or
	// to an object with a boolean "allow", optional "reasons" (an array or
	// set of strings) and optional "obligations" (an object; anything
	// else denies with [CauseError], as the service could not meet it).
	Path string
	// Pure declares that the decision depends only on its input and the
	// loaded policy and data: its decisions are cached by input, and the
	// cache is cleared whenever a policy loads. A policy that calls a
	// non-deterministic built-in (time.now_ns, rand.intn, http.send...)
	// from any module makes a Pure query fail the load. The
	// [Authorizer]'s input holds input.time, in nanoseconds, so that no two
	// requests share an entry: for a Pure query behind it, set
	// AuthorizerConfig.Now to a func returning the zero time (input.time
	// is then left out), or to a truncated time.
	Pure bool
}

// BundleConfig configures an OPA bundle source.
type BundleConfig struct {
	// File is the path of a bundle (tar.gz). It is verified when Keys is
	// set, and may be unsigned otherwise (a file on the service's own disk
	// is trusted like Dir).
	File string
	// URL is the bundle's address on an HTTP bundle server, polled every
	// PollInterval with If-None-Match. https is required, except on a
	// loopback host, and so is it of every redirect. The bundle must be signed with one of Keys unless
	// OptOuts holds [AllowUnsignedBundle].
	URL string
	// Client fetches URL; a client with a 10s timeout when nil. A Client
	// without a Timeout of its own has each fetch bounded by 10s. The
	// engine uses a copy whose redirects off https and loopback are
	// refused before they are sent; the Client's own CheckRedirect runs
	// after that check.
	Client *http.Client
	// Header is added to each fetch (an Authorization for the server).
	Header http.Header
	// PollInterval is the time between fetches. Default 30s; from 1s to
	// 24h. Failed fetches retry with internal/backoff from 1s up to
	// PollInterval.
	PollInterval time.Duration
	// MaxBytes bounds the bundle, compressed and each file uncompressed.
	// Default 16 MiB; from 1 KiB to 1 GiB.
	MaxBytes int64

	// Keys verify the bundle's signature (.signatures.json), by key id.
	Keys map[string]VerificationKey
	// KeyID is the key to use when the signature names none. Optional;
	// when set it must be in Keys.
	KeyID string
	// Scope, when set, must equal the signature's scope.
	Scope string
	// Exclude lists files (globs) left out of the signature.
	Exclude []string
}

// A VerificationKey is a public key (or HMAC secret) that verifies bundle
// signatures.
type VerificationKey struct {
	// Algorithm is the JWS algorithm: RS256 (the default), RS384, RS512,
	// PS256..PS512, ES256..ES512, HS256..HS512.
	Algorithm string
	// Key is the PEM-encoded public key, or the HMAC secret.
	Key string
}

// A DecisionLogger receives every decision with its input. It must be safe
// for concurrent use and should not block. It must treat input as
// read-only; the decision's Reasons and Obligations are shared with the
// decision cache.
type DecisionLogger interface {
	LogDecision(ctx context.Context, d Decision, input ast.Value)
}

// DecisionLoggerFunc adapts a function to a [DecisionLogger].
type DecisionLoggerFunc func(ctx context.Context, d Decision, input ast.Value)

// LogDecision calls f(ctx, d, input).
func (f DecisionLoggerFunc) LogDecision(ctx context.Context, d Decision, input ast.Value) {
	f(ctx, d, input)
}

var _ DecisionLogger = DecisionLoggerFunc(nil)
