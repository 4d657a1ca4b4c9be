package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	swSecret      = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	swOtherSecret = "whsec_" + "c2Vjb25kIHNlY3JldCBmb3Igcm90YXRpb24h" // "second secret for rotation!"
	plainSecret   = "plain_test_secret"
	plainOther    = "another_test_secret"
)

var (
	attackNow  = time.Unix(1700000000, 0)
	attackBody = []byte(`{"type":"video.ready","id":"vid_123"}`)
)

// attack is one request that a scheme must accept (reason "") or refuse
// with exactly reason.
type attack struct {
	name   string
	cfg    Config
	req    Request
	reason string
}

// flip returns body with its byte i changed.
func flip(body []byte, i int) []byte {
	b := append([]byte(nil), body...)
	b[i] ^= 0x01
	return b
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func millis(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

// signSynthesiaRaw signs body as Synthesia does with the Synthesia-Timestamp value ts as sent,
// whatever its unit: hex HMAC-SHA256 of "<ts>.<body>", with crypto/hmac directly.
func signSynthesiaRaw(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestAttacks(t *testing.T) {
	var all []attack
	all = append(all, standardWebhooksAttacks(t)...)
	all = append(all, elevenLabsAttacks()...)
	all = append(all, synthesiaAttacks()...)
	all = append(all, hmacAttacks(t)...)
	all = append(all, tokenAttacks()...)
	all = append(all, attack{name: "none/anything", cfg: Config{Scheme: "none"},
		req: Request{Body: []byte("garbage")}})
	for _, a := range all {
		t.Run(a.cfg.Scheme+"/"+a.name, func(t *testing.T) {
			_, err := mustNew(t, a.cfg).Verify(a.req)
			if a.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want success", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify succeeded, want %s", a.reason)
			}
			if !errors.Is(err, ErrUnverified) {
				t.Errorf("error %v does not match ErrUnverified", err)
			}
			if got := ReasonOf(err); got != a.reason {
				t.Errorf("reason = %q, want %q (error: %v)", got, a.reason, err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Scheme != a.cfg.Scheme {
				t.Errorf("error %#v does not name scheme %q", err, a.cfg.Scheme)
			}
			assertNoSecrets(t, err, a.cfg, a.req)
		})
	}
}

// assertNoSecrets checks that the error text mentions neither a secret
// nor the MAC that the secret gives for the request's body.
func assertNoSecrets(t *testing.T, err error, cfg Config, req Request) {
	t.Helper()
	msg := err.Error()
	for _, s := range cfg.Secrets {
		mac := sumHMAC(sha256.New, []byte(s), nil, req.Body)
		for _, leak := range []string{s, strings.TrimPrefix(s, "whsec_"), hex.EncodeToString(mac), base64.StdEncoding.EncodeToString(mac)} {
			if len(leak) >= 8 && strings.Contains(msg, leak) {
				t.Errorf("error %q leaks a secret or MAC", msg)
			}
		}
	}
}

func standardWebhooksAttacks(t *testing.T) []attack {
	cfg := Config{Scheme: "standardwebhooks", Secrets: []string{swSecret}}
	sign := func(secret, id string, ts time.Time, body []byte) string {
		sig, err := SignStandardWebhooks(secret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good := sign(swSecret, "msg_1", attackNow, attackBody)
	goodMAC, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(good, "v1,"))
	wrong := sign(swOtherSecret, "msg_1", attackNow, attackBody)
	req := func(sig string, body []byte) Request {
		return Request{
			Header: headers("Webhook-Id", "msg_1", "Webhook-Timestamp", unix(attackNow), "Webhook-Signature", sig),
			Body:   body, Now: attackNow,
		}
	}
	at := func(ts time.Time) Request {
		r := req(sign(swSecret, "msg_1", ts, attackBody), attackBody)
		r.Header.Set("Webhook-Timestamp", unix(ts))
		return r
	}
	with := func(r Request, kv ...string) Request {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<delete>" {
				r.Header.Del(kv[i])
			} else {
				r.Header.Add(kv[i], kv[i+1])
			}
		}
		return r
	}
	set := func(r Request, k, v string) Request { r.Header.Set(k, v); return r }
	rotated := cfg
	rotated.Secrets = []string{swOtherSecret, swSecret}
	short := cfg
	short.Tolerance = time.Minute
	emptySig := sign(swSecret, "msg_1", attackNow, nil)
	tol := swDefaultTolerance

	return []attack{
		{"valid", cfg, req(good, attackBody), ""},
		{"wrong secret", cfg, req(wrong, attackBody), ReasonSignatureMismatch},
		{"tampered body first byte", cfg, req(good, flip(attackBody, 0)), ReasonSignatureMismatch},
		{"tampered body last byte", cfg, req(good, flip(attackBody, len(attackBody)-1)), ReasonSignatureMismatch},
		{"body with a byte appended", cfg, req(good, append(append([]byte(nil), attackBody...), ' ')), ReasonSignatureMismatch},
		{"stale just outside", cfg, at(attackNow.Add(-tol - time.Second)), ReasonTimestampTolerance},
		{"stale just inside", cfg, at(attackNow.Add(-tol)), ""},
		{"future just outside", cfg, at(attackNow.Add(tol + time.Second)), ReasonTimestampTolerance},
		{"future just inside", cfg, at(attackNow.Add(tol)), ""},
		{"custom tolerance", short, at(attackNow.Add(-61 * time.Second)), ReasonTimestampTolerance},
		{"zero now", cfg, func() Request { r := req(good, attackBody); r.Now = time.Time{}; return r }(), ReasonTimestampTolerance},
		{"huge timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", "99999999999999999999999999"), ReasonTimestampTolerance},
		{"timestamp replaced", cfg, set(req(good, attackBody), "Webhook-Timestamp", unix(attackNow.Add(time.Second))), ReasonSignatureMismatch},
		{"timestamp with leading zero", cfg, set(req(good, attackBody), "Webhook-Timestamp", "0"+unix(attackNow)), ReasonSignatureMismatch},
		{"missing id", cfg, with(req(good, attackBody), "Webhook-Id", "<delete>"), ReasonMissingHeader},
		{"missing timestamp", cfg, with(req(good, attackBody), "Webhook-Timestamp", "<delete>"), ReasonMissingHeader},
		{"missing signature", cfg, with(req(good, attackBody), "Webhook-Signature", "<delete>"), ReasonMissingHeader},
		{"no headers at all", cfg, Request{Body: attackBody, Now: attackNow}, ReasonMissingHeader},
		{"empty id", cfg, set(req(good, attackBody), "Webhook-Id", ""), ReasonMissingHeader},
		{"empty timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", ""), ReasonMissingHeader},
		{"empty signature", cfg, set(req(good, attackBody), "Webhook-Signature", ""), ReasonMissingHeader},
		{"blank signature", cfg, set(req(good, attackBody), "Webhook-Signature", "   "), ReasonMissingHeader},
		{"repeated id, different", cfg, with(req(good, attackBody), "Webhook-Id", "msg_2"), ReasonMalformedHeader},
		{"repeated id, same", cfg, with(req(good, attackBody), "Webhook-Id", "msg_1"), ""},
		{"repeated timestamp, different", cfg, with(req(good, attackBody), "Webhook-Timestamp", "1700000001"), ReasonMalformedHeader},
		{"signature over two header lines", cfg, with(req(wrong, attackBody), "Webhook-Signature", good), ""},
		{"non-integer timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", "abc"), ReasonMalformedHeader},
		{"negative timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", "-1700000000"), ReasonMalformedHeader},
		{"signed timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", "+1700000000"), ReasonMalformedHeader},
		{"fractional timestamp", cfg, set(req(good, attackBody), "Webhook-Timestamp", "1700000000.5"), ReasonMalformedHeader},
		{"bad base64", cfg, req("v1,!!!not*base64!!!", attackBody), ReasonMalformedHeader},
		{"v1 with nothing", cfg, req("v1,", attackBody), ReasonMalformedHeader},
		{"truncated MAC", cfg, req("v1,"+base64.StdEncoding.EncodeToString(goodMAC[:31]), attackBody), ReasonMalformedHeader},
		{"truncated base64", cfg, req(good[:len(good)-4], attackBody), ReasonMalformedHeader},
		{"MAC too long", cfg, req("v1,"+base64.StdEncoding.EncodeToString(append(goodMAC, 0)), attackBody), ReasonMalformedHeader},
		{"garbage", cfg, req("garbage", attackBody), ReasonMalformedHeader},
		{"only other versions", cfg, req("v2"+good[2:]+" v1a,"+good[3:], attackBody), ReasonMalformedHeader},
		{"version in uppercase", cfg, req("V1"+good[2:], attackBody), ReasonMalformedHeader},
		{"empty body signed and sent", cfg, req(emptySig, nil), ""},
		{"empty body signed, body sent", cfg, req(emptySig, attackBody), ReasonSignatureMismatch},
		{"body signed, empty body sent", cfg, req(good, nil), ReasonSignatureMismatch},
		{"signature of another id", cfg, req(sign(swSecret, "msg_2", attackNow, attackBody), attackBody), ReasonSignatureMismatch},
		{"signature of another body", cfg, req(sign(swSecret, "msg_1", attackNow, []byte(`{}`)), attackBody), ReasonSignatureMismatch},
		{"id replaced", cfg, set(req(good, attackBody), "Webhook-Id", "msg_2"), ReasonSignatureMismatch},
		{"rotation, second secret matches", rotated, req(good, attackBody), ""},
		{"rotation, first secret matches", rotated, req(wrong, attackBody), ""},
		{"several signatures, last valid", cfg, req(wrong+" v1a,"+good[3:]+" v2,xyz "+good, attackBody), ""},
		{"several signatures, malformed then valid", cfg, req("v1,%%% v1, "+good, attackBody), ""},
		{"several signatures, none valid", cfg, req(wrong+" v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)), attackBody), ReasonSignatureMismatch},
		{"several signatures, malformed and wrong", cfg, req("v1,%%% "+wrong, attackBody), ReasonSignatureMismatch},
	}
}

