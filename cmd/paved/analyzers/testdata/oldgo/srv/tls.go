package srv

import "crypto/tls"

// Before go1.22 a server's default MinVersion is TLS 1.0.
var server = &tls.Config{Certificates: []tls.Certificate{}} // want `PAV102: tls.Config without MinVersion accepts TLS 1.0 under go1.21`

// Clients have defaulted to TLS 1.2 since go1.18.
var client = &tls.Config{}
