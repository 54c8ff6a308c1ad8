package httpx

import (
	"fmt"
	"strconv"
	"time"

	"github.com/pavedroad/paved"
)

// Ranges of the settings that bound a server's exposure; each field's
// comment in [Config], [RateLimitConfig] and [FileCertificateConfig]
// states the one it accepts. A floor keeps a setting from making the
// server useless (a timeout no client can meet); a ceiling keeps it from
// switching the control off in all but name.
const (
	minReadHeaderTimeout = time.Second
	maxReadHeaderTimeout = time.Minute
	minReadTimeout       = time.Second
	maxReadTimeout       = 10 * time.Minute
	minWriteTimeout      = time.Second
	maxWriteTimeout      = 10 * time.Minute
	minIdleTimeout       = time.Second
	maxIdleTimeout       = 10 * time.Minute
	minDrainTimeout      = 100 * time.Millisecond
	maxDrainTimeout      = 10 * time.Minute
	minCheckTimeout      = 10 * time.Millisecond
	maxCheckTimeout      = time.Minute
	minMaxHeaderBytes    = 4 << 10
	maxMaxHeaderBytes    = 1 << 20
	minMaxBodyBytes      = 1
	maxMaxBodyBytes      = 1 << 30
	minRateWindow        = time.Second
	maxRateWindow        = 24 * time.Hour
	// maxCheckInterval bounds FileCertificateConfig.CheckInterval.
	maxCheckInterval = time.Hour
)

// MaxClientsFloor and MaxClientsCeiling bound the key cap of a rate
// limiter's in-memory store ([RateLimitConfig.MaxClients], and the
// fallback of a Redis store): with fewer keys, a client cycling through
// addresses evicts everyone else's state; with more, the table outgrows
// the memory it is meant to protect (about 130 bytes a key).
const (
	MaxClientsFloor   = 1_000
	MaxClientsCeiling = 10_000_000
)

// checkRange records a ConfigError for field when *v is set and outside
// lo..hi, and replaces a zero *v with def.
func checkRange[T ~int | ~int64](c *paved.ConfigCheck, field string, v *T, def, lo, hi T, format func(T) string) {
	switch {
	case *v == 0:
		*v = def
	case *v < lo || *v > hi:
		c.Add(field, fmt.Sprintf("%s is outside the allowed range %s to %s", format(*v), format(lo), format(hi)),
			fmt.Sprintf("set it from %s to %s, or leave it 0 for the default %s", format(lo), format(hi), format(def)))
	}
}

// setting formats one effective setting for a posture detail, naming the
// default when the value differs from it: "read 45s (default 30s)".
func setting[T comparable](label string, v, def T, format func(T) string) string {
	return label + " " + withDefault(v, def, format)
}

// withDefault formats v, naming def when v differs from it: "45s
// (default 30s)".
func withDefault[T comparable](v, def T, format func(T) string) string {
	if v != def {
		return format(v) + " (default " + format(def) + ")"
	}
	return format(v)
}

// fmtDur formats d in the largest whole unit that fits: "2m", "45s",
// "250ms"; otherwise as time.Duration does.
func fmtDur(d time.Duration) string {
	if d > 0 {
		for _, u := range []struct {
			d    time.Duration
			name string
		}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
			if d%u.d == 0 {
				return strconv.FormatInt(int64(d/u.d), 10) + u.name
			}
		}
	}
	return d.String()
}

// fmtBytes formats n in the largest binary unit that divides it: "16 KiB",
// "1 MiB"; otherwise in bytes.
func fmtBytes[T ~int | ~int64](n T) string {
	if n > 0 {
		for _, u := range []struct {
			n    int64
			name string
		}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
			if int64(n)%u.n == 0 {
				return strconv.FormatInt(int64(n)/u.n, 10) + " " + u.name
			}
		}
	}
	return strconv.FormatInt(int64(n), 10) + " B"
}

// fmtCount formats a plain number.
func fmtCount[T ~int | ~int64](n T) string { return strconv.FormatInt(int64(n), 10) }
