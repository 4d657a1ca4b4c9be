package platform

import (
	"fmt"
	"sort"
	"sync"
)

// Registry holds presets by name. The package keeps one (Default) that every platform file
// registers into; tests may build their own with NewRegistry.
type Registry struct {
	mu      sync.RWMutex
	presets map[string]Preset
}

// NewRegistry returns a registry holding presets. It panics like Register on a mistake.
func NewRegistry(presets ...Preset) *Registry {
	r := &Registry{presets: map[string]Preset{}}
	for _, p := range presets {
		r.Register(p)
	}
	return r
}

// Register adds p. It panics when p has an empty name, a name already registered, or no default
// verification scheme: those are programming errors found at start, not at the first request.
func (r *Registry) Register(p Preset) {
	name := p.Name()
	if name == "" {
		panic("platform: preset with an empty name")
	}
	if p.DefaultVerify().Scheme == "" {
		panic(fmt.Sprintf("platform: preset %q has no default verification scheme", name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.presets[name]; dup {
		panic(fmt.Sprintf("platform: preset %q registered twice", name))
	}
	r.presets[name] = p
}

// Lookup returns the preset called name.
func (r *Registry) Lookup(name string) (Preset, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	p, ok := r.presets[name]
	return p, ok
}

// All returns every preset, sorted by name.
func (r *Registry) All() []Preset {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Preset, 0, len(r.presets))
	for _, p := range r.presets {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Names returns the names of every preset, sorted.
func (r *Registry) Names() []string {
	all := r.All()
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Name()
	}
	return names
}

var defaultRegistry = NewRegistry()

// Default returns the registry every platform file registers into.
func Default() *Registry { return defaultRegistry }

// Register adds p to the default registry; platform files call it from init.
func Register(p Preset) { defaultRegistry.Register(p) }