func elevenLabsAttacks() []attack {
	cfg := Config{Scheme: "elevenlabs", Secrets: []string{plainSecret}}
	req := func(sig string, body []byte) Request {
		return Request{Header: headers("ElevenLabs-Signature", sig), Body: body, Now: attackNow}
	}
	good := SignElevenLabs(plainSecret, attackNow, attackBody)
	t, v0, _ := strings.Cut(good, ",")
	goodHex := strings.TrimPrefix(v0, "v0=")
	wrong := SignElevenLabs(plainOther, attackNow, attackBody)
	at := func(ts time.Time) Request { return req(SignElevenLabs(plainSecret, ts, attackBody), attackBody) }
	add := func(r Request, k, v string) Request { r.Header.Add(k, v); return r }
	rotated := cfg
	rotated.Secrets = []string{plainOther, plainSecret}
	tol := elDefaultTolerance
	emptySig := SignElevenLabs(plainSecret, attackNow, nil)

	return []attack{
		{"valid", cfg, req(good, attackBody), ""},
		{"valid, parts reversed", cfg, req(v0+","+t, attackBody), ""},
		{"valid, spaces after commas", cfg, req(t+", "+v0, attackBody), ""},
		{"valid, uppercase hex", cfg, req(t+",v0="+strings.ToUpper(goodHex), attackBody), ""},
		{"valid, unknown part ignored", cfg, req(t+",v1=whatever,"+v0, attackBody), ""},
		{"valid, header map built by hand", cfg, Request{Header: textproto.MIMEHeader{"Elevenlabs-Signature": {good}}, Body: attackBody, Now: attackNow}, ""},
		{"wrong secret", cfg, req(wrong, attackBody), ReasonSignatureMismatch},
		{"tampered body", cfg, req(good, flip(attackBody, 5)), ReasonSignatureMismatch},
		{"stale just outside", cfg, at(attackNow.Add(-tol - time.Second)), ReasonTimestampTolerance},
		{"stale just inside", cfg, at(attackNow.Add(-tol)), ""},
		{"future just outside", cfg, at(attackNow.Add(tol + time.Second)), ReasonTimestampTolerance},
		{"future just inside", cfg, at(attackNow.Add(tol)), ""},
		{"timestamp replaced", cfg, req("t="+unix(attackNow.Add(time.Second))+","+v0, attackBody), ReasonSignatureMismatch},
		{"missing header", cfg, Request{Body: attackBody, Now: attackNow}, ReasonMissingHeader},
		{"empty header", cfg, req("", attackBody), ReasonMissingHeader},
		{"repeated header, different", cfg, add(req(good, attackBody), "ElevenLabs-Signature", wrong), ReasonMalformedHeader},
		{"repeated header, same", cfg, add(req(good, attackBody), "ElevenLabs-Signature", good), ""},
		{"no t", cfg, req(v0, attackBody), ReasonMalformedHeader},
		{"no v0", cfg, req(t, attackBody), ReasonMalformedHeader},
		{"empty v0", cfg, req(t+",v0=", attackBody), ReasonMalformedHeader},
		{"conflicting t", cfg, req(good+",t=1", attackBody), ReasonMalformedHeader},
		{"non-integer t", cfg, req("t=now,"+v0, attackBody), ReasonMalformedHeader},
		{"empty t", cfg, req("t=,"+v0, attackBody), ReasonMalformedHeader},
		{"bad hex", cfg, req(t+",v0="+strings.Repeat("zz", 32), attackBody), ReasonMalformedHeader},
		{"truncated MAC", cfg, req(good[:len(good)-2], attackBody), ReasonMalformedHeader},
		{"odd-length hex", cfg, req(good[:len(good)-1], attackBody), ReasonMalformedHeader},
		{"base64 MAC", cfg, req(t+",v0="+base64.StdEncoding.EncodeToString(make([]byte, 32)), attackBody), ReasonMalformedHeader},
		{"garbage", cfg, req("garbage", attackBody), ReasonMalformedHeader},
		{"only separators", cfg, req(",,,", attackBody), ReasonMalformedHeader},
		{"several v0, last valid", cfg, req(t+",v0="+strings.Repeat("00", 32)+","+v0, attackBody), ""},
		{"several v0, none valid", cfg, req(wrong+",v0="+strings.Repeat("00", 32), attackBody), ReasonSignatureMismatch},
		{"empty body signed and sent", cfg, req(emptySig, nil), ""},
		{"empty body signed, body sent", cfg, req(emptySig, attackBody), ReasonSignatureMismatch},
		{"body signed, empty body sent", cfg, req(good, nil), ReasonSignatureMismatch},
		{"signature of another request", cfg, req(SignElevenLabs(plainSecret, attackNow, []byte(`{}`)), attackBody), ReasonSignatureMismatch},
		{"rotation, second secret matches", rotated, req(good, attackBody), ""},
	}
}

