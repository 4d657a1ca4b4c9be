package envelope

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"
)

// reference is what Marshal did before appendEvent: encoding/json with data.raw spliced in as is.
func reference(e *Event) ([]byte, error) {
	shadow := *e
	shadow.Data.Raw = json.RawMessage("null")
	b, err := json.Marshal(&shadow)
	if err != nil {
		return nil, err
	}
	tail := []byte(`"raw":null}}`)
	if !bytes.HasSuffix(b, tail) {
		panic("layout changed")
	}
	return append(append(b[:len(b)-len(tail)], `"raw":`...), append(append([]byte(nil), e.Data.Raw...), '}', '}')...), nil
}

func sameAsReference(t *testing.T, e *Event) {
	t.Helper()
	want, werr := reference(e)
	got, gerr := Marshal(e)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("error %v, encoding/json says %v", gerr, werr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Marshal:\n%s\nencoding/json:\n%s", got, want)
	}
}

func TestMarshalWritesWhatEncodingJSONWrites(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	at := time.Date(2026, 11, 26, 10, 0, 0, 120000000, time.FixedZone("x", 5*3600+1800))
	full := Event{SpecVersion: SpecVersion, ID: "acme:<id>&\u2028\u2029", Source: "/platforms/acme", Type: TypeVideoFailed,
		Subject: "v\"\\\b\f\n\r\t\x01\x1f\x7f é 😀 \xff", Time: at, DataContentType: DataContentType, Platform: "acme",
		PlatformEvent: "video.failed", PlatformEventID: "evt_<1>", CorrelationID: "c-1",
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceState: "rojo=00f067aa0ba902b7,c=<&>", RecoveredBy: "poll", ReceivedAt: at.UTC(),
		Data: Data{ResourceID: "v", Status: "failed", MediaURL: "https://x/a?b=1&c=<2>", ThumbnailURL: "t", GifURL: "g",
			CaptionsURL: "c", PageURL: "p", DurationSeconds: f(59.5), Error: &Error{Code: "E1", Message: "boom"},
			Objects: []Object{
				{Path: "/data/full_audio", URL: "nats://AVATAR_OBJECTS/acme:<id>&/data/full_audio", Size: 31457280, Digest: "SHA-256=abc-_=", ContentType: "audio/mpeg"},
				{Path: "", URL: "nats://B/x", Size: 0, Digest: ""},
			},
			Raw: json.RawMessage(`{"a": "<not escaped>" }`)}}
	cases := []Event{full, {Data: Data{Raw: json.RawMessage(`1`)}}, {Data: Data{Objects: []Object{{Size: -1}}, Raw: json.RawMessage(`"nats://B/x"`)}}}
	for _, d := range []float64{0, math.Copysign(0, -1), 1e-7, 1e-6, 123456789, 1e20, 1e21, 1.5e300, -2.5e-9, 59} {
		e := full
		e.Data.DurationSeconds = f(d)
		cases = append(cases, e)
	}
	e := full
	e.TraceState = "" // traceparent alone, as a trace without vendor state has
	cases = append(cases, e)
	e = full
	e.RecoveredBy = "" // a webhook: the attribute is omitted
	cases = append(cases, e)
	e = full
	e.Data.Error = &Error{}
	cases = append(cases, e)
	e = full
	e.Data = Data{Error: &Error{Message: "only"}, Raw: json.RawMessage(`"x"`)}
	cases = append(cases, e)
	for i := range cases {
		sameAsReference(t, &cases[i])
	}
	// Where encoding/json fails, Marshal fails too.
	for _, bad := range []Event{
		{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Data: Data{Raw: json.RawMessage(`{}`)}},
		{Data: Data{DurationSeconds: f(math.NaN()), Raw: json.RawMessage(`{}`)}},
		{Data: Data{DurationSeconds: f(math.Inf(1)), Raw: json.RawMessage(`{}`)}},
	} {
		if _, err := Marshal(&bad); err == nil {
			t.Errorf("Marshal(%+v) succeeded; encoding/json fails", bad)
		}
	}
}

