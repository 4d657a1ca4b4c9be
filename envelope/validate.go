package envelope

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error Validate returns.
var ErrInvalid = errors.New("envelope: invalid event")

// Validate checks e against CloudEvents 1.0 and avatarbus's own rules, one check per attribute, and
// returns every failing attribute (joined, each wrapping ErrInvalid), not only the first.
func (e *Event) Validate() error {
	var errs []error
	bad := func(attr, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: %s", ErrInvalid, attr, fmt.Sprintf(format, args...)))
	}
	if e.SpecVersion != SpecVersion {
		bad("specversion", "%q, want %q", e.SpecVersion, SpecVersion)
	}
	switch {
	case e.ID == "":
		bad("id", "empty")
	case len(e.ID) > MaxIDLength:
		bad("id", "%d characters, at most %d", len(e.ID), MaxIDLength)
	}
	if e.Platform == "" {
		bad("platform", "empty")
	}
	if e.Source != SourceFor(e.Platform) {
		bad("source", "%q, want %q", e.Source, SourceFor(e.Platform))
	}
	if !Known(e.Type) {
		bad("type", "%q is not a canonical type", e.Type)
	}
	if e.Time.IsZero() {
		bad("time", "missing")
	}
	if e.ReceivedAt.IsZero() {
		bad("receivedat", "missing")
	}
	if e.DataContentType != DataContentType {
		bad("datacontenttype", "%q, want %q", e.DataContentType, DataContentType)
	}
	if e.Subject != e.Data.ResourceID {
		bad("subject", "%q differs from data.resource_id %q", e.Subject, e.Data.ResourceID)
	}
	if HasControl(e.Subject) {
		bad("subject", "contains control characters")
	}
	if HasControl(e.Data.ResourceID) {
		bad("data.resource_id", "contains control characters")
	}
	if len(e.Data.Raw) == 0 {
		bad("data.raw", "missing")
	}
	if strings.ContainsAny(e.PlatformEvent, "\x00\n\r") {
		bad("platformevent", "contains control characters")
	}
	if strings.ContainsAny(e.PlatformEventID, "\x00\n\r") {
		bad("platformeventid", "contains control characters")
	}
	return errors.Join(errs...)
}
