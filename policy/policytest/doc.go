// Package policytest will help write table-driven tests of policies and of
// handlers protected by package policy. It has no code yet: package policy
// is planned.
package policytest