// TestEncoderKnowsEveryField fails when a field is added to Event, Data or Error: appendEvent must
// learn it (and this list with it), or published events would silently lack it.
func TestEncoderKnowsEveryField(t *testing.T) {
	want := map[reflect.Type]string{
		reflect.TypeFor[Event](): "specversion id source type subject,omitempty time datacontenttype platform platformevent,omitempty platformeventid,omitempty correlationid,omitempty traceparent,omitempty tracestate,omitempty recoveredby,omitempty receivedat data",
		reflect.TypeFor[Data](): "resource_id,omitempty status,omitempty media_url,omitempty thumbnail_url,omitempty gif_url,omitempty " +
			"captions_url,omitempty page_url,omitempty duration_seconds,omitempty error,omitempty objects,omitempty raw",
		reflect.TypeFor[Error]():  "code,omitempty message,omitempty",
		reflect.TypeFor[Object](): "path url size digest content_type,omitempty",
	}
	for typ, tags := range want {
		var got []byte
		for i := range typ.NumField() {
			if !typ.Field(i).IsExported() {
				continue
			}
			if len(got) > 0 {
				got = append(got, ' ')
			}
			got = append(got, typ.Field(i).Tag.Get("json")...)
		}
		if string(got) != tags {
			t.Errorf("%s fields are %q; appendEvent (encode.go) writes %q: update both", typ, got, tags)
		}
	}
}

// FuzzMarshal: for any strings and numbers, Marshal writes the bytes encoding/json writes.
func FuzzMarshal(f *testing.F) {
	f.Add("acme:1", "v<1>", "video.done", "\xff\u2028", 59.5, int64(1764151200), int64(123))
	f.Add("", "", "", "", 0.0, int64(0), int64(0))
	f.Fuzz(func(t *testing.T, id, subject, event, msg string, d float64, sec, nsec int64) {
		at := time.Unix(sec%(1<<35), nsec%1e9).UTC()
		e := Event{SpecVersion: SpecVersion, ID: id, Source: "/platforms/x", Type: TypeVideoCompleted, Subject: subject,
			Time: at, DataContentType: DataContentType, Platform: "x", PlatformEvent: event, TraceParent: id, TraceState: msg, ReceivedAt: at,
			Data: Data{ResourceID: subject, DurationSeconds: &d, Error: &Error{Message: msg},
				Objects: []Object{{Path: subject, URL: id, Size: sec, Digest: msg, ContentType: event}}, Raw: json.RawMessage(`{"k":1}`)}}
		sameAsReference(t, &e)
	})
}

// TestPayloadDataSkipsOnlyItsOwnCheck: Marshal trusts Raw without scanning it only while Raw is
// the slice PayloadData validated; a Raw replaced afterwards is validated again.
func TestPayloadDataSkipsOnlyItsOwnCheck(t *testing.T) {
	e := Event{SpecVersion: SpecVersion, ID: "x:1", Data: PayloadData([]byte(` {"a":1} `))}
	if !e.Data.rawChecked() {
		t.Fatal("PayloadData's Raw is not known valid")
	}
	sameAsReference(t, &e)
	copied := e // a copy still shares the validated bytes
	if !copied.Data.rawChecked() {
		t.Fatal("a copy lost the knowledge")
	}
	e.Data.Raw = json.RawMessage(`{"a":`) // replaced by invalid JSON
	if e.Data.rawChecked() {
		t.Fatal("a replaced Raw is still trusted")
	}
	if _, err := Marshal(&e); err == nil {
		t.Fatal("Marshal accepted invalid raw JSON")
	}
	if d := PayloadData([]byte("not json")); !d.rawChecked() || string(d.Raw) != `"bm90IGpzb24="` {
		t.Fatalf("not-JSON body: %s", d.Raw)
	}
}
