package ingest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrReload is wrapped by Reload's error when the new sources cannot replace the running ones.
var ErrReload = errors.New("sources not reloaded")

// Reload replaces the verifier, confirmer, limits and mappings of every source at once, for
// rotated secrets (SIGHUP). A request in flight finishes with the source it started with; the next
// one uses the new source. Nothing is listened to again, so no request is lost.
//
// The set of source names must stay the same: routes and metrics are made once, by New. When a
// source is added, removed or duplicated, Reload changes nothing and returns an error wrapping
// ErrReload that names them.
func (s *Server) Reload(sources []Source) error {
	next := make(map[string]Source, len(sources))
	var dup, added, removed []string
	for _, src := range sources {
		if _, ok := next[src.Name]; ok {
			dup = append(dup, src.Name)
		}
		if _, ok := s.sources[src.Name]; !ok {
			added = append(added, src.Name)
		}
		next[src.Name] = src
	}
	for name := range s.sources {
		if _, ok := next[name]; !ok {
			removed = append(removed, name)
		}
	}
	var problems []string
	for _, p := range []struct {
		what  string
		names []string
	}{{"duplicated", dup}, {"added", added}, {"removed", removed}} {
		if len(p.names) > 0 {
			slices.Sort(p.names)
			problems = append(problems, fmt.Sprintf("%s: %s", p.what, strings.Join(p.names, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: sources %s (restart avatarbus to change the set of sources)", ErrReload, strings.Join(problems, "; "))
	}
	for name, src := range next {
		if src.MaxBody <= 0 {
			src.MaxBody = DefaultMaxBody
		}
		s.sources[name].source.Store(&src)
	}
	return nil
}
