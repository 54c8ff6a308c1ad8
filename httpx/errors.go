package httpx

// A ConfigError reports an invalid configuration field. Every validating
// constructor in httpx ([New], [NewRateLimiter], [NewRedisStore],
// [NewFileCertificate], [ResolveClientIP], [CrossOrigin]) returns one, so a
// caller can find the field with errors.As; the message says what would be
// right.
type ConfigError struct {
	// Field is the path of the field, such as "Config.Addr" or
	// "Config.RateLimit.Policy.Window".
	Field string
	// Err is the full error, which may wrap a cause such as
	// paved.ErrNoReason or [ErrPlainHTTP].
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }

// Unwrap returns e.Err.
func (e *ConfigError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &ConfigError{Field: field, Err: err} }
