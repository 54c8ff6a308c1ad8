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
	public := p.Register("httpx", "public")
	public.SetControl("tls", true, "TLS 1.2+")
	public.SetControl("rate-limit", true, "600/min")
	internal := p.Register("httpx", "internal")
	internal.SetControl("tls", true, "TLS 1.2+")
	internal.SetControl("rate-limit", false, "disabled (opt-out)")
	_ = internal.AddOptOut(paved.NewOptOut("httpx", "disable-rate-limit", "limited at the gateway"))
	r := p.Report()
	for _, s := range r.Instances() {
		fmt.Printf("%s/%s %.2f\n", s.Component, s.Instance, s.Score)
	}
	fmt.Printf("score %.2f, opt-out %s/%s: %s\n", r.Score(), r.OptOuts[0].Instance, r.OptOuts[0].Name, r.OptOuts[0].Reason)
	// Output:
	// httpx/internal 0.50
	// httpx/public 1.00
	// score 0.50, opt-out internal/disable-rate-limit: limited at the gateway
}

func ExampleConfigCheck() {
	c := paved.ConfigCheck{Component: "example", Prefix: "Config."}
	c.Add("Addr", `"localhost" has no port`, `want host:port, such as "127.0.0.1:8443"`)
	c.Add("Timeout", "-1s is negative", "want a positive duration, or 0 for the default 5s")
	for _, e := range paved.ConfigErrors(c.Err()) {
		fmt.Println(e)
	}
	// Output:
	// example: Config.Addr: "localhost" has no port; want host:port, such as "127.0.0.1:8443"
	// example: Config.Timeout: -1s is negative; want a positive duration, or 0 for the default 5s
}

func ExampleWithPrincipal() {
	ctx := paved.WithPrincipal(context.Background(), &paved.Principal{Subject: "alice", Scopes: []string{"orders:read"}})
	if p, ok := paved.PrincipalFrom(ctx); ok {
		fmt.Println(p.Subject, p.HasScope("orders:read"))
	}
	// Output: alice true
}
