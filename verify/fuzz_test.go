package verify

import (
	"bytes"
	"net/url"
	"strconv"
	"testing"
	"time"
)

// The fuzz targets each run two passes over the fuzzed input:
//
//  1. sign a body properly with a key that appears in no seed, send an
//     edited copy of it, and check that the request verifies exactly when
//     the edit changed nothing (and the rest of the input is well formed);
//  2. send the fuzzed header values as they are, with the vectors' secret,
//     and check only that Verify does not panic and fails with a Reason.
//
// Bodies are not fuzzed as whole []byte arguments: the fuzzer minimises
// every new input for up to a minute, quadratically in its length, and
// minimising the kilobyte-sized vector bodies would stall fuzzing. Instead
// the signed body is a seed body (picked by index) plus a fuzzed suffix,
// and the sent body is that body with a fuzzed splice.

const fuzzSecret = "fuzz_only_secret_never_seeded"

// fuzzSWSecret is fuzzSecret's counterpart for Standard Webhooks.
const fuzzSWSecret = "whsec_ZnV6ei1vbmx5IGtleSwgbmV2ZXIgc2VlZGVk"

// fuzzBodies holds the bodies of a scheme's vectors, and an empty body.
type fuzzBodies [][]byte

// seedVectors returns the vectors of testdata/vectors.json for scheme and
// their bodies.
func seedVectors(f *testing.F, scheme string) ([]vector, fuzzBodies) {
	var vectors []vector
	bodies := fuzzBodies{nil}
	for _, v := range loadVectors(f) {
		if v.Config.Scheme == scheme {
			vectors = append(vectors, v)
			bodies = append(bodies, v.request(f).Body)
		}
	}
	if len(vectors) == 0 {
		f.Fatalf("no %s vector to seed with", scheme)
	}
	return vectors, bodies
}

// body returns seed body base followed by suffix.
func (b fuzzBodies) body(base uint8, suffix []byte) []byte {
	return append(append([]byte(nil), b[int(base)%len(b)]...), suffix...)
}

// splice returns a copy of body with del bytes at pos replaced by edit.
func splice(body []byte, pos uint16, del uint8, edit []byte) []byte {
	p := int(pos) % (len(body) + 1)
	end := min(len(body), p+int(del))
	out := append([]byte(nil), body[:p]...)
	out = append(out, edit...)
	return append(out, body[end:]...)
}

// checkSigned fails t when err is not a proper verification error, when
// a request verifies although its body differs from the signed one, or
// when a well-formed request with the signed body fails.
func checkSigned(t *testing.T, err error, signed, sent []byte, wellFormed bool) {
	t.Helper()
	checkReason(t, err)
	same := bytes.Equal(signed, sent)
	if err == nil && !same {
		t.Fatalf("request verified with a body that differs from the signed one")
	}
	if err != nil && same && wellFormed {
		t.Fatalf("properly signed request refused: %v", err)
	}
}

// checkReason fails t when err is not nil and carries no Reason.
func checkReason(t *testing.T, err error) {
	t.Helper()
	if err != nil && ReasonOf(err) == "" {
		t.Fatalf("error without a Reason: %v", err)
	}
}

// validTimestamp reports whether ts is written as a timestamp that the
// schemes accept.
func validTimestamp(ts int64) bool { return ts >= 0 && ts < maxUnix }

func FuzzStandardWebhooks(f *testing.F) {
	vectors, bodies := seedVectors(f, "standardwebhooks")
	for i, v := range vectors {
		ts, _ := strconv.ParseInt(v.Headers["Webhook-Timestamp"], 10, 64)
		b := uint8(i + 1)
		f.Add(b, []byte{}, uint16(0), uint8(0), []byte{}, v.Headers["Webhook-Id"], ts, v.Headers["Webhook-Signature"])
		f.Add(b, []byte{}, uint16(7), uint8(1), []byte("X"), v.Headers["Webhook-Id"], ts, "v1,")
	}
	f.Add(uint8(0), []byte("x"), uint16(1), uint8(0), []byte("y"), " msg ", int64(-1), "v1a,xyz v2,abc garbage")
	signer := mustNew(f, Config{Scheme: "standardwebhooks", Secrets: []string{fuzzSWSecret}})
	vectorsKey := mustNew(f, vectors[0].Config.config(f))
	f.Fuzz(func(t *testing.T, base uint8, suffix []byte, pos uint16, del uint8, edit []byte, id string, ts int64, extra string) {
		signed := bodies.body(base, suffix)
		sent := splice(signed, pos, del, edit)
		now := time.Unix(ts, 0)
		sig, err := SignStandardWebhooks(fuzzSWSecret, id, now, signed)
		if err != nil {
			t.Fatal(err)
		}
		h := headers("Webhook-Id", id, "Webhook-Timestamp", strconv.FormatInt(ts, 10), "Webhook-Signature", extra+" "+sig)
		_, err = signer.Verify(Request{Header: h, Body: sent, Now: now})
		checkSigned(t, err, signed, sent, id != "" && trimOWS(id) == id && validTimestamp(ts))

		h = headers("Webhook-Id", id, "Webhook-Timestamp", strconv.FormatInt(ts, 10), "Webhook-Signature", extra)
		_, err = vectorsKey.Verify(Request{Header: h, Body: sent, Now: now})
		checkReason(t, err)
		h.Set("Webhook-Timestamp", extra)
		_, err = vectorsKey.Verify(Request{Header: h, Body: sent, Now: now})
		checkReason(t, err)
	})
}

