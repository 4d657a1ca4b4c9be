package metrics

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestWatchConnectionsReportsOpenAndCap(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	var open atomic.Int64
	open.Store(7)
	if err := m.WatchConnections(func() (int, int) { return int(open.Load()), 1536 }); err != nil {
		t.Fatal(err)
	}
	want := func(n int) string {
		return strings.ReplaceAll(`# HELP avatarbus_http_connections_max Cap on the open connections of the ingest listener (http.max_connections, or derived from the file limit).
# TYPE avatarbus_http_connections_max gauge
avatarbus_http_connections_max 1536
# HELP avatarbus_http_connections_open Open connections of the ingest listener.
# TYPE avatarbus_http_connections_open gauge
avatarbus_http_connections_open N
`, "N", strconv.Itoa(n))
	}
	for _, n := range []int{7, 1200} {
		open.Store(int64(n))
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want(n)), "avatarbus_http_connections_open", "avatarbus_http_connections_max"); err != nil {
			t.Errorf("open=%d: %v", n, err)
		}
	}
	if err := m.WatchConnections(func() (int, int) { return 0, 0 }); err == nil {
		t.Error("a second WatchConnections registered the gauges again, want the registry's error")
	}
}
