package paved

import (
	"errors"
	"strings"
)

// A ConfigError reports one invalid configuration field. Every validating
// constructor in paved (httpx.New, auth.New, ...) returns ConfigErrors, so a
// caller finds the field with [errors.As] and every fault at once with
// [ConfigErrors]. The message names the component, the field, what is
// wrong and what would be right; it never echoes a secret value.
type ConfigError struct {
	// Component is the package that validated the field, such as "httpx".
	Component string
	// Field is the path of the field, such as "Config.Addr" or
	// "Config.RateLimit.Policy.Window".
	Field string
	// Problem says what is wrong ("\"x\" is not host:port").
	Problem string
	// Fix says what would be right ("want host:port, such as
	// \"127.0.0.1:8443\"").
	Fix string
	// Err is the cause, when there is one to match with errors.Is (such as
	// [ErrNoReason]); it may be nil.
	Err error
}

// Error returns "component: field: problem; fix".
func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.Component != "" {
		b.WriteString(e.Component)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	switch {
	case e.Problem != "":
		b.WriteString(e.Problem)
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	default:
		b.WriteString("invalid")
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// Unwrap returns e.Err.
func (e *ConfigError) Unwrap() error { return e.Err }

// ConfigErrors returns every [*ConfigError] in err's tree, in order,
// following errors.Join and %w wrapping. It does not look inside a
// ConfigError's own Err: a ConfigError is one fault. It returns nil when
// there is none.
func ConfigErrors(err error) []*ConfigError {
	var out []*ConfigError
	var walk func(error)
	walk = func(err error) {
		for err != nil {
			if ce, ok := err.(*ConfigError); ok {
				out = append(out, ce)
				return
			}
			switch u := err.(type) {
			case interface{ Unwrap() []error }:
				for _, e := range u.Unwrap() {
					walk(e)
				}
				return
			case interface{ Unwrap() error }:
				err = u.Unwrap()
			default:
				return
			}
		}
	}
	walk(err)
	return out
}

// A ConfigCheck collects the faults of one configuration so that a
// constructor reports all of them at once rather than the first. The zero
// value is not useful: set Component.
//
//	c := paved.ConfigCheck{Component: "httpx"}
//	if cfg.Addr == "" { c.Add("Config.Addr", "empty", "want host:port") }
//	if err := c.Err(); err != nil { return nil, err }
type ConfigCheck struct {
	// Component fills ConfigError.Component.
	Component string
	// Prefix is put before every field, such as "Config.RateLimit.".
	Prefix string
	errs   []error
}

// Add records that field has problem, and what would fix it.
func (c *ConfigCheck) Add(field, problem, fix string) {
	c.errs = append(c.errs, &ConfigError{Component: c.Component, Field: c.Prefix + field, Problem: problem, Fix: fix})
}

// AddErr records that field failed with err (matched later with errors.Is),
// and what would fix it. A nil err records nothing.
func (c *ConfigCheck) AddErr(field string, err error, fix string) {
	if err == nil {
		return
	}
	c.errs = append(c.errs, &ConfigError{Component: c.Component, Field: c.Prefix + field, Problem: err.Error(), Fix: fix, Err: err})
}

// Merge records the errors of a nested validation (a sub-config's
// constructor): each *ConfigError in err's tree as it is, and any other
// error beside them as a ConfigError of the field Prefix names (without
// its final dot), so that nothing is lost. A nil err records nothing.
func (c *ConfigCheck) Merge(err error) {
	eachFault(err, func(ce *ConfigError, other error) {
		if ce == nil {
			ce = &ConfigError{Component: c.Component, Field: strings.TrimSuffix(c.Prefix, "."), Err: other}
		}
		c.errs = append(c.errs, ce)
	})
}

// eachFault calls f, in order, with each *ConfigError of err's tree (as
// [ConfigErrors] finds them) and with each largest part of the tree that
// holds none, so that every fault in err is seen once.
func eachFault(err error, f func(ce *ConfigError, other error)) {
	if err == nil {
		return
	}
	if ConfigErrors(err) == nil {
		f(nil, err)
		return
	}
	switch u := err.(type) {
	case *ConfigError:
		f(u, nil)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			eachFault(e, f)
		}
	case interface{ Unwrap() error }:
		eachFault(u.Unwrap(), f)
	}
}

// OK reports whether nothing was recorded.
func (c *ConfigCheck) OK() bool { return len(c.errs) == 0 }

// Err returns nil when nothing was recorded, the single *ConfigError when
// one was, and their errors.Join otherwise.
func (c *ConfigCheck) Err() error {
	switch len(c.errs) {
	case 0:
		return nil
	case 1:
		return c.errs[0]
	}
	return errors.Join(c.errs...)
}
