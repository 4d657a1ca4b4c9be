package verify

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// constructor validates cfg for one scheme and builds its Verifier. It
// returns every problem it finds, not just the first, so that an operator
// can fix a configuration in one go.
type constructor func(cfg Config) (Verifier, []error)

// registry maps each scheme name to its constructor. It is built once at
// package initialisation and never modified, so it needs no locking.
var registry = map[string]constructor{
	swScheme:    newStandardWebhooks,
	elScheme:    newElevenLabs,
	synScheme:   newSynthesia,
	hmacScheme:  newHMAC,
	tokenScheme: newToken,
	noneScheme:  newNone,
}

// schemeNames is the sorted list of registry keys, computed once.
var schemeNames = slices.Sorted(maps.Keys(registry))

// Schemes returns the names of the known schemes, sorted. The caller may
// modify the returned slice.
func Schemes() []string {
	return slices.Clone(schemeNames)
}

// New builds the Verifier for cfg. When cfg is invalid it returns an error
// that wraps ErrConfig and names every problem found: an unknown scheme,
// missing or empty secrets, a Standard Webhooks secret that is not base64,
// an unknown algorithm, encoding or content, a content that needs a header
// that is not set, a negative tolerance, and so on.
func New(cfg Config) (Verifier, error) {
	build, ok := registry[cfg.Scheme]
	if !ok {
		return nil, fmt.Errorf("%w: unknown scheme %q (known: %s)",
			ErrConfig, cfg.Scheme, strings.Join(schemeNames, ", "))
	}
	var problems []error
	if cfg.Tolerance < 0 {
		problems = append(problems, fmt.Errorf("negative tolerance %v", cfg.Tolerance))
	}
	v, errs := build(cfg)
	problems = append(problems, errs...)
	if len(problems) > 0 {
		return nil, configError(cfg.Scheme, problems)
	}
	return v, nil
}

// configError wraps problems of a scheme's configuration in ErrConfig.
func configError(scheme string, problems []error) error {
	return fmt.Errorf("%w: scheme %q: %w", ErrConfig, scheme, errors.Join(problems...))
}

// checkSecrets reports an empty secret list and every empty secret. It is
// used by every scheme that needs secrets, because an empty secret would
// make the MAC (or token) trivially forgeable.
func checkSecrets(secrets []string) []error {
	if len(secrets) == 0 {
		return []error{errors.New("no secrets configured")}
	}
	var problems []error
	for i, s := range secrets {
		if s == "" {
			problems = append(problems, fmt.Errorf("secret #%d is empty", i+1))
		}
	}
	return problems
}

// tolerance returns cfg's tolerance, or def when it is not set.
func tolerance(cfg Config, def time.Duration) time.Duration {
	if cfg.Tolerance > 0 {
		return cfg.Tolerance
	}
	return def
}
