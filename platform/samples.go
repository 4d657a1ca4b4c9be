package platform

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// fixtureFS holds the sample payloads: the fixtures of the golden tests are the samples that
// `avatarbus trigger` sends, so what the tests check is what users try.
//
//go:embed fixtures
var fixtureFS embed.FS

// Sample is one built-in example event of a platform.
type Sample struct {
	// Event is the platform's own event name (avatar_video.success, video.completed), or for
	// platforms without one the fixture's name (talk.done, video.ready).
	Event string
	// Body is the payload, exactly as the platform would send it.
	Body []byte
}

// With returns the sample with fields changed, the way `avatarbus trigger --set` does: each set
// "a.b.c=value" sets body.a.b.c, creating objects on the way; the value is JSON when it parses as
// JSON (a number, true, an object), else a string. The body must be a JSON object.
func (s Sample) With(sets ...string) (Sample, error) {
	if len(sets) == 0 {
		return s, nil
	}
	var doc map[string]any
	if err := json.Unmarshal(s.Body, &doc); err != nil {
		return s, fmt.Errorf("the sample is not a JSON object: %w", err)
	}
	for _, set := range sets {
		path, raw, ok := strings.Cut(set, "=")
		if !ok || path == "" {
			return s, fmt.Errorf("%q: want path=value", set)
		}
		var value any = raw
		var parsed any
		if json.Unmarshal([]byte(raw), &parsed) == nil {
			value = parsed
		}
		keys := strings.Split(path, ".")
		obj := doc
		for _, k := range keys[:len(keys)-1] {
			next, ok := obj[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[k] = next
			}
			obj = next
		}
		obj[keys[len(keys)-1]] = value
	}
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return s, err
	}
	s.Body = body
	return s, nil
}

// Sampler is implemented by presets that ship sample events.
type Sampler interface {
	Samples() []Sample
}

// samplesOf returns the embedded fixtures/<dir>/*.json, sorted by event name.
func samplesOf(dir string) []Sample {
	entries, err := fs.ReadDir(fixtureFS, path.Join("fixtures", dir))
	if err != nil {
		return nil
	}
	var out []Sample
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		body, err := fixtureFS.ReadFile(path.Join("fixtures", dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, Sample{Event: name, Body: body})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Event < out[j].Event })
	return out
}
