// Package ingest is avatarbus's HTTP tier: it receives each platform's POST on
// /webhooks/{source}, reads the raw body under a limit, verifies it with the source's scheme,
// normalizes it into an envelope, publishes it, and answers 200 only after JetStream acknowledged
// the store.
//
// Operations: each source may have a token-bucket rate limit (429 with Retry-After, applied before
// the body is read); requests refused for their signature, their timestamp or an unconfirmed event
// are kept on the quarantine stream through [Quarantine] (secret carriers masked, query string
// never kept) within a short deadline that never changes the 401; the HTTP server's timeouts and header limit come from
// [HTTPConfig]. Every answer carries X-Request-Id, and every log line of a request its request_id.
//
// Unsigned platforms: a source with a [Confirmer] (`confirm: fetch`) has each normalized event
// checked with the platform's API before it is published, and publishes what the API says; a
// resource the platform does not know is refused (401 "unconfirmed"), an API that does not answer
// gives 503. [Server.Reload] swaps every source's secrets at once (SIGHUP) while requests run.
//
// Large payloads: with [Config.Objects], a body over its source's [offload.Policy] threshold, or an
// event too large for a NATS message, has its large values stored in the object store first and
// referred to from the event (package offload); an object that cannot be stored gives 503 and
// nothing is published.
//
// ingest is the only package that imports Echo. It declares the Publisher, Quarantine and object
// store it needs in the types of package record, and never imports package broker, which provides
// the JetStream ones (cmd/avatarbus wires them; test/arch checks the arrow).
package ingest
