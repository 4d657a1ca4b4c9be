// Package reliability tries to break avatarbus the way production will: stream leaders killed
// under load, the NATS server stopped and started again, hostile HTTP input, replayed requests and
// hours of sustained traffic. It holds what its tests and the soak command share: a Stack (the
// ingest tier wired as `avatarbus serve` wires it, on loopback), a signed Load generator that
// retries like a platform, and StreamIDs, which reads back what the stream holds.
//
// go test -race ./reliability runs a bounded version of every test (well under three minutes on
// two cores; -short skips them); go test ./reliability -long -timeout 30m runs the long versions:
// more leader kills and outages, longer phases, ingest's default read timeouts. The soak command
// is reliability/soak. Only loopback addresses are used.
//
// reliability imports ingest, broker, platform and verify, like cmd; only its tests and
// reliability/soak import it.
package reliability
