// Package envelope owns the event avatarbus publishes: a CloudEvents 1.0 event in structured JSON
// mode with the extensions platform, platformevent, platformeventid, correlationid and receivedat,
// whose data holds a few normalized fields and the platform's original payload. It also owns the
// catalogue of canonical event types and the rules for deterministic event ids.
//
// envelope imports nothing else of avatarbus. The CloudEvents SDK is used only by its tests, as an
// oracle that reads the bytes avatarbus writes.
package envelope
