package policy

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errBadArchive reports a bundle archive refused before OPA reads it.
var errBadArchive = errors.New("bad bundle archive")

// checkTarball walks a gzipped tar bundle before OPA reads it and refuses
// what a bundle never needs: a path that climbs out of the bundle (a ".."
// segment), a link or device entry, and more than max bytes uncompressed in
// total (a decompression bomb). A truncated archive fails here too.
func checkTarball(raw []byte, max int64) error {
	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("%w: %w", errBadArchive, err)
	}
	tr := tar.NewReader(gz)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", errBadArchive, err)
		}
		for _, seg := range strings.Split(strings.ReplaceAll(h.Name, `\`, "/"), "/") {
			if seg == ".." {
				return fmt.Errorf("%w: entry %q leaves the bundle", errBadArchive, h.Name)
			}
		}
		switch h.Typeflag {
		case tar.TypeReg, tar.TypeDir:
		default:
			return fmt.Errorf("%w: entry %q is not a regular file or directory", errBadArchive, h.Name)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(tr, max-total+1))
		if err != nil {
			return fmt.Errorf("%w: %w", errBadArchive, err)
		}
		total += n
		if total > max {
			return fmt.Errorf("%w (%d bytes uncompressed)", errTooLarge, max)
		}
	}
}
