// Package paved is a stand-in for the SDK's OptOut.
package paved

type OptOut struct{ Name, Reason string }

func NewOptOut(component, name, reason string) OptOut { return OptOut{Name: name, Reason: reason} }

func AllowPlainHTTP(reason string) OptOut { return NewOptOut("httpx", "allow-plain-http", reason) }
