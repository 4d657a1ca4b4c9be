package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestPollSeries(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	a, b := m.Poll("heygen"), m.Poll("did") // the second call must not register again (panic)
	var none *Poll
	none.SetCredits(1) // a nil handle records nothing
	a.Recovered.Inc()
	a.Recovered.Inc()
	b.Errors.Inc()
	a.SetCredits(42.5)
	want := `
# HELP avatarbus_poll_recovered_total Events stored by reconciliation because their webhook never arrived, by source.
# TYPE avatarbus_poll_recovered_total counter
avatarbus_poll_recovered_total{source="did"} 0
avatarbus_poll_recovered_total{source="heygen"} 2
# HELP avatarbus_credits_remaining Remaining credits of the account, in the platform's unit, as last read, by source.
# TYPE avatarbus_credits_remaining gauge
avatarbus_credits_remaining{source="heygen"} 42.5
# HELP avatarbus_poll_errors_total Failed polling passes or publishes (API errors, rate limits, JetStream unavailable), by source.
# TYPE avatarbus_poll_errors_total counter
avatarbus_poll_errors_total{source="did"} 1
avatarbus_poll_errors_total{source="heygen"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"avatarbus_poll_recovered_total", "avatarbus_credits_remaining", "avatarbus_poll_errors_total"); err != nil {
		t.Fatal(err)
	}
}
