// Package metric registers braid's Prometheus collectors so that several
// owners of one kind (two gateways, networks or links on one registry)
// share a collector instead of failing on the second registration.
package metric

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c on reg and returns it, or returns the collector of
// the same type already registered under the same description. Any other
// failure (a name registered with other labels or help, a collector of
// another type) is an error.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("metric: %w", err)
}

// MustRegister is Register for collectors whose description is fixed in
// code, where a failure is a programming error: it panics on one.
func MustRegister[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	c, err := Register(reg, c)
	if err != nil {
		panic(err)
	}
	return c
}
