package auth

import (
	"context"
	"crypto/sha256"
	"strconv"
	"testing"
	"time"
)

// After a burst leaves many live renewals, later renewals must still be
// swept and shared.
func TestRenewalsSweptAfterBurst(t *testing.T) {
	var rs renewals
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	runs := 0
	renew := func(context.Context) (sessionState, string, bool) {
		runs++
		return sessionState{Access: "at", Refresh: "rt"}, "v", true
	}
	for i := range 65_000 {
		rs.do(ctx, sha256.Sum256([]byte("burst"+strconv.Itoa(i))), now, renew)
	}
	later := now.Add(time.Hour)
	for i := range 40_000 {
		rs.do(ctx, sha256.Sum256([]byte("later"+strconv.Itoa(i))), later, renew)
	}
	runs = 0
	k := sha256.Sum256([]byte("k"))
	_, s1 := rs.do(ctx, k, later, renew)
	_, s2 := rs.do(ctx, k, later.Add(time.Second), renew)
	if runs != 1 || s1 || !s2 {
		t.Fatalf("renew ran %d times, shared %v %v; want 1, false true", runs, s1, s2)
	}
	if n := len(rs.m); n > 40_001 {
		t.Fatalf("%d renewals kept, want the expired burst swept", n)
	}
}

// A renewal is dropped, with its tokens, when its grace has passed:
// looked up, or swept by time whatever the map's size.
func TestExpiredRenewalDropped(t *testing.T) {
	var rs renewals
	ctx := context.Background()
	now := time.Unix(1_700_000_000, 0)
	renew := func(context.Context) (sessionState, string, bool) {
		return sessionState{Access: "at", Refresh: "rt"}, "v", true
	}
	for i := range 2000 {
		rs.do(ctx, sha256.Sum256([]byte("k"+strconv.Itoa(i))), now, renew)
	}
	rs.do(ctx, sha256.Sum256([]byte("other")), now.Add(renewalGrace), renew)
	if len(rs.m) != 1 {
		t.Fatalf("%d renewals kept past their grace, want only the new one", len(rs.m)-1)
	}
}
