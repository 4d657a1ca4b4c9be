// Package index keeps a lookup table of the event stream in the KV bucket <stream>_INDEX: for every
// stored event, its stream sequence under its event id, its resource id (the envelope's subject)
// and its correlation id, so that one job's events across platforms are found without scanning
// the stream. One instance per cluster writes it (a lease in <stream>_LEASES, key "indexer"),
// from a durable consumer off the hot path; any instance reads it. See docs/find.md.
package index
