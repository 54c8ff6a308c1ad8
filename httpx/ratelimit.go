package httpx

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"math/bits"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/pavedroad/paved"
)

// Rate-limit defaults.
const (
	DefaultRateLimit      = 600         // requests per DefaultRateWindow
	DefaultRateWindow     = time.Minute //
	DefaultMaxClients     = 100_000     // in-memory clients tracked at most
	DefaultRatePolicyName = "default"
)

// ErrStoreUnavailable is wrapped by rate-limit stores that could not reach
// their backend. The middleware answers 503 (fail closed) when a store
// returns an error.
var ErrStoreUnavailable = errors.New("httpx: rate-limit store unavailable")

// A RatePolicy is one rate limit: Limit requests per Window, with bursts
// of up to Burst requests. It is advertised in the RateLimit-Policy
// response header as "name";q=Limit;w=Window-in-seconds.
type RatePolicy struct {
	// Name identifies the policy in the response headers; "default" when
	// empty. Letters, digits and "-_.:" only.
	Name string
	// Limit is the number of requests allowed per Window; 600 when zero.
	Limit int
	// Window is the period of Limit. Default one minute; whole seconds
	// from 1s to 24h.
	Window time.Duration
	// Burst is how many requests may arrive back to back; Limit when zero.
	Burst int
}

// WithDefaults returns p with its zero fields set to their defaults. A
// [Store] applies it to the policy it is given; a [RateLimiter] always
// passes a policy that has them.
func (p RatePolicy) WithDefaults() RatePolicy {
	if p.Name == "" {
		p.Name = DefaultRatePolicyName
	}
	if p.Limit == 0 {
		p.Limit = DefaultRateLimit
	}
	if p.Window == 0 {
		p.Window = DefaultRateWindow
	}
	if p.Burst == 0 {
		p.Burst = p.Limit
	}
	return p
}

// validate records the faults of p, as the caller gave it, in c.
func (p RatePolicy) validate(c *paved.ConfigCheck) {
	if p.Limit < 0 {
		c.Add("Policy.Limit", fmt.Sprintf("%d is negative", p.Limit), fmt.Sprintf("want a positive number of requests per window, or 0 for the default %d", DefaultRateLimit))
	}
	if w := p.Window; w != 0 && (w < minRateWindow || w > maxRateWindow || w%time.Second != 0) {
		c.Add("Policy.Window", fmt.Sprintf("%v is not a whole number of seconds from %s to %s", w, fmtDur(minRateWindow), fmtDur(maxRateWindow)),
			fmt.Sprintf("set whole seconds from %s to %s, or leave it 0 for the default %s", fmtDur(minRateWindow), fmtDur(maxRateWindow), fmtDur(DefaultRateWindow)))
	}
	if p.Burst < 0 {
		c.Add("Policy.Burst", fmt.Sprintf("%d is negative", p.Burst), "want a positive number of requests, or 0 for Limit")
	}
	for i := 0; i < len(p.Name); i++ {
		ch := p.Name[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == ':') {
			c.Add("Policy.Name", fmt.Sprintf("%q holds a character other than a letter, a digit or -_.:", p.Name), "use letters, digits and -_.: only")
			break
		}
	}
}

// rate returns the sustained rate in requests per second.
func (p RatePolicy) rate() rate.Limit { return rate.Limit(float64(p.Limit) / p.Window.Seconds()) }

// A RateDecision is a store's answer for one request.
type RateDecision struct {
	// Allowed reports whether the request may proceed.
	Allowed bool
	// Remaining is how many more requests the key may make right now.
	Remaining int
	// Reset is the time until the key's quota is fully restored.
	Reset time.Duration
	// RetryAfter, when not Allowed, is the time until one request will be.
	RetryAfter time.Duration
}

