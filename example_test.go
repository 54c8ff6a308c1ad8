package paved_test

import (
	"context"
	"fmt"

	"github.com/pavedroad/paved"
)

func ExampleOptOut() {
	o := paved.NewOptOut("httpx", "allow-plain-http", "TLS ends at the mesh sidecar")
	fmt.Println(o.Validate() == nil)
	fmt.Println(o)
	// Output:
	// true
	// httpx/allow-plain-http: TLS ends at the mesh sidecar
}

func ExamplePosture() {
	var p paved.Posture
	p.SetControl(paved.Control{Component: "httpx", Name: "tls", Enabled: true, Detail: "TLS 1.2+"})
	p.SetControl(paved.Control{Component: "httpx", Name: "rate-limit", Enabled: false})
	_ = p.AddOptOut(paved.NewOptOut("httpx", "no-rate-limit", "limited at the gateway"))
	r := p.Report()
	fmt.Printf("score %.2f, %d opt-out(s): %s\n", r.Score(), len(r.OptOuts), r.OptOuts[0].Reason)
	// Output: score 0.50, 1 opt-out(s): limited at the gateway
}

func ExampleWithPrincipal() {
	ctx := paved.WithPrincipal(context.Background(), &paved.Principal{Subject: "alice", Scopes: []string{"orders:read"}})
	if p, ok := paved.PrincipalFrom(ctx); ok {
		fmt.Println(p.Subject, p.HasScope("orders:read"))
	}
	// Output: alice true
}