func synthesiaAttacks() []attack {
	cfg := Config{Scheme: "synthesia", Secrets: []string{plainSecret}}
	req := func(sig, ts string, body []byte) Request {
		return Request{Header: headers("Synthesia-Signature", sig, "Synthesia-Timestamp", ts), Body: body, Now: attackNow}
	}
	now := unix(attackNow)
	good := SignSynthesia(plainSecret, attackNow, attackBody)
	goodMAC, _ := hex.DecodeString(good)
	wrong := SignSynthesia(plainOther, attackNow, attackBody)
	at := func(ts time.Time) Request {
		return req(SignSynthesia(plainSecret, ts, attackBody), unix(ts), attackBody)
	}
	add := func(r Request, k, v string) Request { r.Header.Add(k, v); return r }
	del := func(r Request, k string) Request { r.Header.Del(k); return r }
	rotated := cfg
	rotated.Secrets = []string{plainOther, plainSecret}
	tol := synDefaultTolerance
	emptySig := SignSynthesia(plainSecret, attackNow, nil)

	return []attack{
		{"valid hex", cfg, req(good, now, attackBody), ""},
		{"valid uppercase hex", cfg, req(strings.ToUpper(good), now, attackBody), ""},
		// Synthesia writes hex (hexdigest, docs.synthesia.io/reference/verifying-synthesia-signatures):
		// the right MAC in base64 is refused, as any other spelling would be.
		{"right MAC in base64", cfg, req(base64.StdEncoding.EncodeToString(goodMAC), now, attackBody), ReasonMalformedHeader},
		{"right MAC in raw url base64", cfg, req(base64.RawURLEncoding.EncodeToString(goodMAC), now, attackBody), ReasonMalformedHeader},
		// The timestamp's unit is unconfirmed: milliseconds are read as such, and the tolerance applies.
		{"milliseconds timestamp", cfg, req(signSynthesiaRaw(plainSecret, millis(attackNow), attackBody), millis(attackNow), attackBody), ""},
		{"milliseconds timestamp, stale", cfg, req(signSynthesiaRaw(plainSecret, millis(attackNow.Add(-tol-time.Second)), attackBody),
			millis(attackNow.Add(-tol-time.Second)), attackBody), ReasonTimestampTolerance},
		{"milliseconds timestamp, future", cfg, req(signSynthesiaRaw(plainSecret, millis(attackNow.Add(tol+time.Second)), attackBody),
			millis(attackNow.Add(tol+time.Second)), attackBody), ReasonTimestampTolerance},
		{"milliseconds timestamp replaced by seconds", cfg, req(signSynthesiaRaw(plainSecret, millis(attackNow), attackBody), now, attackBody),
			ReasonSignatureMismatch},
		{"wrong secret", cfg, req(wrong, now, attackBody), ReasonSignatureMismatch},
		{"tampered body", cfg, req(good, now, flip(attackBody, 10)), ReasonSignatureMismatch},
		{"stale just outside", cfg, at(attackNow.Add(-tol - time.Second)), ReasonTimestampTolerance},
		{"stale just inside", cfg, at(attackNow.Add(-tol)), ""},
		{"future just outside", cfg, at(attackNow.Add(tol + time.Second)), ReasonTimestampTolerance},
		{"future just inside", cfg, at(attackNow.Add(tol)), ""},
		{"timestamp replaced", cfg, req(good, unix(attackNow.Add(-time.Second)), attackBody), ReasonSignatureMismatch},
		{"missing signature", cfg, del(req(good, now, attackBody), "Synthesia-Signature"), ReasonMissingHeader},
		{"missing timestamp", cfg, del(req(good, now, attackBody), "Synthesia-Timestamp"), ReasonMissingHeader},
		{"empty signature", cfg, req("", now, attackBody), ReasonMissingHeader},
		{"empty timestamp", cfg, req(good, "", attackBody), ReasonMissingHeader},
		{"repeated signature, different", cfg, add(req(good, now, attackBody), "Synthesia-Signature", wrong), ReasonMalformedHeader},
		{"repeated timestamp, different", cfg, add(req(good, now, attackBody), "Synthesia-Timestamp", "1"), ReasonMalformedHeader},
		{"non-integer timestamp", cfg, req(good, "yesterday", attackBody), ReasonMalformedHeader},
		{"bad hex", cfg, req(strings.Repeat("zz", 32), now, attackBody), ReasonMalformedHeader},
		{"bad base64", cfg, req("!!!!"+base64.StdEncoding.EncodeToString(goodMAC)[4:], now, attackBody), ReasonMalformedHeader},
		{"truncated hex", cfg, req(good[:62], now, attackBody), ReasonMalformedHeader},
		{"truncated base64", cfg, req(base64.StdEncoding.EncodeToString(goodMAC[:31]), now, attackBody), ReasonMalformedHeader},
		{"garbage", cfg, req("garbage", now, attackBody), ReasonMalformedHeader},
		{"prefixed", cfg, req("sha256="+good, now, attackBody), ReasonMalformedHeader},
		{"empty body signed and sent", cfg, req(emptySig, now, nil), ""},
		{"empty body signed, body sent", cfg, req(emptySig, now, attackBody), ReasonSignatureMismatch},
		{"body signed, empty body sent", cfg, req(good, now, nil), ReasonSignatureMismatch},
		{"signature of another request", cfg, req(SignSynthesia(plainSecret, attackNow, []byte(`{}`)), now, attackBody), ReasonSignatureMismatch},
		{"rotation, second secret matches", rotated, req(good, now, attackBody), ""},
	}
}