// A Store keeps rate-limit state. Take consumes one request for key under
// p, applying p.WithDefaults() first. It keeps state per policy and key:
// two policies that differ in any of name, limit, window or burst never
// share the state of a key, so one store may serve many limiters. It
// returns an error, never a guess, when it cannot decide; the middleware
// then denies.
//
// [MemoryStore] implements it in process, and package
// github.com/pavedroad/paved/httpx/redislimit in Redis, shared by
// replicas; httpxtest.RunStoreConformance is the suite both pass. A store
// that leaves a secure default reports it from a method OptOuts()
// []paved.OptOut, which a [Server] records in its posture (with a
// disabled control "rate-limit-store" that names them), and a store
// with a String method is described by it in the rate-limit control.
type Store interface {
	Take(ctx context.Context, key string, p RatePolicy) (RateDecision, error)
}

// MemoryStore is an in-process [Store] on golang.org/x/time/rate, one token
// bucket per key. It tracks at most a fixed number of keys: past the cap,
// the least recently seen key of a random sample is evicted (an
// approximation of LRU, like Redis's allkeys-lru), so memory stays bounded
// however many clients appear. An evicted key starts again with a full
// bucket. Keys are tracked by their 64-bit hash under a random per-process
// seed, which keeps memory small (about 130 bytes a key at the cap) and
// makes a collision between two clients both unlikely (2^-64 per pair) and
// impossible to aim for. The hash covers the policy as well as the key, so
// limiters with different policies may share one MemoryStore: each
// (policy, key) pair is tracked, and counted against the cap, on its own.
type MemoryStore struct {
	seed     maphash.Seed
	shards   []memShard
	mask     uint64
	perShard int
	maxSlots int // table size of a full shard
	evicted  atomic.Int64
}

// memShard is an open-addressing hash table (linear probing, backward-shift
// deletion) holding each limiter inline. A lookup probes a byte array of
// tags, which stays in cache, then reads the one slot whose tag matches: a
// single slot, two cache lines, is all it reads from the big table. Tables
// grow up to maxSlots, sized for a load of 3/4 at the cap.
// Limiters that move (on growth or deletion) are rebuilt with the same
// tokens, never copied.
//
// A memShard is 64 bytes, so the shards of a store, allocated together,
// each sit on a cache line of their own.
type memShard struct {
	mu    sync.Mutex
	slots []memSlot // h == 0 marks an empty slot
	tags  []uint8   // per slot: 0 when empty, else tag(h)
	n     int       // occupied slots
}

// tag is the one-byte summary of h kept in memShard.tags: probing scans
// those (1.5 MB at a million keys, so they stay in cache) and reads a
// slot, a likely cache miss, only on a tag match, a false one of which
// happens once in 128.
func tag(h uint64) uint8 { return uint8(h>>56) | 0x80 }

type memSlot struct {
	h    uint64
	seen int64 // unix nanoseconds of the last request
	lim  rate.Limiter
}

const (
	evictionSample = 8 // entries an insertion past the cap inspects
	golden         = 0x9E3779B97F4A7C15
)

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store that tracks at most maxKeys keys
// (DefaultMaxClients when maxKeys <= 0).
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxClients
	}
	n := 1
	for n < 64 && n*1024 < maxKeys {
		n *= 2
	}
	//paved:allow G115 n is a power of two between 1 and 64, so n-1 fits any integer type
	s := &MemoryStore{seed: maphash.MakeSeed(), shards: make([]memShard, n), mask: uint64(n - 1)}
	s.perShard = max(maxKeys/n, 1)
	s.maxSlots = s.perShard*4/3 + 2
	for i := range s.shards {
		s.shards[i].slots = make([]memSlot, min(16, s.maxSlots))
		s.shards[i].tags = make([]uint8, len(s.shards[i].slots))
	}
	return s
}

// Len returns the number of keys tracked.
func (s *MemoryStore) Len() int {
	n := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		n += sh.n
		sh.mu.Unlock()
	}
	return n
}

