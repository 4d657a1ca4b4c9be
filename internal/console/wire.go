package console

import (
	"encoding/json"
	"time"
)

// The admin API's wire contract (docs/console.md), as the console reads it. The console speaks to
// the API only through its http.Handler and JSON, so it does not import internal/adminapi (same
// layer: test/arch).
const (
	apiCookie      = "avatarbus_session" // adminapi.CookieName
	apiCSRFHeader  = "X-CSRF-Token"      // adminapi.CSRFHeader
	apiIndexHeader = "Avatarbus-Index"   // adminapi.IndexHeader: "off" when serve keeps no index
)

// indexOffNote is what a search or timeline page says when the API has no index.
const indexOffNote = "The event index is off (index.enabled: false): only the newest events were searched."

// Event is one stored event as the API answers it.
type Event struct {
	Seq      uint64              `json:"seq"`
	Subject  string              `json:"subject"`
	Time     time.Time           `json:"stored_at"`
	Envelope json.RawMessage     `json:"envelope,omitempty"`
	Headers  map[string][]string `json:"headers,omitempty"`
	Attempts []Attempt           `json:"attempts,omitempty"`
}

// Attempt is one route delivery attempt.
type Attempt struct {
	Route   string    `json:"route"`
	EventID string    `json:"event_id"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Status  int       `json:"status"`
	Error   string    `json:"error"`
}

// Page is a list answer.
type Page struct {
	Items      []Event `json:"items"`
	NextCursor uint64  `json:"next_cursor,omitempty"`
}

// replayRequest is POST /api/v1/replay's body.
type replayRequest struct {
	IDs    []string `json:"ids"`
	Route  string   `json:"route"`
	DryRun bool     `json:"dry_run"`
}

// replayResult is its answer.
type replayResult struct {
	DryRun bool     `json:"dry_run"`
	Target string   `json:"target"`
	Events []string `json:"events"`
	Sent   int      `json:"sent"`
}

// Status is GET /api/v1/status: the sources' and routes' activity.
type Status struct {
	Window  string `json:"window"`
	Sources []struct {
		Name        string     `json:"name"`
		Platform    string     `json:"platform"`
		Events      uint64     `json:"events_in_window"`
		PerMinute   float64    `json:"per_minute"`
		LastEventAt *time.Time `json:"last_event_at"`
		Error       string     `json:"error"`
	} `json:"sources"`
	Routes []struct {
		Name            string     `json:"name"`
		Filter          string     `json:"filter"`
		Consumer        string     `json:"consumer"`
		Pending         uint64     `json:"pending"`
		InFlight        int        `json:"in_flight"`
		Redelivered     int        `json:"redelivered"`
		LastDeliveredAt *time.Time `json:"last_delivered_at"`
		Attempts        uint64     `json:"attempts_in_window"`
		PerMinute       float64    `json:"attempts_per_minute"`
		Error           string     `json:"error"`
	} `json:"routes"`
}

// Reverified is POST /api/v1/quarantine/{seq}/verify.
type Reverified struct {
	Seq       uint64     `json:"seq"`
	Source    string     `json:"source"`
	Valid     bool       `json:"valid"`
	Scheme    string     `json:"scheme"`
	Reason    string     `json:"reason"`
	Detail    string     `json:"detail"`
	MessageID string     `json:"message_id"`
	SignedAt  *time.Time `json:"signed_at"`
}
