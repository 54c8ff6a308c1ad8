// Package httpxtest holds test helpers for code built on package httpx.
//
// Its store conformance suite is the one set of checks every httpx.Store
// must pass: the in-memory store in httpx's unit tests, the Redis store of
// package redislimit against a real Redis in the integration run, and any
// store of your own. Like testing/slogtest, it comes in two forms:
// [RunStoreConformance] runs each check as a subtest of a *testing.T, and
// [CheckStore] runs them all and returns what failed as an error.
package httpxtest
