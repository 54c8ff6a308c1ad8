package sbom

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/semver"
)

func TestOSVRangeContains(t *testing.T) {
	ev := func(pairs ...string) []OSVRangeEvent {
		var out []OSVRangeEvent
		for _, p := range pairs {
			kind, v, _ := strings.Cut(p, ":")
			switch kind {
			case "i":
				out = append(out, OSVRangeEvent{Introduced: v})
			case "l":
				out = append(out, OSVRangeEvent{LastAffected: v})
			default:
				out = append(out, OSVRangeEvent{Fixed: v})
			}
		}
		return out
	}
	tests := []struct {
		name    string
		r       OSVRange
		version string
		want    bool
	}{
		{"no events: all", OSVRange{Type: "SEMVER"}, "v0.0.0", true},
		{"introduced 0 only", OSVRange{Type: "SEMVER", Events: ev("i:0")}, "v9.9.9", true},
		{"below fix", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:2.0.0")}, "v1.0.0", true},
		{"at fix", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:2.0.0")}, "v2.0.0", false},
		{"above fix", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:2.0.0")}, "v3.0.0", false},
		{"at introduced", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0", "f:2.0.0")}, "v1.0.0", true},
		{"before introduced", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0", "f:2.0.0")}, "v0.9.0", false},
		{"bare version", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:0.3.8")}, "0.3.7", true},
		{"go version", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:1.25.8")}, "go1.25.5", true},
		{"second interval", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:1.25.8", "i:1.26.0-0", "f:1.26.1")}, "v1.26.0", true},
		{"between intervals", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:1.25.8", "i:1.26.0-0", "f:1.26.1")}, "v1.25.9", false},
		{"prerelease in range", OSVRange{Type: "SEMVER", Events: ev("i:1.26.0-0", "f:1.26.1")}, "v1.26.0-rc.1", true},
		{"unsorted events", OSVRange{Type: "SEMVER", Events: ev("i:1.19.0", "f:1.19.1", "i:0", "f:1.18.6")}, "v1.18.1", true},
		{"unsorted events, fixed", OSVRange{Type: "SEMVER", Events: ev("i:1.19.0", "f:1.19.1", "i:0", "f:1.18.6")}, "v1.18.6", false},
		{"reintroduced, no fix", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0", "f:2.0.0", "i:3.0.0")}, "v3.0.0", true},
		{"pseudo-version", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:1.5.1-0.20210113180018-fc664697ed2c")}, "v1.5.0", true},
		{"at last_affected", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0", "l:1.2.0")}, "v1.2.0", true},
		{"above last_affected", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0", "l:1.2.0")}, "v1.2.1", false},
		{"last_affected, reintroduced", OSVRange{Type: "SEMVER", Events: ev("i:2.0.0", "l:1.2.0", "i:0")}, "v2.1.0", true},
		{"between last_affected and reintroduction", OSVRange{Type: "SEMVER", Events: ev("i:2.0.0", "l:1.2.0", "i:0")}, "v1.5.0", false},
		{"pseudo-version below fix", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:0.0.0-20220906165146-f3363e06e74c")}, "v0.0.0-20220722155237-a158d28d115b", true},
		{"+incompatible", OSVRange{Type: "SEMVER", Events: ev("i:0", "f:2.3.0+incompatible")}, "v2.2.0+incompatible", true},
		{"release candidate below fix", OSVRange{Type: "SEMVER", Events: ev("i:1.26.0-0", "f:1.26.0-rc.2")}, "v1.26.0-rc.1", true},
		{"not semver type", OSVRange{Type: "ECOSYSTEM", Events: ev("i:0")}, "v1.0.0", false},
		{"invalid version sorts first", OSVRange{Type: "SEMVER", Events: ev("i:1.0.0")}, "garbage", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.Contains(tt.version); got != tt.want {
				t.Errorf("Contains(%q) = %v, want %v", tt.version, got, tt.want)
			}
		})
	}
}

func TestOSVAffects(t *testing.T) {
	semverRange := OSVRange{Type: "SEMVER", Events: []OSVRangeEvent{{Introduced: "0"}, {Fixed: "1.0.0"}}}
	tests := []struct {
		name   string
		ranges []OSVRange
		want   bool
	}{
		{"no ranges: all versions", nil, true},
		{"only other types: all versions", []OSVRange{{Type: "GIT"}}, true},
		{"semver range excludes", []OSVRange{semverRange}, false},
		{"other type does not rescue", []OSVRange{{Type: "GIT"}, semverRange}, false},
	}
	for _, tt := range tests {
		if got := osvAffects(tt.ranges, "v2.0.0"); got != tt.want {
			t.Errorf("%s: osvAffects = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEarliestFix(t *testing.T) {
	a := func(events ...OSVRangeEvent) OSVAffected {
		return OSVAffected{Package: OSVPackage{Name: "m"}, Ranges: []OSVRange{{Type: "SEMVER", Events: events}}}
	}
	tests := []struct {
		name     string
		affected []OSVAffected
		version  string
		want     string
	}{
		{"single fix", []OSVAffected{a(OSVRangeEvent{Introduced: "0"}, OSVRangeEvent{Fixed: "0.3.8"})}, "v0.3.7", "v0.3.8"},
		{"no fix", []OSVAffected{a(OSVRangeEvent{Introduced: "0"})}, "v0.3.7", ""},
		// {[v0.1.0, v0.1.9), [v1.0.0, v2.0.0)} at v1.0.0 -> v2.0.0
		{"later interval", []OSVAffected{a(OSVRangeEvent{Introduced: "0.1.0"}, OSVRangeEvent{Fixed: "0.1.9"}, OSVRangeEvent{Introduced: "1.0.0"}, OSVRangeEvent{Fixed: "2.0.0"})}, "v1.0.0", "v2.0.0"},
		// {[v1.0.0, v1.5.0), [v2.0.0, v2.1.0)}, {[v1.4.0, v1.6.0)} at v1.0.0 -> v1.6.0
		{"negated fix", []OSVAffected{
			a(OSVRangeEvent{Introduced: "1.0.0"}, OSVRangeEvent{Fixed: "1.5.0"}, OSVRangeEvent{Introduced: "2.0.0"}, OSVRangeEvent{Fixed: "2.1.0"}),
			a(OSVRangeEvent{Introduced: "1.4.0"}, OSVRangeEvent{Fixed: "1.6.0"}),
		}, "v1.0.0", "v1.6.0"},
	}
	for _, tt := range tests {
		if got := earliestFix("m", tt.version, tt.affected); got != tt.want {
			t.Errorf("%s: earliestFix = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestGoTagToSemver(t *testing.T) {
	for tag, want := range map[string]string{
		"go1.25.5":                      "v1.25.5",
		"go1.26":                        "v1.26.0",
		"go1.26rc1":                     "v1.26.0-rc.1",
		"go1.21.0":                      "v1.21.0",
		"go1.25.5 X:boringcrypto":       "v1.25.5",
		"go1":                           "v1.0.0",
		"devel go1.27-abcdef Tue":       "",
		"":                              "",
		"go1.22-pre4":                   "v1.22.0-pre.4",
		"not a version":                 "",
		"go1.20.1 X:nocoverageredesign": "v1.20.1",
	} {
		if got := goTagToSemver(tag); got != want {
			t.Errorf("goTagToSemver(%q) = %q, want %q", tag, got, want)
		}
	}
}

// referenceContains is an independent reading of a well-formed range: the
// events, in version order, alternate introduced and fixed, so the range
// is the union of [introduced, next fixed) intervals.
func referenceContains(events []OSVRangeEvent, v string) bool {
	for i, e := range events {
		if e.Introduced == "" {
			continue
		}
		lo := e.Introduced
		if lo != "0" && semver.Compare(osvSemver(v), osvSemver(lo)) < 0 {
			continue
		}
		if i+1 == len(events) {
			return true
		}
		if semver.Compare(osvSemver(v), osvSemver(events[i+1].Fixed)) < 0 {
			return true
		}
	}
	return false
}

// FuzzOSVRangeContains checks the matcher against the reference on the
// well-formed ranges the fuzzer's versions make, in any event order, and
// that no input panics.
func FuzzOSVRangeContains(f *testing.F) {
	f.Add("0.3.8", "1.0.0", "2.0.0", "v1.5.0", uint8(0))
	f.Add("1.26.0-0", "1.26.1", "1.25.8", "go1.26.0", uint8(3))
	f.Add("", "x", "1.0.0-rc.1+meta", "v1.0.0", uint8(7))
	f.Fuzz(func(t *testing.T, a, b, c, version string, order uint8) {
		// Anything at all: no panic.
		raw := OSVRange{Type: "SEMVER", Events: []OSVRangeEvent{{Introduced: a}, {Fixed: b}, {Introduced: c}, {Fixed: version}, {LastAffected: b}}}
		_ = raw.Contains(version)
		_ = earliestFix("m", version, []OSVAffected{{Package: OSVPackage{Name: "m"}, Ranges: []OSVRange{raw}}})

		// Well-formed: valid, distinct versions; introduced 0, fixed, introduced, [fixed].
		var vs []string
		for _, s := range []string{a, b, c} {
			if s = strings.TrimPrefix(s, "v"); s != "0" && semver.IsValid("v"+s) && semver.Build("v"+s) == "" {
				vs = append(vs, s)
			}
		}
		if len(vs) == 0 || !semver.IsValid(osvSemver(version)) {
			return
		}
		slices.SortFunc(vs, func(x, y string) int { return semver.Compare("v"+x, "v"+y) })
		vs = slices.CompactFunc(vs, func(x, y string) bool { return semver.Compare("v"+x, "v"+y) == 0 })
		events := []OSVRangeEvent{{Introduced: "0"}}
		for i, v := range vs {
			if i%2 == 0 {
				events = append(events, OSVRangeEvent{Fixed: v})
			} else {
				events = append(events, OSVRangeEvent{Introduced: v})
			}
		}
		want := referenceContains(events, version)
		shuffled := slices.Clone(events)
		for i := range shuffled {
			j := (int(order) + i*7) % len(shuffled)
			shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
		}
		for _, evs := range [][]OSVRangeEvent{events, shuffled} {
			if got := (OSVRange{Type: "SEMVER", Events: evs}).Contains(version); got != want {
				js, _ := json.Marshal(evs)
				t.Fatalf("Contains(%q) on %s = %v, reference %v", version, js, got, want)
			}
		}
	})
}

// FuzzParseOSV feeds arbitrary bytes to the record parser and the
// matcher: errors are fine, panics are not.
func FuzzParseOSV(f *testing.F) {
	f.Add([]byte(`{"id":"GO-1","affected":[{"package":{"name":"m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.0"}]}]}]}`))
	f.Add([]byte(`{"id":"GO-1","withdrawn":"2020-01-01T00:00:00Z","affected":[]}`))
	f.Add([]byte(`{"id":"GO-1","affected":[{"package":{"name":"m"},"ranges":[{"type":"SEMVER","events":[{"fixed":"x"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseOSV(data)
		if err != nil {
			return
		}
		for _, a := range e.Affected {
			_ = osvAffects(a.Ranges, "v1.0.0")
			_ = earliestFix(a.Package.Name, "v1.0.0", e.Affected)
		}
		_ = nonSupersededFix(e.Affected[0].Ranges)
	})
}

func BenchmarkOSVRangeContains(b *testing.B) {
	r := OSVRange{Type: "SEMVER", Events: []OSVRangeEvent{{Introduced: "0"}, {Fixed: "1.24.13"}, {Introduced: "1.25.0-0"}, {Fixed: "1.25.7"}, {Introduced: "1.26.0-rc.1"}, {Fixed: "1.26.0-rc.3"}}}
	b.ReportAllocs()
	for b.Loop() {
		r.Contains("v1.25.5")
	}
}
