package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
	"github.com/avatarbus/avatarbus/verify"
)

// VerifyConfig merges s's verify settings over its preset's defaults. A source that picks
// another scheme than the preset's starts from that scheme's own defaults.
func (s Source) VerifyConfig(p platform.Preset) verify.Config {
	vc := p.DefaultVerify()
	o := s.Verify
	if o.Scheme != "" && o.Scheme != vc.Scheme {
		vc = verify.Config{Scheme: o.Scheme}
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&vc.Header, o.Header)
	set(&vc.Algorithm, o.Algorithm)
	set(&vc.Encoding, o.Encoding)
	set(&vc.Prefix, o.Prefix)
	set(&vc.TimestampHeader, o.TimestampHeader)
	set(&vc.IDHeader, o.IDHeader)
	set(&vc.Content, o.Content)
	set(&vc.Param, o.Param)
	vc.Secrets = s.Secrets
	vc.Tolerance = s.Tolerance.Std()
	return vc
}

// CheckPlatforms reports, all at once and wrapping ErrInvalid, what Validate cannot see without
// the platforms of reg: each source's platform exists, its name is a subject token, its events
// map to canonical types, its verify settings build a verifier, and stream.duplicate_window
// covers its signature tolerance (a request replayed inside the tolerance would otherwise be
// stored twice).
func (c *Config) CheckPlatforms(reg *platform.Registry) error {
	var errs []error
	for i, src := range c.Sources {
		path := fmt.Sprintf("sources[%d] (%s)", i, src.Name)
		p, ok := reg.Lookup(src.Platform)
		if !ok {
			errs = append(errs, fmt.Errorf("%s.platform: unknown platform %q (known: %v)", path, src.Platform, reg.Names()))
			continue
		}
		if err := subjects.ValidToken(src.Name); err != nil {
			errs = append(errs, fmt.Errorf("%s.name: %w", path, err))
		}
		for name, typ := range src.Events {
			if !envelope.Known(typ) {
				errs = append(errs, fmt.Errorf("%s.events[%q]: %q is not a canonical type (known: %s)", path, name, typ, strings.Join(envelope.Types(), ", ")))
			}
		}
		vc := src.VerifyConfig(p)
		if _, err := verify.New(vc); err != nil {
			errs = append(errs, fmt.Errorf("%s.verify: %w", path, err))
			continue
		}
		if tol := verify.EffectiveTolerance(vc); tol > c.Stream.DuplicateWindow.Std() {
			errs = append(errs, fmt.Errorf("%s: stream.duplicate_window %s is shorter than the signature tolerance %s: a request replayed inside the tolerance would be stored twice",
				path, c.Stream.DuplicateWindow.Std(), tol))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}
