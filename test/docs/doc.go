// Package docs holds no code: its tests keep the Markdown documentation honest. They check that
// every relative link and #anchor resolves, that docs/configuration.md lists exactly the keys and
// defaults of internal/config, and that the README's walkthrough runs as printed.
package docs
