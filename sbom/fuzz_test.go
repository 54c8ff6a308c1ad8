package sbom

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzReadFrom feeds arbitrary bytes to the binary reader: it must never
// panic, fail only with an *Error, and a Build it returns must render.
func FuzzReadFrom(f *testing.F) {
	if exe, err := os.Executable(); err == nil {
		if data, err := os.ReadFile(exe); err == nil {
			f.Add(data[:min(len(data), 4096)])
		}
	}
	for _, s := range []string{"", "\x7fELF", "\x7fELF\x02\x01\x01", "MZ\x90\x00", "\x00asm\x01\x00\x00\x00", "\xcf\xfa\xed\xfe", "\x01\xf7", "#!/bin/sh\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ReadFrom(bytes.NewReader(data))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || b != nil {
				t.Fatalf("ReadFrom = %v, %v; want nil and an *Error", b, err)
			}
			return
		}
		render(t, b)
	})
}

// FuzzBuildInfo feeds arbitrary build info text through FromBuildInfo and
// every generator: no panic, and any error is a ValidationError (such as
// a module with an empty path), never a broken document.
func FuzzBuildInfo(f *testing.F) {
	f.Add(testBuildInfoText)
	f.Add(syntheticText(3))
	f.Add("go\tgo1.25.5\npath\tx\nmod\tx\t(devel)\t\ndep\t\tv1\t\n")
	f.Add("mod\tx\tv1\th1:AAAA\n=>\t\t\t\n")
	f.Fuzz(func(t *testing.T, text string) {
		bi, err := parseBuildInfo(text)
		if err != nil {
			return
		}
		b, err := FromBuildInfo(bi)
		if err != nil {
			t.Fatal(err)
		}
		render(t, b)
	})
}

func render(t *testing.T, b *Build) {
	t.Helper()
	for name, gen := range map[string]func(Options) ([]byte, error){
		"SPDX JSON": b.SPDXJSON, "SPDX tag-value": b.SPDXTagValue, "CycloneDX": b.CycloneDXJSON,
	} {
		if _, err := gen(Options{}); err != nil && !errors.Is(err, ErrInvalidDocument) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
