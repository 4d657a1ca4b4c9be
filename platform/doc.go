// Package platform turns the payload of each platform's webhook into an avatarbus envelope.
//
// A platform is one file that registers a Preset in init: its name, the verification scheme its
// webhooks use by default, the table from its own event names to canonical types, and a normalizer
// that never drops a genuine request (what it cannot map becomes avatar.unrecognized). Sample
// payloads live in fixtures/<platform>/, golden envelopes in testdata/<platform>/.
//
// Platform code never sees HTTP: a normalizer gets the headers, the raw body and the receive time
// as plain values, so the CLI, the tests and the fuzzer call it directly.
package platform
