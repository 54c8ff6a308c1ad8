package backoff

import (
	"context"
	"testing"
	"time"
)

func TestDelayBounds(t *testing.T) {
	p := Policy{Base: 10 * time.Millisecond, Cap: 80 * time.Millisecond}
	want := []time.Duration{10, 20, 40, 80, 80, 80}
	for i, w := range want {
		w *= time.Millisecond
		if got := p.Ceiling(i); got != w {
			t.Fatalf("Ceiling(%d) = %v, want %v", i, got, w)
		}
		for range 200 {
			d := p.Delay(i)
			if d < w/2 || d > w {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", i, d, w/2, w)
			}
		}
	}
	if got := p.Ceiling(1 << 20); got != p.Cap {
		t.Fatalf("huge attempt: %v", got)
	}
}

func TestZeroPolicy(t *testing.T) {
	var p Policy
	if d := p.Delay(0); d < 50*time.Millisecond || d > 100*time.Millisecond {
		t.Fatalf("zero policy first delay %v", d)
	}
	if c := p.Ceiling(100); c != 30*time.Second {
		t.Fatalf("zero policy cap %v", c)
	}
}

func TestSleepHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Sleep on a cancelled context: %v", err)
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
