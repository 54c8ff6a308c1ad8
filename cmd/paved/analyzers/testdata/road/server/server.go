package server

import (
	"net/http"
	"time"
)

func serve(h http.Handler) {
	_ = http.ListenAndServe(":8080", h)          // want `PAV100: http.ListenAndServe serves with no read, write or idle timeout`
	s := &http.Server{Addr: ":8080", Handler: h} // want `PAV100: http.Server without ReadHeaderTimeout`
	_ = s.ListenAndServe()
	ok := &http.Server{Addr: ":8080", Handler: h, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute}
	_ = ok.ListenAndServe()
	//paved:allow PAV100 the debug listener binds to localhost only, behind the pod network
	_ = http.ListenAndServe("127.0.0.1:6060", nil)
	_ = http.ListenAndServe("127.0.0.1:6061", nil) //paved:allow PAV100 pprof listener on loopback, never exposed
	//paved:allow PAV100 todo
	_ = http.ListenAndServe(":6062", nil)          // want `PAV100`
	_ = http.ListenAndServe("127.0.0.1:6063", nil) //paved:allow PAV100 pprof listener on loopback, never exposed
	_ = http.ListenAndServe(":6064", nil)          // want `PAV100`
	//paved:allow PAV100 the debug listener binds to localhost only, behind the pod network

	_ = http.ListenAndServe(":6065", nil) // want `PAV100`
	//paved:allow G114 a different rule's reason covers only that rule
	_ = http.ListenAndServe(":6066", nil) // want `PAV100`
}
