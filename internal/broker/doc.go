// Package broker owns avatarbus's side of NATS JetStream: the embedded nats-server, the
// connection to an external cluster, the streams, and the publisher whose acknowledgement is what a
// 2xx answer promises. It also keeps the quarantine stream (AVATAR_QUARANTINE on
// quarantine.<prefix>.>) of refused requests: [Quarantine.Keep] stores one, [RefusedFromMsg] reads
// it back. The object store bucket AVATAR_OBJECTS holds the payload values too large for an event
// ([Objects.Put]; references are nats://<bucket>/<name>, see [ParseRef]).
//
// broker imports envelope, subjects, internal/record and internal/redact of avatarbus and
// nothing else of it.
package broker
