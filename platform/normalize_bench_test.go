package platform_test

import (
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/platform"
)

// BenchmarkNormalize normalizes each built-in sample of each preset (the fixtures the golden tests
// use), one sub-benchmark per platform and event, with allocations:
//
//	go test -run '^$' -bench Normalize -benchmem ./platform/
func BenchmarkNormalize(b *testing.B) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, p := range platform.Default().All() {
		s, ok := p.(platform.Sampler)
		if !ok {
			continue
		}
		for _, sample := range s.Samples() {
			in := platform.Input{Source: p.Name(), Body: sample.Body, ReceivedAt: now, MessageID: "msg_1"}
			b.Run(p.Name()+"/"+sample.Event, func(b *testing.B) {
				b.SetBytes(int64(len(sample.Body)))
				b.ReportAllocs()
				for b.Loop() {
					if ev := p.Normalize(in); ev.ID == "" {
						b.Fatal("no id")
					}
				}
			})
		}
	}
}
