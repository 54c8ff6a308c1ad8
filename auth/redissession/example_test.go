package redissession_test

import (
	"errors"
	"fmt"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/auth/redissession"
)

// New reports every faulty field of its configuration at once.
func ExampleNew() {
	_, err := redissession.New(redissession.Config{Timeout: -1})
	for _, ce := range paved.ConfigErrors(err) {
		fmt.Println(ce.Field)
	}
	var ce *paved.ConfigError
	fmt.Println(errors.As(err, &ce))
	// Output:
	// Config.Client
	// Config.Timeout
	// true
}
