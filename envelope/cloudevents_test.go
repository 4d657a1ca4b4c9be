package envelope_test

import (
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"

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