func FuzzElevenLabs(f *testing.F) {
	vectors, bodies := seedVectors(f, "elevenlabs")
	for i, v := range vectors {
		b := uint8(i + 1)
		f.Add(b, []byte{}, uint16(0), uint8(0), []byte{}, v.Now, "", v.Headers["Elevenlabs-Signature"])
		f.Add(b, []byte{}, uint16(100), uint8(1), []byte{}, v.Now, "v0=00", "t=1,v0=")
	}
	f.Add(uint8(0), []byte{}, uint16(0), uint8(0), []byte("x"), int64(-5), "t=x", ",,,=,=")
	signer := mustNew(f, Config{Scheme: "elevenlabs", Secrets: []string{fuzzSecret}})
	vectorsKey := mustNew(f, vectors[0].Config.config(f))
	f.Fuzz(func(t *testing.T, base uint8, suffix []byte, pos uint16, del uint8, edit []byte, ts int64, extra, raw string) {
		signed := bodies.body(base, suffix)
		sent := splice(signed, pos, del, edit)
		now := time.Unix(ts, 0)
		header := SignElevenLabs(fuzzSecret, now, signed)
		if extra != "" {
			header += "," + extra
		}
		_, err := signer.Verify(Request{Header: headers("ElevenLabs-Signature", header), Body: sent, Now: now})
		checkSigned(t, err, signed, sent, extra == "" && validTimestamp(ts))

		_, err = vectorsKey.Verify(Request{Header: headers("ElevenLabs-Signature", raw), Body: sent, Now: now})
		checkReason(t, err)
	})
}

func FuzzSynthesia(f *testing.F) {
	vectors, bodies := seedVectors(f, "synthesia")
	for i, v := range vectors {
		b := uint8(i + 1)
		f.Add(b, []byte{}, uint16(0), uint8(0), []byte{}, v.Now, v.Headers["Synthesia-Signature"], v.Headers["Synthesia-Timestamp"])
		f.Add(b, []byte{}, uint16(3), uint8(0), []byte("!"), v.Now, "", "")
	}
	f.Add(uint8(0), []byte{}, uint16(0), uint8(0), []byte{}, int64(-5), "====", "+1")
	signer := mustNew(f, Config{Scheme: "synthesia", Secrets: []string{fuzzSecret}})
	vectorsKey := mustNew(f, vectors[0].Config.config(f))
	f.Fuzz(func(t *testing.T, base uint8, suffix []byte, pos uint16, del uint8, edit []byte, ts int64, rawSig, rawTS string) {
		signed := bodies.body(base, suffix)
		sent := splice(signed, pos, del, edit)
		now := time.Unix(ts, 0)
		h := headers("Synthesia-Signature", SignSynthesia(fuzzSecret, now, signed), "Synthesia-Timestamp", strconv.FormatInt(ts, 10))
		_, err := signer.Verify(Request{Header: h, Body: sent, Now: now})
		// From synMillisFrom on, the header is read as milliseconds, no longer as the seconds signed.
		checkSigned(t, err, signed, sent, validTimestamp(ts) && ts < synMillisFrom)

		h = headers("Synthesia-Signature", rawSig, "Synthesia-Timestamp", rawTS)
		_, err = vectorsKey.Verify(Request{Header: h, Body: sent, Now: now})
		checkReason(t, err)
	})
}

