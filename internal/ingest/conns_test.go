package ingest_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/avatarbus/avatarbus/internal/ingest"
)

func TestDeriveMaxConnections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		limit uint64
		want  int
	}{
		{limit: 2048, want: 1536},      // 2048 - max(256, 512)
		{limit: 1024, want: 768},       // 1024 - 256
		{limit: 20000, want: 15000},    // 20000 - 5000
		{limit: 512, want: 256},        // 512 - 256, half left to the rest
		{limit: 300, want: 150},        // the reserve is at most half
		{limit: 1, want: 1},            // never 0: a cap of 0 would accept nothing
		{limit: 1 << 62, want: 786432}, // RLIM_INFINITY and the like: capped at 1<<20 first
	}
	for _, tt := range tests {
		if got := ingest.DeriveMaxConnections(tt.limit); got != tt.want {
			t.Errorf("DeriveMaxConnections(%d) = %d, want %d", tt.limit, got, tt.want)
		}
	}
}

// holdIdle opens a connection, gets one answer on it and keeps it open, idle.
func holdIdle(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(c, "OPTIONS /webhooks/acme HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("idle connection not answered: %v", err)
	}
	resp.Body.Close()
	_ = c.SetDeadline(time.Time{})
	return c
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// TestConnectionCapMakesAcceptWait: with MaxConnections open, a further client is not served
// (it waits in the accept queue) until one of them closes.
func TestConnectionCapMakesAcceptWait(t *testing.T) {
	t.Parallel()
	const maxConns = 4
	// A long pressure idle timeout: the held connections stay for the whole test.
	st := startStack(t, stackOptions{http: ingest.HTTPConfig{MaxConnections: maxConns, PressureIdleTimeout: 30 * time.Second}})
	addr := strings.TrimPrefix(st.url, "http://")
	var held []net.Conn
	for range maxConns {
		held = append(held, holdIdle(t, addr))
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	extra, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	fmt.Fprintf(extra, "OPTIONS /webhooks/acme HTTP/1.1\r\nHost: x\r\n\r\n")
	answered := make(chan time.Time, 1)
	go func() {
		_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
		if resp, err := http.ReadResponse(bufio.NewReader(extra), nil); err == nil {
			resp.Body.Close()
			answered <- time.Now()
		}
		close(answered)
	}()
	select {
	case <-answered:
		t.Fatalf("a client beyond the cap of %d was served at once", maxConns)
	case <-time.After(500 * time.Millisecond):
	}
	freed := time.Now()
	held[0].Close()
	select {
	case at, ok := <-answered:
		if !ok {
			t.Fatal("the queued client was never answered")
		}
		if at.Sub(freed) > time.Second {
			t.Errorf("the queued client was answered %s after a slot was freed, want < 1s", at.Sub(freed))
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the queued client was not answered within 3s of a slot being freed")
	}
}

// TestConnectionCapPressureClosesIdle: below the pressure mark (80% of the cap) idle
// keep-alives are kept; once it is reached they are closed after PressureIdleTimeout, so that a
// signed request from a new client is stored while idle connections try to hold the cap.
func TestConnectionCapPressureClosesIdle(t *testing.T) {
	t.Parallel()
	const maxConns = 10
	st := startStack(t, stackOptions{http: ingest.HTTPConfig{MaxConnections: maxConns, PressureIdleTimeout: 200 * time.Millisecond}})
	addr := strings.TrimPrefix(st.url, "http://")

	var calm []net.Conn
	for range 5 {
		calm = append(calm, holdIdle(t, addr))
	}
	if closedWithin(calm[0], 600*time.Millisecond) {
		t.Fatal("an idle connection was closed at 5 of 10 open, below the pressure mark")
	}
	var held []net.Conn
	for range maxConns - len(calm) {
		held = append(held, holdIdle(t, addr))
	}
	var queued []net.Conn // connected, never sending a byte
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, c)
	}
	defer func() {
		for _, c := range append(append(calm, held...), queued...) {
			c.Close()
		}
	}()
	var wg sync.WaitGroup
	closed := make([]bool, len(calm))
	for i, c := range calm {
		wg.Add(1)
		go func() { defer wg.Done(); closed[i] = closedWithin(c, 2*time.Second) }()
	}
	wg.Wait()
	for i, ok := range closed {
		if !ok {
			t.Errorf("idle connection %d still open 2s after the cap was reached (pressure idle timeout 200ms)", i)
		}
	}
	body := `{"type":"video.done","data":{"id":"v"}}`
	a := post(t, st.url+"/webhooks/acme", signedSW(t, "under-pressure", time.Now(), body), body)
	if a.status != http.StatusOK || a.took > 3*time.Second {
		t.Fatalf("request while idle connections hold the cap: %d after %s, want 200 within 3s", a.status, a.took)
	}
}
