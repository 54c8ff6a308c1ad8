package secrets

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
)

// TagName is the struct tag [Client.Inject] reads.
const TagName = "secret"

var secretType = reflect.TypeFor[Secret]()

// Inject fills the fields of the struct dst points to that carry a
// `secret:"mount/path#key"` tag (see [Ref]) with the values of those
// secrets. A field may be a string, a []byte or a [Secret] (which keeps
// the value from logs). Every tagged field is required: a missing secret
// or key is an error naming the field and the reference, unless the tag
// says `secret:"...,optional"`, which leaves the field as it was.
// Untagged struct fields (not pointers) are walked into; a tagged field
// that cannot be set (unexported, or inside an unexported struct field) is
// an error.
//
// References are read concurrently, at most Config.InjectConcurrency at
// once, and keys of one secret share one read. Inject returns every
// failure at once (errors.Join of *[Error]s with Field set) and fills
// nothing when one required field fails. The values are those of the
// moment; to follow changes, use [Client.Static] and [Static.OnChange].
func (c *Client) Inject(ctx context.Context, dst any) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return &Error{Op: "inject", Reason: ReasonBadTarget, Err: fmt.Errorf("want a non-nil pointer to a struct, got %T", dst)}
	}
	type target struct {
		field    string
		v        reflect.Value
		ref      Ref
		optional bool
	}
	var targets []target
	var errs []error
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name := prefix + f.Name
			tag, ok := f.Tag.Lookup(TagName)
			if !ok {
				// Walk into unexported struct fields too: an embedded
				// struct of an unexported type has settable fields, and a
				// tagged field that cannot be set must be an error, not
				// silently left empty.
				if f.Type.Kind() == reflect.Struct && f.Type != secretType {
					walk(v.Field(i), name+".")
				}
				continue
			}
			refStr, opts, _ := strings.Cut(tag, ",")
			optional := false
			for o := range strings.SplitSeq(opts, ",") {
				switch o {
				case "":
				case "optional":
					optional = true
				default:
					errs = append(errs, &Error{Op: "inject", Reason: ReasonBadTarget, Field: name, Err: fmt.Errorf("unknown tag option %q (want optional)", o)})
				}
			}
			if !v.Field(i).CanSet() {
				errs = append(errs, &Error{Op: "inject", Reason: ReasonBadTarget, Field: name, Err: errors.New("unexported field, or inside an unexported struct field: Inject cannot set it")})
				continue
			}
			if f.Type != secretType && f.Type.Kind() != reflect.String && (f.Type.Kind() != reflect.Slice || f.Type.Elem().Kind() != reflect.Uint8) {
				errs = append(errs, &Error{Op: "inject", Reason: ReasonBadTarget, Field: name, Err: fmt.Errorf("field of type %s: want string, []byte or secrets.Secret", f.Type)})
				continue
			}
			r, err := ParseRef(refStr)
			if err != nil {
				errs = append(errs, &Error{Op: "inject", Reason: ReasonBadReference, Field: name, Err: err})
				continue
			}
			targets = append(targets, target{field: name, v: v.Field(i), ref: r, optional: optional})
		}
	}
	prefix := rv.Elem().Type().Name()
	if prefix != "" {
		prefix += "."
	}
	walk(rv.Elem(), prefix)
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	vals := make([]Secret, len(targets))
	fails := make([]error, len(targets))
	sem := make(chan struct{}, c.cfg.InjectConcurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			fails[i] = &Error{Op: "inject", Reason: ReasonUnavailable, Field: t.field, Ref: t.ref.String(), Err: ctx.Err()}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s, err := c.StaticRef(ctx, t.ref)
			if err == nil {
				vals[i], err = s.Value()
			}
			fails[i] = err
		}()
	}
	wg.Wait()
	for i, t := range targets {
		err := fails[i]
		if err == nil {
			continue
		}
		var e *Error
		if t.optional && errors.As(err, &e) && (e.Reason == ReasonNotFound || e.Reason == ReasonMissingKey) {
			fails[i] = nil
			continue
		}
		if errors.As(err, &e) {
			e2 := *e
			e2.Op, e2.Field, e2.Ref = "inject", t.field, t.ref.String()
			err = &e2
		} else {
			err = &Error{Op: "inject", Reason: ReasonUnavailable, Field: t.field, Ref: t.ref.String(), Err: err}
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for i, t := range targets {
		if fails[i] != nil || (t.optional && vals[i].v == nil) {
			continue
		}
		switch {
		case t.v.Type() == secretType:
			t.v.Set(reflect.ValueOf(vals[i]))
		case t.v.Kind() == reflect.String:
			t.v.SetString(vals[i].Reveal())
		default:
			t.v.SetBytes(vals[i].RevealBytes())
		}
	}
	return nil
}
