package ingest

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// TestReadAllReadsWhatReadAllReads: whatever the announced size (none, exact, too small, too
// large) and however the reader splits the bytes, readAll returns the whole body, and a reader's
// error is returned with what was read before it.
func TestReadAllReadsWhatReadAllReads(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 300)
	for _, size := range []int64{-1, 0, 10, int64(len(body)), int64(len(body)) + 7, 1 << 30} {
		for name, r := range map[string]io.Reader{
			"whole": bytes.NewReader(body), "one byte": iotest.OneByteReader(bytes.NewReader(body)),
			"half": iotest.HalfReader(bytes.NewReader(body)), "data with EOF": iotest.DataErrReader(bytes.NewReader(body)),
		} {
			got, err := readAll(r, size)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("size %d, %s: %d bytes, %v", size, name, len(got), err)
			}
		}
	}
	boom := errors.New("boom")
	got, err := readAll(io.MultiReader(bytes.NewReader(body[:100]), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) || !bytes.Equal(got, body[:100]) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
}
