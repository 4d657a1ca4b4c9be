package offload

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/broker"
	"github.com/avatarbus/avatarbus/internal/broker/brokertest"
	"github.com/avatarbus/avatarbus/platform"
)

func TestStringValues(t *testing.T) {
	tests := []struct {
		name, json string
		want       []string // pointer=text
	}{
		{"scalars only", `[1, true, null, -2.5e3, {"a": false}]`, nil},
		{"root string", `"x"`, []string{"=x"}},
		{"names are not values", `{"a":"b","c":{"d":"e"}}`, []string{"/a=b", "/c/d=e"}},
		{"arrays", `{"a":["x",{"b":"y"},["z"]],"n":1,"s":"t"}`, []string{"/a/0=x", "/a/1/b=y", "/a/2/0=z", "/s=t"}},
		{"escapes in names and values", `{"a/b~c":"q\"\\","\"k\\":"\u00e9\\\""}`, []string{"/a~1b~0c=q\"\\", "/\"k\\=é\\\""}},
		{"whitespace", " {\n \"a\" :\t[ \"b\" , 2 ] , \"c\" : \"d\" }\n", []string{"/a/0=b", "/c=d"}},
		{"empty containers", `{"a":{},"b":[],"c":"d"}`, []string{"/c=d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.json)
			var got []string
			for _, s := range stringValues(b) {
				if b[s.start] != '"' || b[s.end-1] != '"' {
					t.Errorf("span %d:%d is %q", s.start, s.end, b[s.start:s.end])
				}
				got = append(got, s.ptr+"="+unquote(b[s.start:s.end]))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
	// Nesting is not recursion, and pointers are built only for what may be moved: a deep document
	// is scanned in linear time, its deep small string skipped, the large string after it found.
	deep := `{"deep":` + strings.Repeat(`{"a":[`, 200_000) + `"x"` + strings.Repeat(`]}`, 200_000) +
		`,"big":"` + strings.Repeat("b", MinMoved) + `"}`
	if got := stringValues([]byte(deep)); len(got) != 1 || got[0].ptr != "/big" || got[0].len() != MinMoved+2 {
		t.Errorf("deep document: %+v", got)
	}
}

func TestPointer(t *testing.T) {
	for path, want := range map[string]string{"data.full_audio": "/data/full_audio", "a/b.c~d": "/a~1b/c~0d"} {
		if got := (platform.LargeField{Path: path}).Pointer(); got != want {
			t.Errorf("Pointer(%q) = %q, want %q", path, got, want)
		}
	}
}

// objectsOn starts a JetStream server with the bucket and returns the store.
func objectsOn(t *testing.T) *broker.Objects {
	srv := brokertest.RunJetStream(t)
	_, js := brokertest.Connect(t, srv.ClientURL())
	if err := broker.EnsureObjects(context.Background(), js, broker.ObjectsConfig{Bucket: "B", Replicas: 1, TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	return broker.NewObjects(js, "B", 0)
}

func event(body string) *envelope.Event {
	return &envelope.Event{SpecVersion: envelope.SpecVersion, ID: "p:e:1", Source: "/platforms/p", Type: envelope.TypeUnrecognized,
		DataContentType: envelope.DataContentType, Platform: "p", Data: envelope.PayloadData([]byte(body))}
}

func TestApply(t *testing.T) {
	store := objectsOn(t)
	const limit = 64 << 10 // a small max payload keeps the bodies small
	o := New(store, func() int64 { return limit })
	audio := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1000)
	b64 := base64.StdEncoding.EncodeToString(audio)
	fields := []platform.LargeField{{Path: "data.audio", Encoding: "base64", ContentType: "audio/mpeg", Media: true}}
	big := strings.Repeat("y", 70<<10)

	tests := []struct {
		name      string
		body      string
		policy    Policy
		wantPaths []string
		wantRaw   string // with R = the reference of the first object
	}{{
		name:   "under both limits: untouched",
		body:   `{"data":{"audio":"` + b64 + `"}}`,
		policy: Policy{Fields: fields},
	}, {
		name:      "over the threshold: the declared field, decoded",
		body:      `{"data":{"audio":"` + b64 + `","x":1}}`,
		policy:    Policy{Above: 1000, Fields: fields},
		wantPaths: []string{"/data/audio"},
		wantRaw:   `{"data":{"audio":"R","x":1}}`,
	}, {
		name:      "declared field absent: the largest string instead",
		body:      `{"data":{"other":"` + big + `","small":"s"}}`,
		policy:    Policy{Fields: fields},
		wantPaths: []string{"/data/other"},
		wantRaw:   `{"data":{"other":"R","small":"s"}}`,
	}, {
		name:      "largest first, until it fits",
		body:      `{"a":"` + strings.Repeat("a", 30<<10) + `","b":"` + strings.Repeat("b", 35<<10) + `","c":"` + strings.Repeat("c", 20<<10) + `"}`,
		policy:    Policy{},
		wantPaths: []string{"/b"},
		wantRaw:   `{"a":"` + strings.Repeat("a", 30<<10) + `","b":"R","c":"` + strings.Repeat("c", 20<<10) + `"}`,
	}, {
		name:      "escaped base64 (\\/) is unescaped before decoding",
		body:      `{"data":{"audio":"` + strings.ReplaceAll(b64, "/", `\/`) + `"}}`,
		policy:    Policy{Above: 100, Fields: fields},
		wantPaths: []string{"/data/audio"},
		wantRaw:   `{"data":{"audio":"R"}}`,
	}, {
		name:      "JSON scalar too large: the whole payload",
		body:      `"` + big + `"`,
		policy:    Policy{},
		wantPaths: []string{""},
		wantRaw:   `"R"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := event(tt.body)
			if err := o.Apply(context.Background(), ev, []byte(tt.body), "application/json", tt.policy); err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, obj := range ev.Data.Objects {
				paths = append(paths, obj.Path)
			}
			if fmt.Sprint(paths) != fmt.Sprint(tt.wantPaths) {
				t.Fatalf("objects %+v, want paths %q", ev.Data.Objects, tt.wantPaths)
			}
			if tt.wantPaths == nil {
				if string(ev.Data.Raw) != tt.body {
					t.Errorf("raw changed")
				}
				return
			}
			obj := ev.Data.Objects[0]
			if want := strings.Replace(tt.wantRaw, "R", obj.URL, 1); string(ev.Data.Raw) != want {
				t.Errorf("raw = %.200s\nwant %.200s", ev.Data.Raw, want)
			}
			if !json.Valid(ev.Data.Raw) {
				t.Errorf("raw is not JSON")
			}
			b, err := envelope.Marshal(ev)
			if err != nil || len(b) > limit-Headroom {
				t.Errorf("envelope %d bytes (%v), limit %d", len(b), err, limit-Headroom)
			}
			var got bytes.Buffer
			_, name, _ := broker.ParseRef(obj.URL)
			if _, err := store.Get(context.Background(), name, &got); err != nil {
				t.Fatal(err)
			}
			if obj.Path == "/data/audio" {
				if !bytes.Equal(got.Bytes(), audio) || obj.ContentType != "audio/mpeg" || ev.Data.MediaURL != obj.URL {
					t.Errorf("audio object: %d bytes, %+v, media_url %q", got.Len(), obj, ev.Data.MediaURL)
				}
			} else if ev.Data.MediaURL != "" {
				t.Errorf("media_url %q for a field that is not media", ev.Data.MediaURL)
			}
			if int64(got.Len()) != obj.Size || broker.Digest(got.Bytes()) != obj.Digest {
				t.Errorf("object %+v holds %d bytes", obj, got.Len())
			}
		})
	}
}

// TestApplyLeavesSmallEventsAlone: the common case costs no allocation and no store call.
func TestApplyLeavesSmallEventsAlone(t *testing.T) {
	o := New(nil, func() int64 { return 1 << 20 }) // a nil store: any Put would panic
	body := `{"type":"post_call_transcription","data":{"conversation_id":"c1","transcript":[{"role":"agent","message":"hi"}]}}`
	ev := event(body)
	p := Policy{Above: 512 << 10, Fields: []platform.LargeField{{Path: "data.full_audio", Encoding: "base64"}}}
	b := []byte(body)
	allocs := testing.AllocsPerRun(100, func() {
		if err := o.Apply(context.Background(), ev, b, "", p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 || len(ev.Data.Objects) != 0 || string(ev.Data.Raw) != body {
		t.Errorf("%v allocations, objects %v", allocs, ev.Data.Objects)
	}
}
