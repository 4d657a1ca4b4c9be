// Package config is avatarbus's typed configuration: defaults, loading and
// validation.
//
// # Layering
//
// [Load] builds a [Config] in this order, each layer overriding the previous:
//
//  1. [Default] — a complete, valid configuration without sources or routes.
//  2. The YAML file (avatarbus.yaml by default). Decoding is strict: an
//     unknown key is an error naming its dotted path and line.
//  3. The environment. Every scalar key can be overridden by a variable named
//     AVATARBUS_ followed by the upper-cased dotted path with "." replaced by
//     "_": AVATARBUS_LISTEN, AVATARBUS_NATS_EMBEDDED_STORE_DIR,
//     AVATARBUS_STREAM_DUPLICATE_WINDOW. List elements that exist after the
//     file is loaded are addressed by index: AVATARBUS_SOURCES_0_SECRETS,
//     AVATARBUS_SOURCES_1_VERIFY_HEADER. Lists take a YAML flow sequence
//     ("[5s, 30s]", or a JSON array '["tok,en", "other"]'). Otherwise a
//     list of strings (sources[].secrets) takes the whole value as its one
//     item, commas included, and a list of durations (routes[].backoff)
//     takes comma-separated items. Maps take a YAML flow mapping. Values are
//     parsed by the YAML decoder into the field, so durations, sizes,
//     integers and booleans read exactly as in the file.
//     AVATARBUS_ variables that match no key are reported as warnings.
//  4. Command-line flags, given to Load as dotted keys ("nats.url",
//     "sources[0].tolerance" or "sources.0.tolerance").
//  5. Secret references (see below) are resolved.
//  6. Per-item defaults are applied ([Config.ApplyDefaults]).
//  7. [Config.Validate] checks everything and reports every problem, each
//     prefixed with its dotted path.
//
// # Secret references
//
// The secret-bearing keys — sources[].secrets[], sources[].api.key,
// nats.password, nats.token and routes[].secret — accept references:
//
//   - "${NAME}" (the whole value) is replaced by environment variable NAME;
//   - "@/path/to/file" is replaced by the file's content with trailing
//     whitespace removed;
//   - "@@..." is the literal value "@..." (an escape for secrets that start
//     with "@").
//
// The references are remembered, so [Config.ResolveSecrets] can re-read them
// later (for example on SIGHUP). Secret values never appear in error
// messages, and [Config.Redacted] gives a copy that is safe to print.
//
// Checks that need the platforms, the verification schemes or the canonical
// event catalogue ask the packages that own them: [Config.CheckPlatforms]
// (platform, verify, envelope), the scheme list (verify.Schemes), subject
// tokens and default stream names (subjects), URL masking (internal/redact).
// config imports those and nothing else from avatarbus.
package config
