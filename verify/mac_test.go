package verify

import (
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"
)

// macCase signs a request for one HMAC scheme with a given secret.
type macCase struct {
	scheme  string
	secrets [2]string // the old and the rotated secret
	cfg     func(secrets ...string) Config
	sign    func(t testing.TB, secret string, body []byte, now time.Time) Request
}

func macCases() []macCase {
	hmacCfg := func(secrets ...string) Config {
		return Config{Scheme: "hmac", Secrets: secrets, Prefix: "sha512=", Algorithm: "sha512",
			TimestampHeader: "X-Timestamp", IDHeader: "X-Event-Id", Content: "id.timestamp.body"}
	}
	rotatedSW := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of 24 bytes!"))
	return []macCase{
		{"standardwebhooks", [2]string{swSecret, rotatedSW},
			func(s ...string) Config { return Config{Scheme: "standardwebhooks", Secrets: s} },
			func(t testing.TB, secret string, body []byte, now time.Time) Request {
				sig, err := SignStandardWebhooks(secret, "msg_1", now, body)
				if err != nil {
					t.Fatal(err)
				}
				return Request{Header: headers("Webhook-Id", "msg_1", "Webhook-Timestamp", unix(now), "Webhook-Signature", sig)}
			}},
		{"elevenlabs", [2]string{plainSecret, "rotated_secret"},
			func(s ...string) Config { return Config{Scheme: "elevenlabs", Secrets: s} },
			func(_ testing.TB, secret string, body []byte, now time.Time) Request {
				return Request{Header: headers("ElevenLabs-Signature", SignElevenLabs(secret, now, body))}
			}},
		{"synthesia", [2]string{plainSecret, "rotated_secret"},
			func(s ...string) Config { return Config{Scheme: "synthesia", Secrets: s} },
			func(_ testing.TB, secret string, body []byte, now time.Time) Request {
				return Request{Header: headers("Synthesia-Signature", SignSynthesia(secret, now, body), "Synthesia-Timestamp", unix(now))}
			}},
		{"hmac", [2]string{plainSecret, "rotated_secret"}, hmacCfg,
			func(t testing.TB, secret string, body []byte, now time.Time) Request {
				sig, err := SignHMAC(hmacCfg(), secret, "msg_1", now, body)
				if err != nil {
					t.Fatal(err)
				}
				return Request{Header: headers("Signature", sig, "X-Timestamp", unix(now), "X-Event-Id", "msg_1")}
			}},
	}
}

// TestPooledMACFollowsRotation: verifiers keep keyed HMACs in pools, reused across requests. A
// verifier built for a rotated secret (what a reload does) must refuse what the old secret signs,
// however warm the old verifier's pool, and a refused request must not leave a pooled HMAC in a
// state that refuses the next genuine one.
func TestPooledMACFollowsRotation(t *testing.T) {
	now := time.Unix(1700000000, 0)
	body := []byte(`{"type":"video.done"}`)
	for _, tc := range macCases() {
		t.Run(tc.scheme, func(t *testing.T) {
			old, rotated := tc.secrets[0], tc.secrets[1]
			vOld, vNew := mustNew(t, tc.cfg(old)), mustNew(t, tc.cfg(rotated))
			vBoth := mustNew(t, tc.cfg(rotated, old)) // the overlap of a rotation
			byOld, byNew := tc.sign(t, old, body, now), tc.sign(t, rotated, body, now)
			for _, r := range []*Request{&byOld, &byNew} {
				r.Body, r.Now = body, now
			}
			for i := range 50 {
				for _, c := range []struct {
					v    Verifier
					req  Request
					want bool
					name string
				}{
					{vOld, byOld, true, "old verifier, old secret"},
					{vOld, byNew, false, "old verifier, rotated secret"},
					{vNew, byOld, false, "rotated verifier, old secret"},
					{vNew, byNew, true, "rotated verifier, rotated secret"},
					{vBoth, byOld, true, "both, old secret"},
					{vBoth, byNew, true, "both, rotated secret"},
				} {
					_, err := c.v.Verify(c.req)
					if (err == nil) != c.want {
						t.Fatalf("round %d, %s: err %v, want accepted %v", i, c.name, err, c.want)
					}
					if err != nil && ReasonOf(err) != ReasonSignatureMismatch {
						t.Fatalf("round %d, %s: reason %q", i, c.name, ReasonOf(err))
					}
				}
			}
		})
	}
}

// TestPooledMACConcurrent: goroutines sharing one verifier each get their own pooled HMAC (run
// with -race); genuine requests pass and tampered bodies fail whatever the interleaving.
func TestPooledMACConcurrent(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, tc := range macCases() {
		t.Run(tc.scheme, func(t *testing.T) {
			v := mustNew(t, tc.cfg(tc.secrets[0]))
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					for i := range 200 {
						body := fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i)
						req := tc.sign(t, tc.secrets[0], body, now)
						req.Now = now
						req.Body = body
						if _, err := v.Verify(req); err != nil {
							errs <- fmt.Errorf("goroutine %d, genuine %d: %w", g, i, err)
							return
						}
						req.Body = fmt.Appendf(nil, `{"g":%d,"i":%d}`, g, i+1)
						if _, err := v.Verify(req); ReasonOf(err) != ReasonSignatureMismatch {
							errs <- fmt.Errorf("goroutine %d, tampered %d: %v", g, i, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
