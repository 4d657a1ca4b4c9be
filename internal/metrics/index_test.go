package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestIndexLagAndAttemptsNotRecorded(t *testing.T) {
	reg := prometheus.NewRegistry()
	x, err := New(reg).Index()
	if err != nil {
		t.Fatal(err)
	}
	x.Lag(12)
	x.Lag(3) // a gauge: the last value counts
	x.AttemptNotRecorded()
	x.AttemptNotRecorded()
	want := `# HELP avatarbus_index_lag_events Events stored in the stream but not yet in the index (stream last seq minus indexed seq), as last seen by the instance holding the index lease.
# TYPE avatarbus_index_lag_events gauge
avatarbus_index_lag_events 3
# HELP avatarbus_route_attempts_not_recorded_total Route delivery attempts not stored in the attempts stream (queue full or publish failed); deliveries themselves are unaffected.
# TYPE avatarbus_route_attempts_not_recorded_total counter
avatarbus_route_attempts_not_recorded_total 2
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "avatarbus_index_lag_events", "avatarbus_route_attempts_not_recorded_total"); err != nil {
		t.Error(err)
	}
}