// Cap returns the most keys s tracks.
func (s *MemoryStore) Cap() int { return s.perShard * len(s.shards) }

// Evicted returns how many keys were evicted to respect the cap.
func (s *MemoryStore) Evicted() int64 { return s.evicted.Load() }

// String describes the store for the posture report.
func (s *MemoryStore) String() string {
	return "in memory, at most " + strconv.Itoa(s.Cap()) + " keys"
}

// Take implements [Store]. Zero fields of p take their defaults. It never
// returns an error.
func (s *MemoryStore) Take(_ context.Context, key string, p RatePolicy) (RateDecision, error) {
	return s.take(key, p.WithDefaults(), time.Now()), nil
}

// hash returns the table hash of key under p, never 0 (the mark of an
// empty slot). It covers the whole policy as well as the key, so that each
// policy has its own bucket for a key. The key, which clients choose, is
// hashed with maphash under the store's secret seed, so no client can aim
// at another's slot; the policy, which the service's configuration
// chooses, is mixed in through policyHash.
func (s *MemoryStore) hash(key string, p RatePolicy) uint64 {
	h := maphash.String(s.seed, key) ^ s.policyHash(p)
	if h == 0 {
		h = 1
	}
	return h
}

// policyHash returns the hash of p: its name's maphash with the numbers
// folded in through splitmix64's bijective finalizer, which measured
// about half the cost of maphash.Comparable on the struct.
func (s *MemoryStore) policyHash(p RatePolicy) uint64 {
	h := maphash.String(s.seed, p.Name)
	//paved:allow G115 the bits are hashed, not used as a number: a negative limit hashes as well as any other
	h = mix64(h ^ uint64(p.Limit))
	//paved:allow G115 the bits are hashed, not used as a number: a negative window hashes as well as any other
	h = mix64(h ^ uint64(p.Window))
	//paved:allow G115 the bits are hashed, not used as a number: a negative burst hashes as well as any other
	return mix64(h ^ uint64(p.Burst))
}

// mix64 is the finalizer of splitmix64: a bijection on 64 bits in which
// every input bit affects every output bit.
func mix64(h uint64) uint64 {
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}

func (s *MemoryStore) take(key string, p RatePolicy, now time.Time) RateDecision {
	h := s.hash(key, p)
	sh := &s.shards[h&s.mask]
	sh.mu.Lock()
	pos, found := sh.find(h)
	if !found {
		switch {
		case sh.n >= s.perShard:
			sh.evictOne(now)
			s.evicted.Add(1)
			pos, _ = sh.find(h)
		case (sh.n+1)*4 > len(sh.slots)*3 && len(sh.slots) < s.maxSlots:
			sh.resize(min(len(sh.slots)*2, s.maxSlots), now)
			pos, _ = sh.find(h)
		}
		e := &sh.slots[pos]
		e.h = h
		sh.tags[pos] = tag(h)
		sh.n++
		// Configured at the zero time, the limiter has been refilling
		// "forever" when the first request comes: it starts full.
		e.lim.SetLimitAt(time.Time{}, p.rate())
		e.lim.SetBurstAt(time.Time{}, p.Burst)
	}
	e := &sh.slots[pos]
	e.seen = now.UnixNano()
	ok := e.lim.AllowN(now, 1)
	tokens := e.lim.TokensAt(now)
	sh.mu.Unlock()
	return decide(ok, tokens, p)
}

// home returns the preferred slot of h in a table of size n.
func home(h uint64, n int) int {
	//paved:allow G115 n is a table size, positive and far below 2^63, so the conversion is exact
	hi, _ := bits.Mul64(h*golden, uint64(n))
	//paved:allow G115 hi is the high word of h*golden times n, so it is below n and fits an int
	return int(hi)
}

