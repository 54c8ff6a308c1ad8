package httpx

import (
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"
)

// TestMemShardModel drives one shard through random inserts, growth and
// evictions and checks it against a plain map: every tracked key stays
// findable, and its limiter keeps its tokens when moved.
func TestMemShardModel(t *testing.T) {
	p := RatePolicy{Name: "m", Limit: 1000, Window: time.Hour, Burst: 1000}.WithDefaults()
	s := NewMemoryStore(1) // one shard
	s.perShard, s.maxSlots = 300, 300*4/3+2
	sh := &s.shards[0]
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Unix(1_700_000_000, 0)
	want := map[string]int{} // key -> requests taken
	for step := range 20000 {
		now = now.Add(time.Microsecond) // refill is negligible at 1000/h
		k := "k" + string(rune('a'+rng.IntN(26))) + string(rune('a'+rng.IntN(26)))
		d := s.take(k, p, now)
		if _, ok := want[k]; !ok && sh.n < len(want)+1 {
			// k evicted another key; find which.
			for old := range want {
				if _, found := sh.find(s.hash(old, p)); !found {
					delete(want, old)
				}
			}
		}
		want[k]++
		if got, exp := d.Remaining, 1000-want[k]; got != exp {
			t.Fatalf("step %d key %s: remaining %d, want %d", step, k, got, exp)
		}
		if sh.n != len(want) || sh.n > s.perShard {
			t.Fatalf("step %d: shard holds %d, model %d, cap %d", step, sh.n, len(want), s.perShard)
		}
		checkShard(t, sh)
	}
	for k, n := range want {
		pos, found := sh.find(s.hash(k, p))
		if !found {
			t.Fatalf("key %s lost", k)
		}
		if got := int(sh.slots[pos].lim.TokensAt(now)); got != 1000-n && got != 1000-n-1 {
			t.Fatalf("key %s: tokens %d, want %d", k, got, 1000-n)
		}
	}
}

// checkShard checks the table's invariants: each slot's tag matches its
// hash (zero for an empty slot), each occupied slot is where find looks
// for its hash, and n counts the occupied slots.
func checkShard(t *testing.T, sh *memShard) {
	t.Helper()
	if len(sh.tags) != len(sh.slots) {
		t.Fatalf("%d tags for %d slots", len(sh.tags), len(sh.slots))
	}
	n := 0
	for p := range sh.slots {
		e := &sh.slots[p]
		switch {
		case e.h == 0 && sh.tags[p] != 0:
			t.Fatalf("empty slot %d has tag %#x", p, sh.tags[p])
		case e.h == 0:
			continue
		case sh.tags[p] != tag(e.h):
			t.Fatalf("slot %d: tag %#x, want %#x", p, sh.tags[p], tag(e.h))
		}
		n++
		if got, found := sh.find(e.h); !found || got != p {
			t.Fatalf("slot %d: find gives %d, %v", p, got, found)
		}
	}
	if n != sh.n {
		t.Fatalf("%d occupied slots, n = %d", n, sh.n)
	}
}

// TestMemShardSize holds memShard to one cache line; see its doc.
func TestMemShardSize(t *testing.T) {
	if n := unsafe.Sizeof(memShard{}); n != 64 {
		t.Fatalf("memShard is %d bytes, want 64", n)
	}
}

// TestMoveKeepsTokens checks that a moved limiter has exactly its tokens at
// the time of the move, without any time passing.
func TestMoveKeepsTokens(t *testing.T) {
	p := RatePolicy{Name: "m", Limit: 1000, Window: time.Hour, Burst: 1000}
	now := time.Unix(1_700_000_000, 0)
	var src, dst memSlot
	src.h = 7
	src.lim.SetLimitAt(time.Time{}, p.rate())
	src.lim.SetBurstAt(time.Time{}, p.Burst)
	for range 6 {
		src.lim.AllowN(now, 1)
	}
	move(&dst, &src, now)
	if got := int(dst.lim.TokensAt(now)); got != 994 || dst.h != 7 || src.h != 0 {
		t.Fatalf("tokens after move = %d (h %d, src h %d), want 994", got, dst.h, src.h)
	}
	if dst.lim.Burst() != 1000 || dst.lim.Limit() != p.rate() {
		t.Fatalf("limit %v burst %d", dst.lim.Limit(), dst.lim.Burst())
	}
}
