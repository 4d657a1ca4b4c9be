package index

import (
	"encoding/json"
	"testing"
)

var entryCases = []string{
	`{"specversion":"1.0","id":"hg-1","source":"avatarbus/heygen","type":"avatar.video.completed","subject":"vid-7","time":"2026-12-07T05:01:00.123456789Z","datacontenttype":"application/json","platform":"heygen","correlationid":"job-42","receivedat":"2026-12-07T05:01:01Z","data":{"resource_id":"vid-7","raw":{"id":"x","s":"a \"quoted\" } ] { [ string","n":[1,2,{"k":null}]}}}`,
	` { "id" : "a" , "time" : "2026-12-07T05:00:00+01:00" , "platform":"did" } `,
	`{"id":"esc\u00e9","subject":"r\\s","type":"t"}`,           // escapes: encoding/json decodes them
	`{"id":"é","subject":"ü"}`,                                 // non-ASCII
	`{"ID":"upper","id":"lower"}`,                              // case folding: encoding/json's rules
	`{"Id":"only-folded"}`,                                     // ditto
	`{"id":"x","time":null,"subject":null}`,                    // nulls
	`{"id":"x","time":"not a time"}`,                           // refused
	`{"id":42}`,                                                // not a string
	`{"id":"  "}`,                                              // blank id: nothing to index
	`{"type":"no id"}`,                                         // no id
	`{}`, `[]`, `"id"`, `null`, ``, `{"id":"x"`, `{"id":"x"}x`, // not one object
	`{"id":"x","data":[1,"]",{"a":"}"}],"n":-1.5e3,"b":true,"z":false}`,
	`{"id":"dup","id":"last"}`,                             // the last wins
	`{"id":"kept","id":null,"subject":"r","subject":null}`, // null leaves the field as it was
	`{"id":"x","time":"2026-12-07T05:00:00Z","time":"2026-12-07T06:00:00Z"}`,
	"{\"id\":\"tab\\there\"}",
	`{"id":"x","platform":"p","extra":{"deep":{"deeper":[[[]]]}}}`,
}

// TestEntryOfAgreesWithJSON: on valid JSON, the fast entryOf reads what encoding/json reads.
func TestEntryOfAgreesWithJSON(t *testing.T) {
	for _, c := range entryCases {
		t.Run(c, func(t *testing.T) { checkEntryOf(t, []byte(c)) })
	}
}

func checkEntryOf(t *testing.T, data []byte) {
	got, gotOK := entryOf(7, data)
	want, wantOK := entryOfJSON(7, data)
	if !json.Valid(data) {
		return // stored events are valid JSON; on invalid JSON entryOf may be more lenient
	}
	if gotOK != wantOK || got.ID != want.ID || got.Type != want.Type || got.ResourceID != want.ResourceID ||
		got.Platform != want.Platform || got.CorrelationID != want.CorrelationID || !got.Time.Equal(want.Time) || got.Seq != want.Seq {
		t.Fatalf("entryOf(%s)\n= %+v, %v\nencoding/json: %+v, %v", data, got, gotOK, want, wantOK)
	}
}

func FuzzEntryOf(f *testing.F) {
	for _, c := range entryCases {
		f.Add([]byte(c))
	}
	f.Fuzz(checkEntryOf)
}

func BenchmarkEntryOf(b *testing.B) {
	data := []byte(entryCases[0])
	for _, fn := range []struct {
		name string
		f    func(uint64, []byte) (Entry, bool)
	}{{"walk", entryOf}, {"encoding/json", entryOfJSON}} {
		b.Run(fn.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, ok := fn.f(1, data); !ok {
					b.Fatal("not read")
				}
			}
		})
	}
}
