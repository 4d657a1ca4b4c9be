package verify

import (
	"bytes"
	"net/url"
	"testing"
	"time"
)

// BenchmarkVerify measures the verification of a valid request with a
// 1 KiB body for each scheme.
func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 64)
	now := time.Unix(1700000000, 0)
	sw, err := SignStandardWebhooks(swSecret, "msg_1", now, body)
	if err != nil {
		b.Fatal(err)
	}
	hmacCfg := Config{Scheme: "hmac", Secrets: []string{plainSecret}, Prefix: "sha256=",
		TimestampHeader: "X-Timestamp", IDHeader: "X-Event-Id", Content: "id.timestamp.body"}
	hm, err := SignHMAC(hmacCfg, plainSecret, "msg_1", now, body)
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		scheme string
		cfg    Config
		req    Request
	}{
		{"standardwebhooks", Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}}, Request{
			Header: headers("Webhook-Id", "msg_1", "Webhook-Timestamp", unix(now), "Webhook-Signature", sw)}},
		{"elevenlabs", Config{Scheme: "elevenlabs", Secrets: []string{plainSecret}}, Request{
			Header: headers("ElevenLabs-Signature", SignElevenLabs(plainSecret, now, body))}},
		{"synthesia", Config{Scheme: "synthesia", Secrets: []string{plainSecret}}, Request{
			Header: headers("Synthesia-Signature", SignSynthesia(plainSecret, now, body), "Synthesia-Timestamp", unix(now))}},
		{"hmac", hmacCfg, Request{
			Header: headers("Signature", hm, "X-Timestamp", unix(now), "X-Event-Id", "msg_1")}},
		{"token", Config{Scheme: "token", Secrets: []string{plainSecret}}, Request{
			Query: url.Values{"token": {plainSecret}}}},
		{"none", Config{Scheme: "none"}, Request{}},
	}
	for _, c := range cases {
		b.Run(c.scheme, func(b *testing.B) {
			v := mustNew(b, c.cfg)
			req := c.req
			req.Body, req.Now = body, now
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
