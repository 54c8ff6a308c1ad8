package check

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// walk calls file for each file under paths whose kind is known (an
// argument naming a file is taken whatever its name), and bad for a path
// that cannot be read. Symbolic links are followed; a directory reached
// twice (a link loop) is walked once.
func walk(ctx context.Context, paths []string, file func(string), bad func(string, error)) error {
	seen := map[string]bool{}
	var dir func(p string) error
	visit := func(p string, explicit bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		st, err := os.Stat(p) // follows links
		if err != nil {
			if explicit {
				bad(p, err)
			} else if lst, lerr := os.Lstat(p); lerr == nil && lst.Mode()&fs.ModeSymlink != 0 {
				bad(p, fmt.Errorf("broken or looping symbolic link: %w", err))
			}
			return nil
		}
		if st.IsDir() {
			return dir(p)
		}
		if !st.Mode().IsRegular() {
			return nil
		}
		if explicit || Detect(p) != "" {
			file(p)
		}
		return nil
	}
	dir = func(p string) error {
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			bad(p, err)
			return nil
		}
		if abs, err := filepath.Abs(real); err == nil {
			real = abs
		}
		if seen[real] {
			return nil
		}
		seen[real] = true
		ents, err := os.ReadDir(p)
		if err != nil {
			bad(p, err)
			return nil
		}
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() && (n == "node_modules" || n == "vendor" || (strings.HasPrefix(n, ".") && n != ".github" && n != "workflows")) {
				continue
			}
			if err := visit(filepath.Join(p, n), false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range paths {
		if err := visit(p, true); err != nil {
			return err
		}
	}
	return nil
}
