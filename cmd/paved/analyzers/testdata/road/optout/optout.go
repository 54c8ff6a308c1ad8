package optout

import "example.com/road/paved"

var (
	good  = paved.AllowPlainHTTP("TLS ends at the mesh sidecar on this pod")
	empty = paved.AllowPlainHTTP("")                   // want `PAV103: AllowPlainHTTP reason "" does not say why`
	todo  = paved.AllowPlainHTTP("TODO")               // want `PAV103`
	x     = paved.AllowPlainHTTP("x")                  // want `PAV103`
	short = paved.AllowPlainHTTP("mesh")               // want `PAV103`
	other = paved.NewOptOut("httpx", "allow-x", "tbd") // want `PAV103: NewOptOut reason "tbd"`
)

func dynamic(reason string) paved.OptOut { return paved.AllowPlainHTTP(reason) }
