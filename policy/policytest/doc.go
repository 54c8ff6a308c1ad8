// Package policytest helps write table-driven tests of policies and of
// handlers protected by package policy.
package policytest
