package ingest_test

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/avatarbus/avatarbus/internal/ingest"
	"github.com/avatarbus/avatarbus/verify"
)

func tokenSource(t *testing.T, name string, secrets ...string) ingest.Source {
	return ingest.Source{Name: name, Preset: preset(t, "did"),
		Verifier: mustVerifier(t, verify.Config{Scheme: "token", Secrets: secrets})}
}

func TestReloadSwapsSecretsWithoutLosingRequests(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{sources: []ingest.Source{tokenSource(t, "rotated", "old-token"), tokenSource(t, "steady", "steady-token")}})
	url, srv, js := st.url, st.ing, st.js
	h := http.Header{"Content-Type": {"application/json"}}
	talk := func(i int) string {
		return `{"id":"tlk_` + strings.Repeat("a", i%7+1) + `_` + string(rune('a'+i%26)) + `","status":"done"}`
	}

	if a := post(t, url+"/webhooks/rotated?token=old-token", h, talk(0)); a.status != http.StatusOK {
		t.Fatalf("old token before reload: %d %v", a.status, a.body)
	}
	if a := post(t, url+"/webhooks/rotated?token=new-token", h, talk(1)); a.status != http.StatusUnauthorized {
		t.Fatalf("new token before reload: %d %v", a.status, a.body)
	}

	// Requests keep arriving on both sources while the secrets are swapped.
	var wg sync.WaitGroup
	var mu sync.Mutex
	stored := map[string]bool{}
	failures := 0
	stop := make(chan struct{})
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := `{"id":"tlk_g` + string(rune('0'+g)) + `_` + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + `","status":"done"}`
				a := post(t, url+"/webhooks/steady?token=steady-token", h, body)
				mu.Lock()
				if a.status == http.StatusOK {
					stored[a.body["id"].(string)] = true
				} else {
					failures++
				}
				mu.Unlock()
			}
		})
	}
	for i := 0; ; i++ {
		if err := srv.Reload([]ingest.Source{tokenSource(t, "rotated", "new-token"), tokenSource(t, "steady", "steady-token")}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		done := len(stored) + failures
		mu.Unlock()
		if i >= 20 && done >= 100 {
			break
		}
	}
	close(stop)
	wg.Wait()
	if failures != 0 {
		t.Fatalf("%d requests of an unchanged source failed during reloads", failures)
	}

	if a := post(t, url+"/webhooks/rotated?token=old-token", h, talk(2)); a.status != http.StatusUnauthorized || a.body["error"] != "signature_mismatch" {
		t.Fatalf("old token after reload: %d %v", a.status, a.body)
	}
	if a := post(t, url+"/webhooks/rotated?token=new-token", h, talk(3)); a.status != http.StatusOK {
		t.Fatalf("new token after reload: %d %v", a.status, a.body)
	}
	if n, want := streamMsgs(t, js), uint64(len(stored)+2); n != want {
		t.Fatalf("%d messages in the stream, want %d (every 200 stored once)", n, want)
	}
}

func TestReloadRefusesAnotherSetOfSources(t *testing.T) {
	t.Parallel()
	st := startStack(t, stackOptions{sources: []ingest.Source{tokenSource(t, "a", "tok-a"), tokenSource(t, "b", "tok-b")}})
	url, srv := st.url, st.ing
	for _, tt := range []struct {
		sources []ingest.Source
		want    string
	}{
		{[]ingest.Source{tokenSource(t, "a", "x")}, "removed: b"},
		{[]ingest.Source{tokenSource(t, "a", "x"), tokenSource(t, "b", "x"), tokenSource(t, "c", "x")}, "added: c"},
		{[]ingest.Source{tokenSource(t, "a", "x"), tokenSource(t, "a", "y"), tokenSource(t, "b", "x")}, "duplicated: a"},
	} {
		err := srv.Reload(tt.sources)
		if !errors.Is(err, ingest.ErrReload) || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("err = %v, want ErrReload naming %q", err, tt.want)
		}
	}
	// Nothing changed: the old tokens still work.
	h := http.Header{"Content-Type": {"application/json"}}
	if a := post(t, url+"/webhooks/a?token=tok-a", h, `{"id":"tlk_1","status":"done"}`); a.status != http.StatusOK {
		t.Fatalf("after refused reloads: %d %v", a.status, a.body)
	}
}
