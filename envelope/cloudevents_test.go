package envelope_test

import (
	"bytes"

	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/extensions"

	"github.com/avatarbus/avatarbus/envelope"
)

// TestCloudEventsSDKReadsEnvelope uses the CloudEvents SDK as an oracle: the bytes avatarbus
// publishes must parse as a valid CloudEvents 1.0 event with our attributes and extensions.
func TestCloudEventsSDKReadsEnvelope(t *testing.T) {
	b, err := envelope.Marshal(sample())
	if err != nil {
		t.Fatal(err)
	}
	ce := cloudevents.NewEvent()
	if err := ce.UnmarshalJSON(b); err != nil {
		t.Fatalf("SDK cannot read the envelope: %v\n%s", err, b)
	}
	if err := ce.Validate(); err != nil {
		t.Fatalf("SDK says the envelope is invalid: %v", err)
	}
	if ce.SpecVersion() != event.CloudEventsVersionV1 || ce.Type() != envelope.TypeVideoCompleted ||
		ce.Source() != "/platforms/heygen" || ce.ID() != "heygen:avatar_video.success:v1" || ce.Subject() != "v1" {
		t.Fatalf("attributes differ: %s", ce)
	}
	ext := ce.Extensions()
	if ext["platform"] != "heygen" || ext["platformevent"] != "avatar_video.success" ||
		ext["platformeventid"] != "evt_1" {
		t.Fatalf("extensions differ: %v", ext)
	}
	if ce.DataContentType() != "application/json" {
		t.Fatalf("datacontenttype %q", ce.DataContentType())
	}
}

// TestCloudEventsSDKReadsTraceContext: the SDK finds the envelope's traceparent and tracestate as
// its distributed-tracing extension, so a consumer using it continues the trace.
func TestCloudEventsSDKReadsTraceContext(t *testing.T) {
	ev := sample()
	ev.TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ev.TraceState = "rojo=00f067aa0ba902b7"
	b, err := envelope.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	ce := cloudevents.NewEvent()
	if err := ce.UnmarshalJSON(b); err != nil {
		t.Fatalf("SDK cannot read the envelope: %v\n%s", err, b)
	}
	dt, ok := extensions.GetDistributedTracingExtension(ce)
	if !ok || dt.TraceParent != ev.TraceParent || dt.TraceState != ev.TraceState {
		t.Fatalf("distributed tracing extension %+v (found %v), want %s / %s", dt, ok, ev.TraceParent, ev.TraceState)
	}
	// Without tracing the attributes are absent, not empty.
	plain, _ := envelope.Marshal(sample())
	if bytes.Contains(plain, []byte("traceparent")) || bytes.Contains(plain, []byte("tracestate")) {
		t.Fatalf("envelope without trace context names it: %s", plain)
	}
}
