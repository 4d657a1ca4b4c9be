package envelope_test

import (
	"encoding/json"
	"reflect"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/avatarbus/avatarbus/envelope"
)

// TestObjectsReadByCloudEventsSDK: an event whose payload was stored by reference is still a valid
// CloudEvent, and its data gives back the references as written, the whole-payload one ("" path)
// included.
func TestObjectsReadByCloudEventsSDK(t *testing.T) {
	ev := sample()
	url := "nats://AVATAR_OBJECTS/elevenlabs:post_call_audio:conv_1/data/full_audio"
	ev.Data.MediaURL = url
	ev.Data.Objects = []envelope.Object{
		{Path: "/data/full_audio", URL: url, Size: 31457280, Digest: "SHA-256=n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg=", ContentType: "audio/mpeg"},
		{Path: "", URL: "nats://AVATAR_OBJECTS/x", Size: 5, Digest: "SHA-256=AAAA"},
	}
	ev.Data.Raw = json.RawMessage(`{"type":"post_call_audio","data":{"full_audio":"` + url + `"}}`)
	b, err := envelope.Marshal(ev)
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
	var data envelope.Data
	if err := ce.DataAs(&data); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(data.Objects, ev.Data.Objects) || data.MediaURL != url {
		t.Fatalf("data.objects = %+v\nwant %+v", data.Objects, ev.Data.Objects)
	}
	var generic map[string]any
	if err := json.Unmarshal(ce.Data(), &generic); err != nil {
		t.Fatal(err)
	}
	whole := generic["objects"].([]any)[1].(map[string]any)
	if p, ok := whole["path"]; !ok || p != "" {
		t.Errorf("the whole payload's path is written as %v (present %v), want \"\"", p, ok)
	}
	if _, ok := whole["content_type"]; ok {
		t.Errorf("an empty content type is written")
	}
}
