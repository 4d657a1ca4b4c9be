// Package poll recovers what webhooks cannot deliver by polling the platforms' APIs (issue 15):
//
//   - reconciliation: every reconcile.every, a source's jobs of the last reconcile.lookback are
//     listed (internal/platformapi Lister); each terminal job is normalized by the source's
//     preset into the event its webhook would have been (same type, same id) and published
//     through the same publisher as ingest, marked recoveredby "poll". A job whose event is
//     already stored is skipped: JetStream's dedup window answers duplicate, and beyond that
//     window the KV bucket <stream>_SEEN remembers the ids of stored events for lookback +
//     duplicate_window (filled by a headers-only durable consumer and by the reconciler);
//   - stalls: a job seen non-terminal for longer than stall_after publishes one
//     avatar.video.stalled (first-seen times in KV <stream>_JOBS);
//   - usage: every usage.every the balance is read (Balancer); crossing below usage.low publishes
//     one avatar.account.credits_low, reaching zero one avatar.account.credits_exhausted, per
//     crossing per billing period (state in KV <stream>_USAGE);
//   - one poller per cluster: a lease in KV <stream>_LEASES (bucket TTL, revision CAS) decides
//     which replica polls; the others wait and take over when the holder's lease expires.
//
// Polling never crashes serve: a failed pass is counted (internal/metrics Poll) and logged once,
// and the next pass tries again.
package poll
