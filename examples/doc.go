// Package examples holds runnable programs that show paved in use:
//
//   - quickstart: a secure server on loopback that needs no infrastructure
//     (go run ./examples/quickstart).
//
// Later: a service template and one example per package.
package examples
