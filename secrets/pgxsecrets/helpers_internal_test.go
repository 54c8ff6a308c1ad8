package pgxsecrets

import (
	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/secrets"
)

func dynPath(p string) secrets.DynamicConfig { return secrets.DynamicConfig{Path: p} }

func configFields(err error) []string {
	var out []string
	for _, ce := range paved.ConfigErrors(err) {
		out = append(out, ce.Field)
	}
	return out
}
