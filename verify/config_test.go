package verify

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadConfig(t *testing.T) {
	const badB64 = "whsec_not*base64!"
	for _, c := range []struct {
		name string
		cfg  Config
		want []string // substrings the error must contain
	}{
		{"empty scheme", Config{}, []string{`unknown scheme ""`, "standardwebhooks"}},
		{"unknown scheme", Config{Scheme: "github", Secrets: []string{"s"}}, []string{`unknown scheme "github"`}},
		{"scheme in the wrong case", Config{Scheme: "HMAC", Secrets: []string{"s"}}, []string{`unknown scheme "HMAC"`}},
		{"standardwebhooks without secrets", Config{Scheme: "standardwebhooks"}, []string{"standardwebhooks", "no secrets"}},
		{"elevenlabs without secrets", Config{Scheme: "elevenlabs", Secrets: []string{}}, []string{"elevenlabs", "no secrets"}},
		{"synthesia without secrets", Config{Scheme: "synthesia"}, []string{"synthesia", "no secrets"}},
		{"hmac without secrets", Config{Scheme: "hmac"}, []string{"hmac", "no secrets"}},
		{"token without secrets", Config{Scheme: "token"}, []string{"token", "no secrets"}},
		{"empty secret", Config{Scheme: "elevenlabs", Secrets: []string{"a", ""}}, []string{"elevenlabs", "secret #2 is empty"}},
		{"empty token secret", Config{Scheme: "token", Secrets: []string{""}}, []string{"token", "secret #1 is empty"}},
		{"standardwebhooks secret not base64", Config{Scheme: "standardwebhooks", Secrets: []string{swSecret, badB64}},
			[]string{"standardwebhooks", "secret #2 is not base64"}},
		{"standardwebhooks empty key", Config{Scheme: "standardwebhooks", Secrets: []string{"whsec_"}},
			[]string{"secret #1 decodes to an empty key"}},
		{"negative tolerance", Config{Scheme: "synthesia", Secrets: []string{"s"}, Tolerance: -time.Second}, []string{"negative tolerance"}},
		{"unknown algorithm", Config{Scheme: "hmac", Secrets: []string{"s"}, Algorithm: "md5"}, []string{`unknown algorithm "md5"`}},
		{"algorithm in the wrong case", Config{Scheme: "hmac", Secrets: []string{"s"}, Algorithm: "SHA256"}, []string{`unknown algorithm "SHA256"`}},
		{"unknown encoding", Config{Scheme: "hmac", Secrets: []string{"s"}, Encoding: "base32"}, []string{`unknown encoding "base32"`}},
		{"unknown content", Config{Scheme: "hmac", Secrets: []string{"s"}, Content: "body.timestamp"}, []string{`unknown content "body.timestamp"`}},
		{"timestamp content without timestamp header", Config{Scheme: "hmac", Secrets: []string{"s"}, Content: "timestamp.body"},
			[]string{`content "timestamp.body" needs a timestamp header`}},
		{"id content without id header", Config{Scheme: "hmac", Secrets: []string{"s"}, Content: "id.timestamp.body", TimestampHeader: "X-Ts"},
			[]string{`content "id.timestamp.body" needs an id header`}},
		{"id content without any header", Config{Scheme: "hmac", Secrets: []string{"s"}, Content: "id.timestamp.body"},
			[]string{"needs a timestamp header", "needs an id header"}},
		{"invalid header names", Config{Scheme: "hmac", Secrets: []string{"s"}, Header: "X Sig", TimestampHeader: "X-Ts:", IDHeader: "Id\n"},
			[]string{`Header "X Sig"`, `TimestampHeader "X-Ts:"`, `IDHeader "Id\n"`}},
		{"token with invalid header", Config{Scheme: "token", Secrets: []string{"s"}, Header: "X Token"}, []string{`Header "X Token"`}},
		{"every problem reported", Config{Scheme: "hmac", Secrets: []string{"s", ""}, Tolerance: -1,
			Algorithm: "md5", Encoding: "base32", Content: "timestamp.body"},
			[]string{"negative tolerance", "secret #2 is empty", "unknown algorithm", "unknown encoding", "needs a timestamp header"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v, err := New(c.cfg)
			if err == nil {
				t.Fatalf("New succeeded (%T), want an error", v)
			}
			if v != nil {
				t.Errorf("New returned a Verifier (%T) with its error", v)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %q does not match ErrConfig", err)
			}
			if errors.Is(err, ErrUnverified) {
				t.Errorf("configuration error %q matches ErrUnverified", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), badB64) || strings.Contains(err.Error(), "MfKQ9r8G") {
				t.Errorf("error %q quotes a secret", err)
			}
		})
	}
}

func TestNewAcceptsGoodConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Scheme: "none"},
		{Scheme: "none", Secrets: []string{"ignored"}},
		{Scheme: "standardwebhooks", Secrets: []string{swSecret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Tolerance: time.Minute},
		{Scheme: "elevenlabs", Secrets: []string{"s"}},
		{Scheme: "synthesia", Secrets: []string{"s"}},
		{Scheme: "hmac", Secrets: []string{"s"}},
		{Scheme: "hmac", Secrets: []string{"s"}, Header: "X-Hub-Signature-256", Algorithm: "sha512", Encoding: "base64",
			Prefix: "sha512=", TimestampHeader: "X-Ts", IDHeader: "X-Id", Content: "id.timestamp.body"},
		{Scheme: "token", Secrets: []string{"s"}},
		{Scheme: "token", Secrets: []string{"s"}, Param: "key"},
		{Scheme: "token", Secrets: []string{"s"}, Header: "Authorization"},
		{Scheme: "token", Secrets: []string{"s"}, Header: "X-Token", Param: "ignored"},
	} {
		if _, err := New(cfg); err != nil {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

func TestSignRefusesBadConfig(t *testing.T) {
	now := time.Unix(1700000000, 0)
	if _, err := SignStandardWebhooks("whsec_***", "msg", now, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("SignStandardWebhooks with a bad secret: %v, want ErrConfig", err)
	}
	for _, c := range []struct {
		name          string
		cfg           Config
		secret, msgID string
	}{
		{"unknown algorithm", Config{Algorithm: "md5"}, "s", ""},
		{"other scheme", Config{Scheme: "synthesia"}, "s", ""},
		{"empty secret", Config{}, "", ""},
		{"empty message id", Config{Content: "id.timestamp.body", TimestampHeader: "X-Ts", IDHeader: "X-Id"}, "s", ""},
	} {
		if _, err := SignHMAC(c.cfg, c.secret, c.msgID, now, nil); !errors.Is(err, ErrConfig) {
			t.Errorf("SignHMAC, %s: %v, want ErrConfig", c.name, err)
		}
	}
}

func TestErrorAndReasonOf(t *testing.T) {
	err := error(&Error{Scheme: "hmac", Reason: ReasonSignatureMismatch, Detail: "signature matches no secret"})
	if got, want := err.Error(), "hmac: signature_mismatch: signature matches no secret"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !errors.Is(err, ErrUnverified) {
		t.Error("*Error does not match ErrUnverified")
	}
	wrapped := errors.Join(errors.New("ingest"), err)
	if got := ReasonOf(wrapped); got != ReasonSignatureMismatch {
		t.Errorf("ReasonOf(wrapped) = %q", got)
	}
	for _, e := range []error{nil, errors.New("other"), ErrUnverified, ErrConfig} {
		if got := ReasonOf(e); got != "" {
			t.Errorf("ReasonOf(%v) = %q, want \"\"", e, got)
		}
	}
}
