package platform_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/avatarbus/avatarbus/platform"
)

// statusLabel is one of the labels every platform fact carries (docs/platforms/*.md).
var statusLabel = regexp.MustCompile(`\b(CONFIRMED|THIRD-PARTY|UNCONFIRMED)\b`)

// TestFixtureProvenance: every sample payload says where it came from. Each fixtures/<platform>/
// folder has a SOURCES.md whose table has a row for each *.json file, with a status label, and the
// platform has its docs page (docs/platforms/<platform>.md) with the facts and their sources.
func TestFixtureProvenance(t *testing.T) {
	for _, p := range platform.Default().All() {
		files := fixtures(t, p.Name())
		if len(files) == 0 {
			continue
		}
		t.Run(p.Name(), func(t *testing.T) {
			sources, err := os.ReadFile(filepath.Join("fixtures", p.Name(), "SOURCES.md"))
			if err != nil {
				t.Fatalf("fixtures/%s has no SOURCES.md: %v", p.Name(), err)
			}
			rows := map[string]string{}
			for _, line := range strings.Split(string(sources), "\n") {
				cells := strings.Split(line, "|")
				if len(cells) < 4 {
					continue
				}
				rows[strings.Trim(strings.TrimSpace(cells[1]), "`")] = line
			}
			for _, file := range files {
				row, ok := rows[filepath.Base(file)]
				switch {
				case !ok:
					t.Errorf("%s is not listed in fixtures/%s/SOURCES.md", filepath.Base(file), p.Name())
				case !statusLabel.MatchString(row):
					t.Errorf("%s: its SOURCES.md row has no status label (CONFIRMED, THIRD-PARTY, UNCONFIRMED)", filepath.Base(file))
				}
			}
			page, err := os.ReadFile(filepath.Join("..", "docs", "platforms", p.Name()+".md"))
			if err != nil {
				t.Fatalf("no docs page for %s: %v", p.Name(), err)
			}
			if !statusLabel.Match(page) {
				t.Errorf("docs/platforms/%s.md labels no fact", p.Name())
			}
		})
	}
}
