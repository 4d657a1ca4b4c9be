// Package ingest is avatarbus's HTTP tier: it receives each platform's POST on
// /webhooks/{source}, reads the raw body under a limit, verifies it with the source's scheme,
// normalizes it into an envelope, publishes it, and answers 200 only after JetStream acknowledged
// the store.
//
// ingest is the only package that imports Echo. It declares the Publisher it needs; package broker
// provides the JetStream one.
package ingest
