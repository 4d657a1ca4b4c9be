package broker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

func TestIsStorageFailure(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no ack (the server's answer to a store write error)", jetstream.ErrAsyncPublishTimeout, true},
		{"wrapped no ack", fmt.Errorf("publish: %w", jetstream.ErrAsyncPublishTimeout), true},
		{"store failed 10077", &jetstream.APIError{Code: 503, ErrorCode: 10077, Description: "too many open files"}, true},
		{"insufficient resources 10023", &jetstream.APIError{Code: 503, ErrorCode: 10023}, true},
		{"wrong last sequence", &jetstream.APIError{Code: 400, ErrorCode: 10071}, false},
		{"no responders (not connected to a stream)", nats.ErrNoResponders, false},
		{"another error", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isStorageFailure(tt.err); got != tt.want {
				t.Errorf("isStorageFailure(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestStorageStateWindow(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_000_000, 0)
	tests := []struct {
		name      string
		outcomes  []error // one per second from t0
		at        time.Duration
		wantErr   bool
		wantSince time.Duration
	}{
		{"none", nil, 0, false, 0},
		{"a storage failure", []error{jetstream.ErrAsyncPublishTimeout}, time.Second, true, 0},
		{"outside the window", []error{jetstream.ErrAsyncPublishTimeout}, StorageFailureWindow + time.Second, false, 0},
		{"a success clears it", []error{jetstream.ErrAsyncPublishTimeout, nil}, 2 * time.Second, false, 0},
		{"other errors say nothing", []error{jetstream.ErrAsyncPublishTimeout, nats.ErrNoResponders}, 2 * time.Second, true, 0},
		{"the run starts at its first failure", []error{nil, jetstream.ErrAsyncPublishTimeout, jetstream.ErrAsyncPublishTimeout}, 3 * time.Second, true, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s storageState
			for i, err := range tt.outcomes {
				s.observe(err, t0.Add(time.Duration(i)*time.Second))
			}
			err, since := s.recent(t0.Add(tt.at))
			if (err != nil) != tt.wantErr {
				t.Fatalf("recent() error = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr && !since.Equal(t0.Add(tt.wantSince)) {
				t.Errorf("run since %s, want %s", since.Sub(t0), tt.wantSince)
			}
		})
	}
}

// TestFatalAfterStorageFailureExit: with an external server (no embedded one to restart),
// publishes that keep failing for a storage reason past StorageFailureExit make Fatal deliver, so
// that serve exits non-zero; a bound of 0 never does.
func TestFatalAfterStorageFailureExit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		bound     time.Duration
		wantFatal bool
	}{{bound: 100 * time.Millisecond, wantFatal: true}, {bound: 0, wantFatal: false}} {
		t.Run(fmt.Sprint(tt.bound), func(t *testing.T) {
			b := &Broker{cfg: Config{StorageFailureExit: tt.bound}, log: zerolog.Nop(), fatal: make(chan error, 1)}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() { defer close(done); b.watchStorage(stop, 10*time.Millisecond) }()
			defer func() { close(stop); <-done }()
			deadline := time.After(time.Second)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case err := <-b.Fatal():
					if !tt.wantFatal {
						t.Fatalf("Fatal delivered %v with bound 0", err)
					}
					if !errors.Is(err, ErrStorage) || !errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
						t.Errorf("Fatal = %v, want ErrStorage wrapping the publish error", err)
					}
					return
				case <-tick.C:
					b.storage.observe(jetstream.ErrAsyncPublishTimeout, time.Now())
				case <-deadline:
					if tt.wantFatal {
						t.Fatal("no Fatal within 1s of failing publishes with a 100ms bound")
					}
					return
				}
			}
		})
	}
}
