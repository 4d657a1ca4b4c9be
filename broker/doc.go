// Package broker owns avatarbus's side of NATS JetStream: the embedded nats-server, the
// connection to an external cluster, the streams, and the publisher whose acknowledgement is what a
// 2xx answer promises. It also keeps the quarantine stream (AVATAR_QUARANTINE on
// quarantine.<prefix>.>) of refused requests: [Quarantine.Keep] stores one, [RefusedFromMsg] reads
// it back.
//
// broker imports envelope and subjects of avatarbus and nothing else of it.
package broker
