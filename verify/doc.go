// Package verify checks the signatures that AI avatar platforms put on
// their webhooks.
//
// A scheme is chosen and parameterised with a [Config] and built with
// [New]; the resulting [Verifier] checks one [Request] at a time against the
// raw body, exactly as it was received. Every scheme compares secrets and
// MACs in constant time, tries every configured secret so that secrets can
// be rotated without downtime, never reads the clock itself (the caller
// supplies [Request.Now]) and never panics, whatever the input.
//
// A failed verification is always an [*Error] that matches [ErrUnverified]
// with [errors.Is]; its Reason is a stable machine code for HTTP answers and
// metrics, and its Detail never contains a secret or a computed MAC.
//
// The package deliberately depends on nothing but the standard library and
// on no HTTP framework: headers are a [textproto.MIMEHeader] and the query is
// a [url.Values], both of which net/http and most frameworks can provide.
//
// The known schemes are:
//
//   - "standardwebhooks": the Standard Webhooks specification
//     (webhook-id, webhook-timestamp and webhook-signature headers).
//   - "elevenlabs": the ElevenLabs-Signature header (t=<unix>,v0=<hex>).
//   - "synthesia": the Synthesia-Signature and Synthesia-Timestamp headers.
//   - "hmac": a generic, configurable HMAC over the body, optionally bound
//     to a timestamp and a message id.
//   - "token": a shared token in a query parameter or a header.
//   - "none": accepts every request.
package verify