func hmacAttacks(t *testing.T) []attack {
	cfg := Config{Scheme: "hmac", Secrets: []string{plainSecret}, Header: "X-Signature", Prefix: "sha256=",
		TimestampHeader: "X-Timestamp", IDHeader: "X-Event-Id", Content: "id.timestamp.body"}
	sign := func(cfg Config, secret, id string, ts time.Time, body []byte) string {
		sig, err := SignHMAC(cfg, secret, id, ts, body)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	good := sign(cfg, plainSecret, "evt_1", attackNow, attackBody)
	wrong := sign(cfg, plainOther, "evt_1", attackNow, attackBody)
	req := func(sig string, body []byte) Request {
		return Request{
			Header: headers("X-Signature", sig, "X-Timestamp", unix(attackNow), "X-Event-Id", "evt_1"),
			Body:   body, Now: attackNow,
		}
	}
	at := func(ts time.Time) Request {
		r := req(sign(cfg, plainSecret, "evt_1", ts, attackBody), attackBody)
		r.Header.Set("X-Timestamp", unix(ts))
		return r
	}
	set := func(r Request, k, v string) Request { r.Header.Set(k, v); return r }
	add := func(r Request, k, v string) Request { r.Header.Add(k, v); return r }
	del := func(r Request, k string) Request { r.Header.Del(k); return r }
	rotated := cfg
	rotated.Secrets = []string{plainOther, plainSecret}
	tol := hmacDefaultTolerance

	// A body-only configuration, with base64 and SHA-512.
	plain := Config{Scheme: "hmac", Secrets: []string{plainSecret}, Algorithm: "sha512", Encoding: "base64"}
	plainGood := sign(plain, plainSecret, "", time.Time{}, attackBody)
	plainReq := func(sig string, body []byte) Request {
		return Request{Header: headers("Signature", sig), Body: body}
	}
	plainEmpty := sign(plain, plainSecret, "", time.Time{}, nil)
	// A configuration that checks an unsigned timestamp.
	checked := Config{Scheme: "hmac", Secrets: []string{plainSecret}, TimestampHeader: "X-Timestamp"}
	checkedGood := sign(checked, plainSecret, "", time.Time{}, attackBody)
	checkedReq := func(ts time.Time) Request {
		return Request{Header: headers("Signature", checkedGood, "X-Timestamp", unix(ts)), Body: attackBody, Now: attackNow}
	}
	sha256hex := hex.EncodeToString(sumHMAC(sha256.New, []byte(plainSecret), nil, attackBody))

	return []attack{
		{"valid", cfg, req(good, attackBody), ""},
		{"valid, uppercase hex", cfg, req("sha256="+strings.ToUpper(strings.TrimPrefix(good, "sha256=")), attackBody), ""},
		{"wrong secret", cfg, req(wrong, attackBody), ReasonSignatureMismatch},
		{"tampered body", cfg, req(good, flip(attackBody, 3)), ReasonSignatureMismatch},
		{"stale just outside", cfg, at(attackNow.Add(-tol - time.Second)), ReasonTimestampTolerance},
		{"stale just inside", cfg, at(attackNow.Add(-tol)), ""},
		{"future just outside", cfg, at(attackNow.Add(tol + time.Second)), ReasonTimestampTolerance},
		{"future just inside", cfg, at(attackNow.Add(tol)), ""},
		{"timestamp replaced", cfg, set(req(good, attackBody), "X-Timestamp", unix(attackNow.Add(time.Second))), ReasonSignatureMismatch},
		{"id replaced", cfg, set(req(good, attackBody), "X-Event-Id", "evt_2"), ReasonSignatureMismatch},
		{"missing signature", cfg, del(req(good, attackBody), "X-Signature"), ReasonMissingHeader},
		{"missing timestamp", cfg, del(req(good, attackBody), "X-Timestamp"), ReasonMissingHeader},
		{"missing id", cfg, del(req(good, attackBody), "X-Event-Id"), ReasonMissingHeader},
		{"empty signature", cfg, set(req(good, attackBody), "X-Signature", ""), ReasonMissingHeader},
		{"empty id", cfg, set(req(good, attackBody), "X-Event-Id", ""), ReasonMissingHeader},
		{"repeated signature, different", cfg, add(req(good, attackBody), "X-Signature", wrong), ReasonMalformedHeader},
		{"repeated id, different", cfg, add(req(good, attackBody), "X-Event-Id", "evt_2"), ReasonMalformedHeader},
		{"non-integer timestamp", cfg, set(req(good, attackBody), "X-Timestamp", "1e9"), ReasonMalformedHeader},
		{"prefix missing", cfg, req(strings.TrimPrefix(good, "sha256="), attackBody), ReasonMalformedHeader},
		{"prefix in uppercase", cfg, req("SHA256="+strings.TrimPrefix(good, "sha256="), attackBody), ReasonMalformedHeader},
		{"prefix only", cfg, req("sha256=", attackBody), ReasonMalformedHeader},
		{"shorter than prefix", cfg, req("sha", attackBody), ReasonMalformedHeader},
		{"bad hex", cfg, req("sha256="+strings.Repeat("zz", 32), attackBody), ReasonMalformedHeader},
		{"base64 where hex is configured", cfg, req("sha256="+base64.StdEncoding.EncodeToString(make([]byte, 32)), attackBody), ReasonMalformedHeader},
		{"truncated MAC", cfg, req(good[:len(good)-2], attackBody), ReasonMalformedHeader},
		{"SHA-512-sized MAC", cfg, req("sha256="+strings.Repeat("00", 64), attackBody), ReasonMalformedHeader},
		{"garbage", cfg, req("garbage", attackBody), ReasonMalformedHeader},
		{"signature of another request", cfg, req(sign(cfg, plainSecret, "evt_2", attackNow, attackBody), attackBody), ReasonSignatureMismatch},
		{"rotation, second secret matches", rotated, req(good, attackBody), ""},
		{"body only, valid", plain, plainReq(plainGood, attackBody), ""},
		{"body only, tampered", plain, plainReq(plainGood, flip(attackBody, 0)), ReasonSignatureMismatch},
		{"body only, hex where base64 is configured", plain, plainReq(strings.Repeat("ab", 64), attackBody), ReasonMalformedHeader},
		{"body only, SHA-256 MAC where SHA-512 is configured", plain, plainReq(base64.StdEncoding.EncodeToString(make([]byte, 32)), attackBody), ReasonMalformedHeader},
		{"body only, bad base64", plain, plainReq("***", attackBody), ReasonMalformedHeader},
		{"body only, empty body signed and sent", plain, plainReq(plainEmpty, nil), ""},
		{"body only, empty body signed, body sent", plain, plainReq(plainEmpty, attackBody), ReasonSignatureMismatch},
		{"body only, body signed, empty body sent", plain, plainReq(plainGood, nil), ReasonSignatureMismatch},
		{"body only, SHA-256 of the right body", plain, plainReq(sha256hex, attackBody), ReasonMalformedHeader},
		{"unsigned timestamp, inside", checked, checkedReq(attackNow.Add(-tol)), ""},
		{"unsigned timestamp, stale", checked, checkedReq(attackNow.Add(-tol - time.Second)), ReasonTimestampTolerance},
		{"unsigned timestamp, missing", checked, Request{Header: headers("Signature", checkedGood), Body: attackBody, Now: attackNow}, ReasonMissingHeader},
	}
}

func tokenAttacks() []attack {
	query := Config{Scheme: "token", Secrets: []string{plainSecret}}
	param := Config{Scheme: "token", Secrets: []string{plainSecret}, Param: "key"}
	header := Config{Scheme: "token", Secrets: []string{plainSecret}, Header: "X-Webhook-Token", Param: "key"}
	rotated := Config{Scheme: "token", Secrets: []string{plainOther, plainSecret}}
	q := func(kv ...string) Request {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return Request{Query: v, Body: attackBody, Now: attackNow}
	}
	h := func(kv ...string) Request { return Request{Header: headers(kv...), Body: attackBody, Now: attackNow} }

	return []attack{
		{"query, valid", query, q("token", plainSecret), ""},
		{"query, wrong", query, q("token", plainOther), ReasonSignatureMismatch},
		{"query, prefix of the secret", query, q("token", plainSecret[:len(plainSecret)-1]), ReasonSignatureMismatch},
		{"query, secret with a suffix", query, q("token", plainSecret+"x"), ReasonSignatureMismatch},
		{"query, padded with spaces", query, q("token", " "+plainSecret), ReasonSignatureMismatch},
		{"query, missing", query, q(), ReasonMissingToken},
		{"query, nil", query, Request{Body: attackBody}, ReasonMissingToken},
		{"query, empty", query, q("token", ""), ReasonMissingToken},
		{"query, other parameter", query, q("key", plainSecret), ReasonMissingToken},
		{"query, repeated, different", query, q("token", plainSecret, "token", plainOther), ReasonMalformedHeader},
		{"query, repeated, same", query, q("token", plainSecret, "token", plainSecret), ""},
		{"query, in a header instead", query, h("Token", plainSecret), ReasonMissingToken},
		{"param, valid", param, q("key", plainSecret), ""},
		{"param, default name ignored", param, q("token", plainSecret), ReasonMissingToken},
		{"header, valid", header, h("X-Webhook-Token", plainSecret), ""},
		{"header, wrong", header, h("X-Webhook-Token", plainOther), ReasonSignatureMismatch},
		{"header, missing", header, h(), ReasonMissingToken},
		{"header, empty", header, h("X-Webhook-Token", ""), ReasonMissingToken},
		{"header, repeated, different", header, h("X-Webhook-Token", plainSecret, "X-Webhook-Token", plainOther), ReasonMalformedHeader},
		{"header, in the query instead", header, q("token", plainSecret), ReasonMissingToken},
		{"header, in the ignored param instead", header, q("key", plainSecret), ReasonMissingToken},
		{"rotation, second secret matches", rotated, q("token", plainSecret), ""},
		{"rotation, first secret matches", rotated, q("token", plainOther), ""},
	}
}
