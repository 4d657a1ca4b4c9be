package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
)

// The official Standard Webhooks test vector (standard-webhooks/standard-webhooks, spec tests).
const (
	vecID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTimestamp = "1614265330"
	vecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	vecBody      = `{"test": 2432232314}`
)

// cliResult is what one in-process run of the root command produced.
type cliResult struct {
	stdout, stderr string
	err            error
}

// code is the process exit status main would use for r.err.
func (r cliResult) code() int {
	if r.err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(r.err, &ee) {
		return ee.code
	}
	return 2
}

// runCLI runs the avatarbus root command in-process with args and stdin.
func runCLI(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	root := newRootCommand()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return cliResult{stdout: out.String(), stderr: errOut.String(), err: err}
}

func hmacHex(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	bodyFile := writeFile(t, dir, "body.json", vecBody)
	tamperedFile := writeFile(t, dir, "tampered.json", `{"test": 2432232315}`)
	secretFile := writeFile(t, dir, "secret", swSecret+"\n")
	requestCRLF := writeFile(t, dir, "request.http", strings.Join([]string{
		"POST /webhooks/acme HTTP/1.1",
		"Host: avatarbus.example",
		"Content-Type: application/json",
		"webhook-id: " + vecID,
		"webhook-timestamp: " + vecTimestamp,
		"webhook-signature: " + vecSignature,
		fmt.Sprintf("Content-Length: %d", len(vecBody)),
		"", vecBody}, "\r\n"))
	requestLF := writeFile(t, dir, "request-lf.http", strings.Join([]string{
		"POST /webhooks/acme HTTP/1.1",
		"Host: avatarbus.example",
		"webhook-id: " + vecID,
		"webhook-timestamp: " + vecTimestamp,
		"webhook-signature: " + vecSignature,
		fmt.Sprintf("Content-Length: %d", len(vecBody)),
		"", vecBody}, "\n"))
	requestNoLength := writeFile(t, dir, "request-nolength.http", strings.Join([]string{
		"POST /webhooks/acme HTTP/1.1",
		"Host: avatarbus.example",
		"webhook-id: " + vecID,
		"webhook-timestamp: " + vecTimestamp,
		"webhook-signature: " + vecSignature,
		"", vecBody}, "\r\n"))
	configFile := writeFile(t, dir, "avatarbus.yaml", `sources:
  - name: acme
    platform: standardwebhooks
    secrets: ["`+swSecret+`"]
`)

	heygenBody := `{"event_type":"avatar_video.success","event_data":{"video_id":"v1"}}`
	heygenBodyFile := writeFile(t, dir, "heygen.json", heygenBody)

	vecHeaders := []string{
		"--header", "webhook-id: " + vecID,
		"--header", "webhook-timestamp: " + vecTimestamp,
		"--header", "webhook-signature: " + vecSignature,
	}
	sw := func(extra ...string) []string {
		args := append([]string{"verify", "--platform", "standardwebhooks", "--secret", swSecret}, vecHeaders...)
		return append(args, extra...)
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string // substrings of stdout (code 0, 1) or of the error (code 2)
	}{
		{
			name: "official vector at its time",
			args: sw("--body-file", bodyFile, "--at", vecTimestamp),
			want: []string{"valid: scheme standardwebhooks", "message id " + vecID, "signed at 2021-02-25T15:02:10Z"},
		},
		{
			name: "official vector as of an RFC 3339 time",
			args: sw("--body-file", bodyFile, "--at", "2021-02-25T15:04:10Z"),
			want: []string{"valid:"},
		},
		{
			name: "official vector now: too old",
			args: sw("--body-file", bodyFile),
			code: 1,
			want: []string{"invalid: timestamp_out_of_tolerance"},
		},
		{
			name: "wrong secret",
			args: append(append([]string{"verify", "--platform", "standardwebhooks", "--secret", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"},
				vecHeaders...), "--body-file", bodyFile, "--at", vecTimestamp),
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "rotated secrets: the second one matches",
			args: append(append([]string{"verify", "--platform", "standardwebhooks",
				"--secret", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "--secret", swSecret},
				vecHeaders...), "--body-file", bodyFile, "--at", vecTimestamp),
			want: []string{"valid:"},
		},
		{
			name: "tampered body",
			args: sw("--body-file", tamperedFile, "--at", vecTimestamp),
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "missing signature header",
			args: []string{"verify", "--platform", "standardwebhooks", "--secret", swSecret,
				"--header", "webhook-id: " + vecID, "--header", "webhook-timestamp: " + vecTimestamp,
				"--body-file", bodyFile, "--at", vecTimestamp},
			code: 1,
			want: []string{"invalid: missing_header"},
		},
		{
			name:  "body from stdin with --body-file -",
			args:  sw("--body-file", "-", "--at", vecTimestamp),
			stdin: vecBody,
			want:  []string{"valid:"},
		},
		{
			name:  "body from stdin by default",
			args:  sw("--at", vecTimestamp),
			stdin: vecBody,
			want:  []string{"valid:"},
		},
		{
			name:  "stdin body with a trailing newline is another body",
			args:  sw("--at", vecTimestamp),
			stdin: vecBody + "\n",
			code:  1,
			want:  []string{"invalid: signature_mismatch"},
		},
		{
			name: "raw HTTP request file (CRLF)",
			args: []string{"verify", "--platform", "standardwebhooks", "--secret", swSecret, "--request", requestCRLF, "--at", vecTimestamp},
			want: []string{"valid:", "message id " + vecID},
		},
		{
			name: "raw HTTP request file (LF)",
			args: []string{"verify", "--platform", "standardwebhooks", "--secret", swSecret, "--request", requestLF, "--at", vecTimestamp},
			want: []string{"valid:"},
		},
		{
			name: "raw HTTP request file without Content-Length",
			args: []string{"verify", "--platform", "standardwebhooks", "--secret", swSecret, "--request", requestNoLength, "--at", vecTimestamp},
			want: []string{"valid:"},
		},
		{
			name: "raw HTTP request file, wrong secret",
			args: []string{"verify", "--platform", "standardwebhooks", "--secret", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", "--request", requestCRLF, "--at", vecTimestamp},
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "secret from a file",
			args: append(append([]string{"verify", "--platform", "standardwebhooks", "--secret", "@" + secretFile}, vecHeaders...),
				"--body-file", bodyFile, "--at", vecTimestamp),
			want: []string{"valid:"},
		},
		{
			name: "secret file missing",
			args: append(append([]string{"verify", "--platform", "standardwebhooks", "--secret", "@" + filepath.Join(dir, "nope")}, vecHeaders...),
				"--body-file", bodyFile, "--at", vecTimestamp),
			code: 2,
			want: []string{"--secret @"},
		},
		{
			name: "source from a config file",
			args: append(append([]string{"verify", "--config", configFile, "--source", "acme"}, vecHeaders...),
				"--body-file", bodyFile, "--at", vecTimestamp),
			want: []string{"valid: scheme standardwebhooks"},
		},
		{
			name: "source from a config file, --secret replaces its secrets",
			args: append(append([]string{"verify", "--config", configFile, "--source", "acme", "--secret", "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"}, vecHeaders...),
				"--body-file", bodyFile, "--at", vecTimestamp),
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "heygen hmac",
			args: []string{"verify", "--platform", "heygen", "--secret", "whsec_S", "--header", "Heygen-Signature: " + hmacHex("whsec_S", heygenBody),
				"--header", "Heygen-Timestamp: 1767323045", "--at", "1767323045", "--body-file", heygenBodyFile},
			want: []string{"valid: scheme hmac"},
		},
		{
			name: "heygen hmac, other secret",
			args: []string{"verify", "--platform", "heygen", "--secret", "whsec_T", "--header", "Heygen-Signature: " + hmacHex("whsec_S", heygenBody),
				"--header", "Heygen-Timestamp: 1767323045", "--at", "1767323045", "--body-file", heygenBodyFile},
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "heygen hmac, stale timestamp",
			args: []string{"verify", "--platform", "heygen", "--secret", "whsec_S", "--header", "Heygen-Signature: " + hmacHex("whsec_S", heygenBody),
				"--header", "Heygen-Timestamp: 1767323045", "--at", "1767323346", "--body-file", heygenBodyFile},
			code: 1,
			want: []string{"invalid: timestamp"},
		},
		{
			name: "token in the query",
			args: []string{"verify", "--platform", "hmac", "--scheme", "token", "--secret", "t", "--query", "token=t"},
			want: []string{"valid: scheme token"},
		},
		{
			name: "wrong token in the query",
			args: []string{"verify", "--platform", "hmac", "--scheme", "token", "--secret", "t", "--query", "token=u"},
			code: 1,
			want: []string{"invalid: signature_mismatch"},
		},
		{
			name: "no token",
			args: []string{"verify", "--platform", "hmac", "--scheme", "token", "--secret", "t"},
			code: 1,
			want: []string{"invalid: missing_token"},
		},
		{
			name: "missing --platform",
			args: append(append([]string{"verify", "--secret", swSecret}, vecHeaders...), "--body-file", bodyFile),
			code: 2,
			want: []string{"--platform or --source is required"},
		},
		{
			name: "unknown platform",
			args: []string{"verify", "--platform", "nope", "--secret", "s", "--body-file", bodyFile},
			code: 2,
			want: []string{`unknown platform "nope"`},
		},
		{
			name: "no secret",
			args: append(append([]string{"verify", "--platform", "standardwebhooks"}, vecHeaders...), "--body-file", bodyFile),
			code: 2,
			want: []string{"no secrets"},
		},
		{
			name: "bad --at",
			args: sw("--body-file", bodyFile, "--at", "yesterday"),
			code: 2,
			want: []string{"--at"},
		},
		{
			name: "bad --header",
			args: []string{"verify", "--platform", "heygen", "--secret", "S", "--header", "Signature", "--body-file", heygenBodyFile},
			code: 2,
			want: []string{"--header"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.args...)
			if got := r.code(); got != tt.code {
				t.Fatalf("exit code %d, want %d\nerr: %v\nstdout: %s", got, tt.code, r.err, r.stdout)
			}
			text := r.stdout
			switch tt.code {
			case 0:
				if !strings.HasPrefix(r.stdout, "valid") {
					t.Errorf("stdout does not start with \"valid\": %q", r.stdout)
				}
			case 1:
				if !strings.HasPrefix(r.stdout, "invalid: ") {
					t.Errorf("stdout does not start with \"invalid: \": %q", r.stdout)
				}
			case 2:
				text = r.err.Error()
				if strings.Contains(r.stdout, "valid") {
					t.Errorf("a usage error printed a verdict: %q", r.stdout)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q does not contain %q", text, w)
				}
			}
			// A secret never appears in what verify prints.
			for _, secret := range []string{swSecret, "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("output contains a secret: %q %q", r.stdout, r.stderr)
				}
			}
		})
	}
}

