package main

import (
	"slices"
	"testing"

	"github.com/avatarbus/avatarbus/internal/config"
)

// TestSourceRefsFollowTheEventPlatform: the status page counts a source's events by the subjects
// they are stored on, which end in the preset's name for a named platform (a source called
// heygen-eu stores avatar.….heygen) and in the source's own name for a generic preset.
func TestSourceRefsFollowTheEventPlatform(t *testing.T) {
	cfg := &config.Config{Sources: []config.Source{
		{Name: "heygen-eu", Platform: "heygen"},
		{Name: "acme", Platform: "standardwebhooks"},
	}}
	cfg.Stream.SubjectPrefix = "avatar"
	refs := sourceRefs(cfg)
	want := map[string]string{"heygen-eu": "avatar.*.*.heygen", "acme": "avatar.*.*.acme"}
	for _, r := range refs {
		if !slices.Contains(r.Filters, want[r.Name]) {
			t.Errorf("source %s: filters %v, want them to include %s", r.Name, r.Filters, want[r.Name])
		}
	}
}