func (sh *memShard) find(h uint64) (int, bool) {
	n := len(sh.tags)
	t := tag(h)
	for p := home(h, n); ; {
		switch sh.tags[p] {
		case t:
			if sh.slots[p].h == h {
				return p, true
			}
		case 0:
			return p, false
		}
		if p++; p == n {
			p = 0
		}
	}
}

// move rebuilds src's entry in the empty slot dst and empties src.
func move(dst, src *memSlot, now time.Time) {
	dst.h, dst.seen = src.h, src.seen
	limit, burst := src.lim.Limit(), src.lim.Burst()
	tokens := src.lim.TokensAt(now)
	// A zero limiter with burst set has no tokens; with its last update
	// put back by tokens/limit, it has exactly tokens again at now.
	dst.lim.SetBurstAt(time.Time{}, burst)
	back := time.Duration(0)
	if limit != rate.Inf && limit > 0 {
		// Rounded up so that float truncation never loses a whole token.
		back = time.Duration(math.Ceil(tokens / float64(limit) * float64(time.Second)))
	}
	dst.lim.SetLimitAt(now.Add(-back), limit)
	*src = memSlot{}
}

func (sh *memShard) resize(size int, now time.Time) {
	old := sh.slots
	sh.slots = make([]memSlot, size)
	sh.tags = make([]uint8, size)
	for i := range old {
		if h := old[i].h; h != 0 {
			pos, _ := sh.find(h)
			move(&sh.slots[pos], &old[i], now)
			sh.tags[pos] = tag(h)
		}
	}
}

// remove empties the slot at pos by backward shifting (Knuth's Algorithm
// R), so no tombstones build up.
func (sh *memShard) remove(pos int, now time.Time) {
	n := len(sh.slots)
	sh.slots[pos] = memSlot{}
	sh.tags[pos] = 0
	i := pos
	for j := next(i, n); sh.tags[j] != 0; j = next(j, n) {
		k := home(sh.slots[j].h, n)
		if (i <= j && i < k && k <= j) || (i > j && (i < k || k <= j)) {
			continue // j's home lies cyclically in (i, j]: it stays
		}
		move(&sh.slots[i], &sh.slots[j], now)
		sh.tags[i], sh.tags[j] = sh.tags[j], 0
		i = j
	}
	sh.n--
}

func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

// evictOne removes the least recently seen of a few entries taken from a
// random place in the table.
func (sh *memShard) evictOne(now time.Time) {
	n := len(sh.slots)
	victim, oldest, seen := -1, int64(math.MaxInt64), 0
	for p, k := mrand.IntN(n), 0; k < n && seen < evictionSample; p, k = next(p, n), k+1 {
		if sh.tags[p] == 0 {
			continue
		}
		seen++
		if t := sh.slots[p].seen; t < oldest {
			victim, oldest = p, t
		}
	}
	if victim >= 0 {
		sh.remove(victim, now)
	}
}

func decide(ok bool, tokens float64, p RatePolicy) RateDecision {
	perToken := p.Window.Seconds() / float64(p.Limit) * float64(time.Second)
	if tokens < 0 {
		tokens = 0
	}
	d := RateDecision{Allowed: ok, Remaining: int(tokens)}
	d.Reset = time.Duration((float64(p.Burst) - tokens) * perToken)
	if !ok {
		d.RetryAfter = time.Duration((1 - tokens) * perToken)
	}
	return d
}

// A KeyFunc returns the rate-limit key of a request.
type KeyFunc func(r *http.Request) string

// KeyByClientIP keys on the client address ([ClientIP]), grouping IPv6
// addresses by /64. It is the default.
func KeyByClientIP(r *http.Request) string { return clientKey(r) }

// KeyBySubject keys on the authenticated subject (paved.PrincipalFrom) so
// that a caller's limit follows it across addresses, and falls back to the
// client address for anonymous requests. It needs the principal in the
// context when the limiter runs: the server's own limit runs before its
// handler, so either authenticate in middleware around the [Server], or
// put a [RateLimiter] keyed by subject after your authentication middleware.
func KeyBySubject(r *http.Request) string {
	if p, ok := paved.PrincipalFrom(r.Context()); ok && p.Subject != "" {
		return "sub:" + p.Issuer + "|" + p.Subject
	}
	return clientKey(r)
}

