package verify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/verify"
)

// TestSignRoundTrip: what Sign produces, the same scheme's verifier accepts; a changed body or
// another secret it refuses.
func TestSignRoundTrip(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"type":"video.completed","data":{"id":"v1"}}`)
	tests := []struct {
		name   string
		cfg    verify.Config
		secret string
	}{
		{"standardwebhooks", verify.Config{Scheme: "standardwebhooks"}, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{"elevenlabs", verify.Config{Scheme: "elevenlabs"}, "wsec_x"},
		{"synthesia", verify.Config{Scheme: "synthesia"}, "syn"},
		{"hmac default", verify.Config{Scheme: "hmac"}, "k"},
		{"hmac full", verify.Config{Scheme: "hmac", Header: "X-Sig", Algorithm: "sha512", Encoding: "base64", Prefix: "sha512=",
			TimestampHeader: "X-Ts", IDHeader: "X-Id", Content: "id.timestamp.body"}, "k"},
		{"token query", verify.Config{Scheme: "token"}, "tok"},
		{"token param", verify.Config{Scheme: "token", Param: "key"}, "tok"},
		{"token header", verify.Config{Scheme: "token", Header: "X-Token"}, "tok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed, err := verify.Sign(tt.cfg, tt.secret, "msg_1", now, body)
			if err != nil {
				t.Fatal(err)
			}
			cfg := tt.cfg
			cfg.Secrets = []string{tt.secret}
			v, err := verify.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(verify.Request{Header: signed.Header, Query: signed.Query, Body: body, Now: now}); err != nil {
				t.Fatalf("signed request refused: %v", err)
			}
			if tt.cfg.Scheme != "token" {
				if _, err := v.Verify(verify.Request{Header: signed.Header, Query: signed.Query, Body: append([]byte(" "), body...), Now: now}); !errors.Is(err, verify.ErrUnverified) {
					t.Fatalf("changed body accepted: %v", err)
				}
			}
			other := cfg
			other.Secrets = []string{"whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"}
			ov, err := verify.New(other)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ov.Verify(verify.Request{Header: signed.Header, Query: signed.Query, Body: body, Now: now}); !errors.Is(err, verify.ErrUnverified) {
				t.Fatalf("another secret accepted: %v", err)
			}
		})
	}
	if _, err := verify.Sign(verify.Config{Scheme: "none"}, "", "", now, body); !errors.Is(err, verify.ErrConfig) {
		t.Fatalf("none must not sign: %v", err)
	}
}
