package platform

import (
	"embed"
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
