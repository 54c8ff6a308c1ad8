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
// that cannot be read. Symbolic links are followed within the argument
// they were found under; one that leads outside it (to / or a home
// directory, say) is reported and not followed. A directory reached
// twice (a link loop) is walked once.
func walk(ctx context.Context, paths []string, file func(string), bad func(string, error)) error {
	seen := map[string]bool{}
	var dir func(p, root string) error
	visit := func(p, root string, explicit bool) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !explicit {
			if lst, err := os.Lstat(p); err == nil && lst.Mode()&fs.ModeSymlink != 0 {
				if real, err := realPath(p); err == nil && !within(real, root) {
					if st, err := os.Stat(real); err == nil && !st.IsDir() && Detect(p) == "" {
						return nil // a file paved check would not read anyway
					}
					bad(p, fmt.Errorf("symbolic link leads outside %s (to %s): not followed", root, real))
					return nil
				}
			}
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
			if explicit {
				if root, err = realPath(p); err != nil {
					bad(p, err)
					return nil
				}
			}
			return dir(p, root)
		}
		if !st.Mode().IsRegular() {
			if explicit {
				bad(p, fmt.Errorf("not a regular file (%s)", st.Mode().Type()))
			}
			return nil
		}
		if explicit || Detect(p) != "" {
			file(p)
		}
		return nil
	}
	dir = func(p, root string) error {
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
			if err := visit(filepath.Join(p, n), root, false); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range paths {
		if err := visit(p, "", true); err != nil {
			return err
		}
	}
	return nil
}

// realPath is p with every link resolved, absolute.
func realPath(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return filepath.Abs(real)
}

// within reports whether path p is root or under it.
func within(p, root string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
