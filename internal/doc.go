// Package internal holds helpers shared by paved's packages that no user
// should import: the test environment for the integration run (testenv) and,
// later, clocks, backoff and redaction helpers.
package internal
