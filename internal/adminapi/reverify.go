package adminapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Reverified is what checking a quarantined request again says (avatarbus verify
// --from-quarantine, from the console's "Re-verify" button).
type Reverified struct {
	Seq        uint64     `json:"seq"`
	Source     string     `json:"source"`
	Refused    string     `json:"refused_for"` // the reason it was quarantined
	ReceivedAt time.Time  `json:"received_at"`
	Valid      bool       `json:"valid"`
	Scheme     string     `json:"scheme,omitempty"`
	Reason     string     `json:"reason,omitempty"` // why it is still not valid
	Detail     string     `json:"detail,omitempty"`
	MessageID  string     `json:"message_id,omitempty"`
	SignedAt   *time.Time `json:"signed_at,omitempty"`
}

// Reverifier checks quarantined request seq again with the secrets of its source as the
// configuration has them now (re-read, so a fixed secret file counts), judging timestamps as of
// the time it was received. cmd wires it; nil answers 501.
type Reverifier func(ctx context.Context, seq uint64) (Reverified, error)

// reverify answers POST /api/v1/quarantine/{seq}/verify. It changes nothing, but re-reads
// secrets, so it is a POST: authenticated, CSRF-checked and logged like the mutations.
func (a *API) reverify(w http.ResponseWriter, r *http.Request) {
	seq, err := parseUint(r.PathValue("seq"))
	if err != nil || seq == 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%w: seq", ErrBadRequest))
		return
	}
	if a.cfg.Reverify == nil {
		writeError(w, http.StatusNotImplemented, errors.New("adminapi: re-verification not configured"))
		return
	}
	res, err := a.cfg.Reverify(r.Context(), seq)
	if err != nil {
		writeError(w, statusOf(err), fmt.Errorf("adminapi: re-verify quarantined request %d: %w", seq, err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}
