package telemetry

import (
	"context"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Other is the value an unbounded attribute takes past the cardinality
// bound, as the semantic conventions do for unknown HTTP methods.
const Other = "_OTHER"

// maxValueLen bounds an attribute value taken from an event or a request.
const maxValueLen = 64

// bound holds the measurement options of one attribute set, built once, so
// that recording a measurement allocates nothing: the SDK is handed a
// ready attribute.Set inside ready option slices.
type bound struct {
	set attribute.Set
	add []metric.AddOption
	rec []metric.RecordOption
}

func newBound(kvs ...attribute.KeyValue) *bound {
	set := attribute.NewSet(kvs...)
	o := metric.WithAttributeSet(set)
	return &bound{set: set, add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

// table maps a key to its bound attribute set, up to max keys; past that,
// every new key maps to one overflow set, and each such lookup counts in
// paved.telemetry.attribute_overflow. Lookups of known keys take a read
// lock and allocate nothing.
type table[K comparable] struct {
	mu       sync.RWMutex
	m        map[K]*bound
	max      int
	build    func(K) []attribute.KeyValue
	over     *bound
	overflow func()
}

func newTable[K comparable](max int, build func(K) []attribute.KeyValue, overflowKey K, onOverflow func()) *table[K] {
	return &table[K]{m: make(map[K]*bound), max: max, build: build, over: newBound(build(overflowKey)...), overflow: onOverflow}
}

func (t *table[K]) get(k K) *bound {
	t.mu.RLock()
	b, ok := t.m[k]
	t.mu.RUnlock()
	if ok {
		return b
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b, ok := t.m[k]; ok {
		return b
	}
	if len(t.m) >= t.max {
		if t.overflow != nil {
			t.overflow()
		}
		return t.over
	}
	b = newBound(t.build(k)...)
	t.m[k] = b
	return b
}

// clip bounds a value taken from outside.
func clip(s string) string {
	if len(s) > maxValueLen {
		return s[:maxValueLen]
	}
	return s
}

// overflowCounter returns the function a table calls on overflow: it
// counts in paved.telemetry.attribute_overflow{paved.instrument=name}.
func (t *Telemetry) overflowFunc(name string) func() {
	b := newBound(attribute.String("paved.instrument", name))
	return func() { t.overflow.Add(context.Background(), 1, b.add...) }
}
