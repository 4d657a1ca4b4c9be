package metrics

import "github.com/prometheus/client_golang/prometheus"

// WatchConnections registers avatarbus_http_connections_open and avatarbus_http_connections_max,
// gauges computed at each scrape from connections (the ingest server's open connections and their
// cap), so that an operator sees how close the listener is to its cap. Call it once.
func (m *Metrics) WatchConnections(connections func() (open, limit int)) error {
	if err := m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_connections_open",
		Help: "Open connections of the ingest listener.",
	}, func() float64 { open, _ := connections(); return float64(open) })); err != nil {
		return err
	}
	return m.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "http_connections_max",
		Help: "Cap on the open connections of the ingest listener (http.max_connections, or derived from the file limit).",
	}, func() float64 { _, limit := connections(); return float64(limit) }))
}
