package verify

import (
	"net/textproto"
	"testing"
	"time"
)

// TestVectors checks every vector of testdata/vectors.json, and that the
// Sign functions reproduce the signatures marked resign.
func TestVectors(t *testing.T) {
	for _, vec := range loadVectors(t) {
		t.Run(vec.Name, func(t *testing.T) {
			cfg := vec.Config.config(t)
			req := vec.request(t)
			res, err := mustNew(t, cfg).Verify(req)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.MessageID != vec.WantMessageID {
				t.Errorf("MessageID = %q, want %q", res.MessageID, vec.WantMessageID)
			}
			var wantTS time.Time
			if vec.WantTimestamp != 0 {
				wantTS = time.Unix(vec.WantTimestamp, 0)
			}
			if !res.Timestamp.Equal(wantTS) {
				t.Errorf("Timestamp = %v, want %v", res.Timestamp, wantTS)
			}
			if vec.Resign {
				header, got := resign(t, cfg, vec, req)
				if want := req.Header.Get(header); got != want {
					t.Errorf("resigned %s = %q, want %q", header, got, want)
				}
			}
		})
	}
}

// resign signs the vector's request with the package's Sign function for
// its scheme, returning the signature header's name and value.
func resign(t *testing.T, cfg Config, vec vector, req Request) (string, string) {
	t.Helper()
	secret, ts := cfg.Secrets[0], time.Unix(vec.WantTimestamp, 0)
	switch cfg.Scheme {
	case "standardwebhooks":
		sig, err := SignStandardWebhooks(secret, vec.WantMessageID, ts, req.Body)
		if err != nil {
			t.Fatal(err)
		}
		return "Webhook-Signature", sig
	case "elevenlabs":
		return "ElevenLabs-Signature", SignElevenLabs(secret, ts, req.Body)
	case "synthesia":
		return "Synthesia-Signature", SignSynthesia(secret, ts, req.Body)
	case "hmac":
		sig, err := SignHMAC(cfg, secret, vec.WantMessageID, ts, req.Body)
		if err != nil {
			t.Fatal(err)
		}
		return textproto.CanonicalMIMEHeaderKey(orDefault(cfg.Header, "Signature")), sig
	}
	t.Fatalf("no Sign function for scheme %q", cfg.Scheme)
	return "", ""
}

// TestSignRoundTrip checks that what each Sign function produces verifies,
// for a range of bodies, including an empty one.
func TestSignRoundTrip(t *testing.T) {
	now := time.Unix(1700000000, 0)
	for _, body := range [][]byte{nil, {}, []byte("x"), []byte(`{"a":1}`), make([]byte, 4096)} {
		sw, err := SignStandardWebhooks(swSecret, "msg_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		hmacCfg := Config{Scheme: "hmac", Secrets: []string{"k"}, Algorithm: "sha512", Encoding: "base64",
			Prefix: "sha512=", TimestampHeader: "X-Ts", IDHeader: "X-Id", Content: "id.timestamp.body"}
		hm, err := SignHMAC(hmacCfg, "k", "msg_1", now, body)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			cfg Config
			h   textproto.MIMEHeader
		}{
			{Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}},
				headers("Webhook-Id", "msg_1", "Webhook-Timestamp", "1700000000", "Webhook-Signature", sw)},
			{Config{Scheme: "elevenlabs", Secrets: []string{"k"}},
				headers("ElevenLabs-Signature", SignElevenLabs("k", now, body))},
			{Config{Scheme: "synthesia", Secrets: []string{"k"}},
				headers("Synthesia-Signature", SignSynthesia("k", now, body), "Synthesia-Timestamp", "1700000000")},
			{hmacCfg, headers("Signature", hm, "X-Ts", "1700000000", "X-Id", "msg_1")},
		} {
			if _, err := mustNew(t, c.cfg).Verify(Request{Header: c.h, Body: body, Now: now}); err != nil {
				t.Errorf("%s, body of %d bytes: %v", c.cfg.Scheme, len(body), err)
			}
		}
	}
}

func TestSchemes(t *testing.T) {
	want := []string{"elevenlabs", "hmac", "none", "standardwebhooks", "synthesia", "token"}
	got := Schemes()
	if len(got) != len(want) {
		t.Fatalf("Schemes() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Schemes() = %v, want %v", got, want)
		}
	}
	got[0] = "mutated"
	if Schemes()[0] != want[0] {
		t.Error("Schemes() returns shared state")
	}
}