// RateLimitConfig configures [NewRateLimiter]. The zero value limits each
// client address to 600 requests a minute in memory.
type RateLimitConfig struct {
	// Policy is the limit; see [RatePolicy] for its defaults.
	Policy RatePolicy
	// Store keeps the counters; nil means a [MemoryStore] of MaxClients
	// keys. Use package redislimit to share one limit between replicas.
	// One store may serve several limiters: it keeps each policy apart.
	Store Store
	// MaxClients caps the keys of the default in-memory store. Default
	// 100,000; from 1,000 to 10,000,000 ([MaxClientsFloor],
	// [MaxClientsCeiling]). It is an error with a Store of your own:
	// size that store instead.
	MaxClients int
	// Key picks the key of a request; nil means [KeyByClientIP].
	Key KeyFunc
	// Logger receives store failures; slog.Default when nil.
	Logger *slog.Logger
	// Events receives a paved.EventRateLimited event per denial;
	// paved.DefaultSink when nil.
	Events paved.Sink
}

// A RateLimiter is rate-limiting middleware. Denied requests get 429
// problem+json with Retry-After; every response carries the
// RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11, such as
//
//	RateLimit-Policy: "default";q=600;w=60
//	RateLimit: "default";r=599;t=1
//
// On a denial, t names the same instant as Retry-After, as the draft
// asks, and neither is ever 0. A store error denies with 503 problem+json
// (fail closed).
type RateLimiter struct {
	policy     RatePolicy
	store      Store
	maxClients int // of the default store; 0 with a store of the caller's
	key        KeyFunc
	logger     *slog.Logger
	sink       paved.Sink
	policyHdr  string // the RateLimit-Policy value
	prefix     string // `"name";r=`
	lastWarn   atomic.Int64
}

// NewRateLimiter validates cfg and returns the limiter. Its error holds a
// [paved.ConfigError] for every faulty field.
func NewRateLimiter(cfg RateLimitConfig) (*RateLimiter, error) {
	return newRateLimiter(cfg, "RateLimitConfig.")
}