const heygenFixture = "../../platform/fixtures/heygen/avatar_video.success.json"

func TestNormalizeCommand(t *testing.T) {
	fixture, err := os.ReadFile(heygenFixture)
	if err != nil {
		t.Fatal(err)
	}
	genericBody := `{"type":"video.done","timestamp":"2026-03-04T05:06:07Z","data":{"id":"vid_9"}}`
	tests := []struct {
		name        string
		args        []string
		stdin       string
		wantType    string
		wantID      string
		wantSubject string
		check       func(t *testing.T, ev *envelope.Event)
	}{
		{
			name:        "heygen fixture",
			args:        []string{"normalize", "--platform", "heygen", "--body-file", heygenFixture, "--at", "2026-01-02T03:04:05Z"},
			wantType:    envelope.TypeVideoCompleted,
			wantID:      "heygen:avatar_video.success:5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47",
			wantSubject: "avatar.video.completed.heygen",
			check: func(t *testing.T, ev *envelope.Event) {
				at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
				if !ev.Time.Equal(at) || !ev.ReceivedAt.Equal(at) {
					t.Errorf("time %s, receivedat %s, want both %s (--at)", ev.Time, ev.ReceivedAt, at)
				}
				if ev.Platform != "heygen" || ev.Source != "/platforms/heygen" || ev.SpecVersion != "1.0" {
					t.Errorf("platform %q source %q specversion %q", ev.Platform, ev.Source, ev.SpecVersion)
				}
				if ev.Data.ResourceID != "5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47" || ev.CorrelationID != "order_12345" || ev.Data.Status != "completed" {
					t.Errorf("resource %q correlation %q status %q", ev.Data.ResourceID, ev.CorrelationID, ev.Data.Status)
				}
				if !jsonEqual(t, ev.Data.Raw, fixture) {
					t.Errorf("data.raw is not the payload:\n%s", ev.Data.Raw)
				}
			},
		},
		{
			name:        "heygen fixture without --at",
			args:        []string{"normalize", "--platform", "heygen", "--body-file", heygenFixture},
			wantType:    envelope.TypeVideoCompleted,
			wantID:      "heygen:avatar_video.success:5f2c9e4a1b7d4c0f8e3a6b9d2c1e0f47",
			wantSubject: "avatar.video.completed.heygen",
			check: func(t *testing.T, ev *envelope.Event) {
				if d := time.Since(ev.ReceivedAt); d < 0 || d > time.Minute {
					t.Errorf("receivedat %s is not now", ev.ReceivedAt)
				}
			},
		},
		{
			name:        "not JSON (stdin)",
			args:        []string{"normalize", "--platform", "heygen", "--at", "1767323045"},
			stdin:       "this is not json",
			wantType:    envelope.TypeUnrecognized,
			wantID:      envelope.BodyID("heygen", []byte("this is not json")),
			wantSubject: "avatar.unrecognized.heygen",
			check: func(t *testing.T, ev *envelope.Event) {
				var raw []byte
				if err := json.Unmarshal(ev.Data.Raw, &raw); err != nil || string(raw) != "this is not json" {
					t.Errorf("non-JSON body not carried whole: %s (%v)", ev.Data.Raw, err)
				}
			},
		},
		{
			name: "generic event mapped with --event",
			args: []string{"normalize", "--platform", "standardwebhooks", "--event", "video.done=avatar.video.completed",
				"--header", "webhook-id: msg_1", "--at", "2026-01-02T03:04:05Z"},
			stdin:       genericBody,
			wantType:    envelope.TypeVideoCompleted,
			wantID:      "standardwebhooks:msg_1",
			wantSubject: "avatar.video.completed.standardwebhooks",
			check: func(t *testing.T, ev *envelope.Event) {
				if ev.PlatformEvent != "video.done" || ev.Data.ResourceID != "vid_9" || ev.Subject != "vid_9" {
					t.Errorf("platformevent %q resource %q subject %q", ev.PlatformEvent, ev.Data.ResourceID, ev.Subject)
				}
				if want := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC); !ev.Time.Equal(want) {
					t.Errorf("time %s, want the payload's %s", ev.Time, want)
				}
			},
		},
		{
			name:        "generic event without a mapping",
			args:        []string{"normalize", "--platform", "standardwebhooks", "--header", "webhook-id: msg_1"},
			stdin:       genericBody,
			wantType:    envelope.TypeUnrecognized,
			wantID:      "standardwebhooks:msg_1",
			wantSubject: "avatar.unrecognized.standardwebhooks",
		},
		{
			name: "subject prefix",
			args: []string{"normalize", "--platform", "standardwebhooks", "--event", "video.done=avatar.video.completed",
				"--subject-prefix", "staging", "--header", "webhook-id: msg_1"},
			stdin:       genericBody,
			wantType:    envelope.TypeVideoCompleted,
			wantID:      "standardwebhooks:msg_1",
			wantSubject: "staging.video.completed.standardwebhooks",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, tt.args...)
			if r.err != nil {
				t.Fatalf("normalize: %v\nstderr: %s", r.err, r.stderr)
			}
			ev, err := envelope.Unmarshal([]byte(r.stdout))
			if err != nil {
				t.Fatalf("stdout is not an envelope: %v\n%s", err, r.stdout)
			}
			if ev.Type != tt.wantType || ev.ID != tt.wantID {
				t.Errorf("type %q id %q, want %q %q", ev.Type, ev.ID, tt.wantType, tt.wantID)
			}
			if err := ev.Validate(); err != nil {
				t.Errorf("printed envelope is not valid: %v", err)
			}
			wantErr := "subject: " + tt.wantSubject + "\nnats-msg-id: " + tt.wantID + "\n"
			if r.stderr != wantErr {
				t.Errorf("stderr %q, want %q", r.stderr, wantErr)
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
		})
	}

	t.Run("usage errors", func(t *testing.T) {
		for _, args := range [][]string{
			{"normalize", "--body-file", heygenFixture},
			{"normalize", "--platform", "heygen", "--body-file", heygenFixture, "--event", "no-equals-sign"},
			{"normalize", "--platform", "heygen", "--body-file", filepath.Join(t.TempDir(), "missing.json")},
			{"normalize", "--platform", "heygen", "--body-file", heygenFixture, "--at", "soon"},
			{"normalize", "--platform", "heygen", "--body-file", heygenFixture, "--subject-prefix", "a.b"},
		} {
			r := runCLI(t, "", args...)
			if r.code() != 2 {
				t.Errorf("%q: exit code %d (err %v), want 2", args, r.code(), r.err)
			}
			if r.stdout != "" {
				t.Errorf("%q: printed %q", args, r.stdout)
			}
		}
	})
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
