// Package platformapi talks to the management APIs of the platforms avatarbus receives webhooks
// from: it registers, lists, deletes and rotates webhook endpoints (HeyGen, Synthesia, ElevenLabs)
// and fetches resources back to confirm callbacks that are not signed (D-ID talks, Tavus videos and
// conversations, HeyGen videos). For reconciliation it lists each platform's jobs as the webhook
// bodies they would have sent ([Lister], files *_poll.go) and reads account balances ([Balancer]:
// HeyGen, D-ID, ElevenLabs; Tavus and Synthesia have no balance endpoint).
//
// One file per platform; client.go is the HTTP client they share: a base URL that tests point at
// a local server, the platform's own auth header, a timeout, a User-Agent, and an [*APIError] for
// every answer that is not 2xx, matching [ErrUnauthorized], [ErrNotFound], [ErrRateLimited] or
// [ErrServer] (a 429 carries the wait asked for: [RetryAfter]); the clients of [NewLister] and
// [NewBalancer] also keep to a request budget ([DefaultRequestsPerMinute]). API keys are sent in
// headers only and never appear in an error, a log or a URL.
//
// The package imports platform, envelope and verify (to rebuild and refuse events), never ingest
// or an HTTP framework: the ingest tier holds a [Confirmer] through its own interface.
package platformapi