func newRateLimiter(cfg RateLimitConfig, prefix string) (*RateLimiter, error) {
	c := paved.ConfigCheck{Component: Component, Prefix: prefix}
	cfg.Policy.validate(&c)
	p := cfg.Policy.WithDefaults()
	if cfg.Store != nil && cfg.MaxClients != 0 {
		c.Add("MaxClients", fmt.Sprintf("%d is set, but it caps only the default in-memory store, and Store is set", cfg.MaxClients),
			"leave it 0 and size your store (NewMemoryStore(n)), or drop the Store")
	} else {
		checkRange(&c, "MaxClients", &cfg.MaxClients, DefaultMaxClients, MaxClientsFloor, MaxClientsCeiling, fmtCount[int])
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	l := &RateLimiter{policy: p, store: cfg.Store, key: cfg.Key, logger: cfg.Logger, sink: cfg.Events}
	if l.store == nil {
		l.store = NewMemoryStore(cfg.MaxClients)
		l.maxClients = cfg.MaxClients
	}
	if l.key == nil {
		l.key = KeyByClientIP
	}
	if l.logger == nil {
		l.logger = slog.Default()
	}
	l.policyHdr = strconv.Quote(p.Name) + ";q=" + strconv.Itoa(p.Limit) + ";w=" + strconv.Itoa(int(p.Window/time.Second))
	l.prefix = strconv.Quote(p.Name) + ";r="
	return l, nil
}

// detail describes the limiter for the posture report, naming any
// setting changed from its default.
func (l *RateLimiter) detail() string {
	p := l.policy
	d := fmt.Sprintf("%q %s per %s, burst %s", p.Name, withDefault(p.Limit, DefaultRateLimit, fmtCount[int]),
		withDefault(p.Window, DefaultRateWindow, fmtDur), withDefault(p.Burst, p.Limit, fmtCount[int]))
	switch st := l.store.(type) {
	case *MemoryStore:
		if l.maxClients != 0 {
			return d + ", in memory, " + setting("at most", l.maxClients, DefaultMaxClients, fmtCount[int]) + " clients"
		}
		return d + ", " + st.String()
	case fmt.Stringer:
		return d + ", " + st.String()
	default:
		return d + fmt.Sprintf(", store %T", st)
	}
}

// Policy returns the effective policy.
func (l *RateLimiter) Policy() RatePolicy { return l.policy }

// Store returns the store in use.
func (l *RateLimiter) Store() Store { return l.store }

// RateLimit returns rate-limiting middleware for cfg; see [RateLimiter].
func RateLimit(cfg RateLimitConfig) (Middleware, error) {
	l, err := NewRateLimiter(cfg)
	if err != nil {
		return nil, err
	}
	return l.Middleware, nil
}

// Middleware wraps next with the limiter.
func (l *RateLimiter) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, w, r := ensure(w, r)
		if l.allow(st, w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

func (l *RateLimiter) allow(st *reqState, w http.ResponseWriter, r *http.Request) bool {
	key := l.key(r)
	d, err := l.store.Take(r.Context(), key, l.policy)
	if err != nil {
		l.warn(r.Context(), err)
		paved.Emit(r.Context(), l.sink, paved.Event{
			Type: paved.EventRateLimited, Component: Component, Outcome: paved.OutcomeDenied,
			Reason: "store_unavailable", RequestID: st.id,
		})
		w.Header().Set("Retry-After", "1")
		WriteProblem(w, r, &Problem{Status: http.StatusServiceUnavailable, Detail: "rate limit unavailable, retry shortly",
			Extensions: map[string]any{"reason": "rate_limit_unavailable"}})
		return false
	}
	reset, retry := ceilSeconds(d.Reset), int64(0)
	if !d.Allowed {
		// Never "retry after 0 seconds"; and the draft says t SHOULD
		// name the same point in time as Retry-After.
		retry = max(ceilSeconds(d.RetryAfter), 1)
		reset = retry
	}
	h := w.Header()
	h["Ratelimit-Policy"] = st.value(hdrRateLimitPolicy, l.policyHdr)
	var buf [64]byte
	b := append(buf[:0], l.prefix...)
	b = strconv.AppendInt(b, int64(max(d.Remaining, 0)), 10) // r is a non-negative Integer
	b = append(b, ";t="...)
	b = strconv.AppendInt(b, reset, 10)
	h["Ratelimit"] = st.value(hdrRateLimit, string(b))
	if d.Allowed {
		return true
	}
	h.Set("Retry-After", strconv.FormatInt(retry, 10))
	if ctx := r.Context(); paved.EventsEnabled(ctx, l.sink, paved.EventRateLimited) {
		paved.Emit(ctx, l.sink, paved.Event{
			Type: paved.EventRateLimited, Component: Component, Outcome: paved.OutcomeDenied,
			Reason: "rate_limited", RequestID: st.id, Attrs: []slog.Attr{slog.String("policy", l.policy.Name)},
		})
	}
	WriteProblem(w, r, &Problem{Status: http.StatusTooManyRequests, Detail: "rate limit exceeded",
		Extensions: map[string]any{"retry_after": retry, "policy": l.policy.Name}})
	return false
}

// warn logs a store failure at most once a second.
func (l *RateLimiter) warn(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(time.Second) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.logger.LogAttrs(ctx, slog.LevelError, "httpx: rate-limit store failed; denying", slog.String("error", err.Error()))
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