// hmacFuzzConfigs are the hmac configurations that FuzzHMAC picks from.
var hmacFuzzConfigs = []Config{
	{Scheme: "hmac"},
	{Scheme: "hmac", Algorithm: "sha512", Encoding: "base64"},
	{Scheme: "hmac", Prefix: "sha256=", TimestampHeader: "X-Ts", Content: "timestamp.body"},
	{Scheme: "hmac", Algorithm: "sha512", Prefix: "v1,", TimestampHeader: "X-Ts", IDHeader: "X-Id", Content: "id.timestamp.body"},
	{Scheme: "hmac", Encoding: "base64", TimestampHeader: "X-Ts", IDHeader: "X-Id"},
}

func FuzzHMAC(f *testing.F) {
	vectors, bodies := seedVectors(f, "hmac")
	for i, v := range vectors {
		sig := v.Headers[orDefault(v.Config.Header, "Signature")]
		for j := range hmacFuzzConfigs {
			f.Add(uint8(i+1), []byte{}, uint16(0), uint8(0), []byte{}, uint8(j), v.Headers["X-Event-Id"], v.Now, sig)
		}
		f.Add(uint8(i+1), []byte{}, uint16(2), uint8(1), []byte{}, uint8(0), "", v.Now, "sha256=")
	}
	f.Add(uint8(0), []byte{}, uint16(0), uint8(0), []byte{}, uint8(3), " ", int64(-1), "v1,")
	signers := make([]Verifier, len(hmacFuzzConfigs))
	vectorsKey := make([]Verifier, len(hmacFuzzConfigs))
	for i, cfg := range hmacFuzzConfigs {
		cfg.Secrets = []string{fuzzSecret}
		signers[i] = mustNew(f, cfg)
		cfg.Secrets = vectors[0].Config.Secrets
		vectorsKey[i] = mustNew(f, cfg)
	}
	f.Fuzz(func(t *testing.T, base uint8, suffix []byte, pos uint16, del uint8, edit []byte, variant uint8, id string, ts int64, raw string) {
		signed := bodies.body(base, suffix)
		sent := splice(signed, pos, del, edit)
		i := int(variant) % len(hmacFuzzConfigs)
		cfg, now := hmacFuzzConfigs[i], time.Unix(ts, 0)
		sig, err := SignHMAC(cfg, fuzzSecret, id, now, signed)
		if err != nil {
			// Only an empty id, with a content that signs it, is refused.
			if id != "" || cfg.Content != "id.timestamp.body" {
				t.Fatalf("SignHMAC: %v", err)
			}
			sig = raw
		}
		h := headers("Signature", sig, "X-Ts", strconv.FormatInt(ts, 10), "X-Id", id)
		_, err = signers[i].Verify(Request{Header: h, Body: sent, Now: now})
		wellFormed := validTimestamp(ts) || cfg.TimestampHeader == ""
		if cfg.IDHeader != "" {
			wellFormed = wellFormed && id != "" && trimOWS(id) == id
		}
		checkSigned(t, err, signed, sent, wellFormed)

		h = headers("Signature", raw, "X-Ts", raw, "X-Id", raw)
		_, err = vectorsKey[i].Verify(Request{Header: h, Body: sent, Now: now})
		checkReason(t, err)
	})
}

// FuzzToken checks that a token verifies exactly when it is the secret:
// the token scheme signs no body, so that is its counterpart of "a
// different body never verifies".
func FuzzToken(f *testing.F) {
	vectors, _ := seedVectors(f, "token")
	for _, v := range vectors {
		secret := v.Config.Secrets[len(v.Config.Secrets)-1]
		f.Add(secret, secret, false)
		f.Add(secret, secret, true)
		f.Add(secret, secret[:len(secret)-1], false)
		f.Add(secret, " "+secret+"\t", true)
	}
	f.Add("s", "", false)
	f.Fuzz(func(t *testing.T, secret, token string, inHeader bool) {
		cfg := Config{Scheme: "token", Secrets: []string{secret}}
		if inHeader {
			cfg.Header = "X-Token"
		}
		v, err := New(cfg)
		if secret == "" {
			if err == nil {
				t.Fatal("New accepted an empty secret")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		req := Request{Query: url.Values{"token": {token}}}
		presented := token
		if inHeader {
			req = Request{Header: headers("X-Token", token)}
			presented = trimOWS(token)
		}
		_, err = v.Verify(req)
		checkReason(t, err)
		if (err == nil) != (presented == secret) {
			t.Fatalf("token %q against secret %q: %v", token, secret, err)
		}
	})
}
