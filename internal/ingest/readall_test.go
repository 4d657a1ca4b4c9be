package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// TestReadAllReadsWhatReadAllReads: whatever the announced size (none, exact, too small, too
// large) and however the reader splits the bytes, readAll returns the whole body, and a reader's
// error is returned with what was read before it. What it charged covers what it holds, and
// comes back whole on release.
func TestReadAllReadsWhatReadAllReads(t *testing.T) {
	t.Parallel()
	budget := newBodyBudget(1<<30, time.Second)
	body := bytes.Repeat([]byte("0123456789"), 300)
	for _, size := range []int64{-1, 0, 10, int64(len(body)), int64(len(body)) + 7, 1 << 20} {
		for name, r := range map[string]io.Reader{
			"whole": bytes.NewReader(body), "one byte": iotest.OneByteReader(bytes.NewReader(body)),
			"half": iotest.HalfReader(bytes.NewReader(body)), "data with EOF": iotest.DataErrReader(bytes.NewReader(body)),
		} {
			hold := &bodyHold{b: budget}
			got, err := readAll(context.Background(), r, size, 1<<20, hold)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("size %d, %s: %d bytes, %v", size, name, len(got), err)
			}
			if hold.n < int64(len(got)) || budget.Held() != hold.n {
				t.Fatalf("size %d, %s: %d bytes held, charged %d (budget says %d)", size, name, len(got), hold.n, budget.Held())
			}
			hold.release()
			if budget.Held() != 0 {
				t.Fatalf("size %d, %s: %d bytes still held after release", size, name, budget.Held())
			}
		}
	}
	boom := errors.New("boom")
	hold := &bodyHold{b: budget}
	got, err := readAll(context.Background(), io.MultiReader(bytes.NewReader(body[:100]), iotest.ErrReader(boom)), 0, 1<<20, hold)
	if !errors.Is(err, boom) || !bytes.Equal(got, body[:100]) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	hold.release()
}

// TestReadAllChargesTheBudget: a body announced or chunked is charged to the budget; one larger
// than the whole budget is refused as too large, announced or not; one that finds the budget
// held by others waits, then is refused as busy, or goes on as soon as room comes free; a small
// one has a reserve of its own, itself bounded.
func TestReadAllChargesTheBudget(t *testing.T) {
	t.Parallel()
	const size = 1 << 20
	for _, tt := range []struct {
		name     string
		announce int64
		body     int
		want     error
	}{
		{"announced, fits", 300 << 10, 300 << 10, nil},
		{"chunked, fits", -1, 700 << 10, nil},
		{"announced, larger than the budget", size + 1, size + 1, ErrBodyTooLarge},
		{"chunked, larger than the budget", -1, 3 * size, ErrBodyTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			budget := newBodyBudget(size, 50*time.Millisecond)
			hold := &bodyHold{b: budget}
			defer hold.release()
			got, err := readAll(context.Background(), strings.NewReader(strings.Repeat("x", tt.body)), tt.announce, 256<<20, hold)
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if budget.Held() > size || hold.n+1 < int64(len(got)) { // +1: the spare byte that sees the end
				t.Fatalf("%d bytes read, %d charged, %d held of %d", len(got), hold.n, budget.Held(), size)
			}
			if err != nil && len(got) > size+1 {
				t.Fatalf("read %d bytes before refusing a body over a %d-byte budget", len(got), size)
			}
		})
	}

	budget := newBodyBudget(size, 200*time.Millisecond)
	other := &bodyHold{b: budget}
	if err := other.grow(context.Background(), size-1000); err != nil {
		t.Fatal(err)
	}
	const large = 100 << 10 // above smallBody: no reserve for it
	hold := &bodyHold{b: budget}
	start := time.Now()
	_, err := readAll(context.Background(), strings.NewReader(strings.Repeat("x", large)), large, size, hold)
	if !errors.Is(err, ErrBusy) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with the budget held: %v, want ErrBusy wrapped in ErrUnavailable", err)
	}
	if took := time.Since(start); took < 150*time.Millisecond || took > 2*time.Second {
		t.Fatalf("refused after %s, want after the 200ms wait", took)
	}
	hold.release()

	// A small body is not kept waiting by the large ones: it has the reserve, which is bounded too.
	small := &bodyHold{b: budget}
	if got, err := readAll(context.Background(), strings.NewReader(strings.Repeat("x", 5000)), 5000, size, small); err != nil || len(got) != 5000 {
		t.Fatalf("a small body with the budget held: %d bytes, %v", len(got), err)
	}
	filler := &bodyHold{b: budget}
	for filler.small+smallBody <= smallReserve(size)-small.n {
		if err := filler.grow(context.Background(), smallBody); err != nil {
			t.Fatal(err)
		}
		filler.n = 0 // each grow stands for another small request; the total is in filler.small
	}
	if err := filler.grow(context.Background(), smallReserve(size)-small.n-filler.small); err != nil { // the rest of it
		t.Fatal(err)
	}
	if err := (&bodyHold{b: budget}).grow(context.Background(), 5000); !errors.Is(err, ErrBusy) {
		t.Fatalf("with the small-body reserve held too: %v, want ErrBusy", err)
	}
	filler.n = filler.small
	filler.release()
	small.release()

	// Room comes free while readAll waits: the sleep is the behaviour under test.
	go func() { time.Sleep(50 * time.Millisecond); other.release() }()
	got, err := readAll(context.Background(), strings.NewReader(strings.Repeat("x", large)), large, size, hold)
	if err != nil || len(got) != large {
		t.Fatalf("after room came free: %d bytes, %v", len(got), err)
	}
	hold.release()
	if budget.Held() != 0 {
		t.Fatalf("%d bytes held after every release", budget.Held())
	}
}
