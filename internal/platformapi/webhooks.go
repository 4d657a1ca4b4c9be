package platformapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Webhook is a webhook endpoint registered with a platform.
type Webhook struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events,omitempty"` // empty: every event (HeyGen) or not applicable (ElevenLabs)
	Status string   `json:"status,omitempty"`
	// Created is the creation time as the platform writes it.
	Created string `json:"created,omitempty"`
	// Secret is the signing secret; only create (and HeyGen's rotate) return it.
	Secret string `json:"-"`
}

// Registration is what to register.
type Registration struct {
	// URL is the public https URL the platform will POST to.
	URL string
	// Events are the platform's event names to subscribe to; empty means the platform's default.
	Events []string
	// Name labels the webhook where the platform has names (ElevenLabs).
	Name string
}

// Registrar manages a platform's webhook endpoints through its API.
type Registrar interface {
	// Create registers r and returns the new endpoint with its secret.
	Create(ctx context.Context, r Registration) (Webhook, error)
	// List returns every registered endpoint (without secrets).
	List(ctx context.Context) ([]Webhook, error)
	// Delete removes the endpoint id.
	Delete(ctx context.Context, id string) error
}

// Rotator is a Registrar whose platform can replace an endpoint's secret (HeyGen).
type Rotator interface {
	Registrar
	// Rotate replaces the secret of endpoint id and returns the new one; the old secret stops
	// working at once.
	Rotate(ctx context.Context, id string) (Webhook, error)
}

// Updater is a Registrar whose platform can change the events of an existing endpoint (HeyGen).
type Updater interface {
	Registrar
	// UpdateEvents replaces the events of endpoint id with events (the list is replaced, not
	// merged). No secret is returned: the endpoint keeps its own.
	UpdateEvents(ctx context.Context, id string, events []string) (Webhook, error)
}

// EventTyper is a Registrar whose platform lists the event names it accepts (HeyGen).
type EventTyper interface {
	Registrar
	// EventTypes returns the event names an endpoint may subscribe to.
	EventTypes(ctx context.Context) ([]string, error)
}

// RetryEnabler is a Registrar whose platform retries deliveries only when asked (ElevenLabs).
type RetryEnabler interface {
	Registrar
	// EnableRetries turns on the platform's retries for webhook id, named name.
	EnableRetries(ctx context.Context, id, name string) error
}

// CheckEvents returns an error wrapping ErrEvents, naming the valid names, when an event of
// events is not one of valid.
func CheckEvents(events, valid []string) error {
	var unknown []string
	for _, e := range events {
		if !slices.Contains(valid, e) {
			unknown = append(unknown, e)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sorted := slices.Clone(valid)
	slices.Sort(sorted)
	return fmt.Errorf("%w: unknown %q; the platform accepts: %s", ErrEvents, unknown, strings.Join(sorted, ", "))
}

// ErrUnsupported: the platform has no such API (or avatarbus does not use it).
var ErrUnsupported = errors.New("not supported for this platform")

// ErrEvents: events that the platform does not accept at registration.
var ErrEvents = errors.New("invalid events")

// registrars builds the Registrar of each platform that has a webhook management API.
var registrars = map[string]func(Options) (Registrar, error){
	"heygen":     func(o Options) (Registrar, error) { return NewHeyGen(o) },
	"synthesia":  func(o Options) (Registrar, error) { return NewSynthesia(o) },
	"elevenlabs": func(o Options) (Registrar, error) { return NewElevenLabs(o) },
}

// RegistrarPlatforms returns the platforms with a webhook management API, sorted.
func RegistrarPlatforms() []string {
	names := make([]string, 0, len(registrars))
	for n := range registrars {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewRegistrar returns the Registrar of platform, or an error wrapping ErrUnsupported.
func NewRegistrar(platform string, o Options) (Registrar, error) {
	build, ok := registrars[platform]
	if !ok {
		return nil, fmt.Errorf("%w: %q has no webhook management API (platforms that have one: %v)", ErrUnsupported, platform, RegistrarPlatforms())
	}
	return build(o)
}

// maxPages bounds a paginated listing, should a platform keep answering "more".
const maxPages = 100
