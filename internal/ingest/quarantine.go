package ingest

import (
	"context"
	"errors"
	"net/textproto"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/avatarbus/avatarbus/internal/record"
	"github.com/avatarbus/avatarbus/verify"
)

// Quarantine keeps the requests refused for their signature or timestamp, so an operator can
// verify them again once a secret is fixed, and those whose event the platform's API did not
// confirm (a forged callback made with a leaked token, or a genuine one the source cannot confirm),
// so an operator can see who forges and recover what was genuine. broker.Quarantine implements it: Keep must return
// within a short bound of its own, since the platform's 401 waits for it.
//
// Only verification and confirmation refusals (401) are kept. Unknown sources (404), oversized bodies (413) and
// rate-limited requests (429) are not: anyone can send those in any amount, and keeping them
// would let strangers fill the quarantine with junk and push out the requests worth re-checking.
type Quarantine interface {
	Keep(ctx context.Context, subject string, r *record.Refused) (seq uint64, err error)
}

// alwaysMasked are the headers whose values are secrets whatever the source: they never reach
// the quarantine. Signature headers are not among them: a MAC reveals nothing of its key and is
// what re-verification needs.
var alwaysMasked = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// maskedValue replaces the value of a masked header, so the copy still shows it was sent.
const maskedValue = "[masked]"

// maskedHeaders returns the canonical names of the headers masked for a source with the given
// secret headers.
func maskedHeaders(secret []string) []string {
	out := append([]string(nil), alwaysMasked...)
	for _, h := range secret {
		out = append(out, textproto.CanonicalMIMEHeaderKey(h))
	}
	return out
}

// quarantine keeps the request that verification refused with verr, and returns the stream
// sequence it got. The query string is never kept: a token source's secret travels there.
func (s *Server) quarantine(c echo.Context, ep *endpoint, verr error, body []byte, receivedAt time.Time) (uint64, error) {
	req := c.Request()
	src := ep.source.Load()
	header := req.Header.Clone()
	for _, h := range maskedHeaders(src.SecretHeaders) {
		if vs := header[h]; len(vs) > 0 {
			masked := make([]string, len(vs))
			for i := range masked {
				masked[i] = maskedValue
			}
			header[h] = masked
		}
	}
	r := &record.Refused{
		Source:       src.Name,
		Reason:       verify.ReasonOf(verr),
		RequestID:    requestID(c),
		ReceivedAt:   receivedAt,
		Path:         req.URL.Path,
		QueryDropped: req.URL.RawQuery != "",
		Header:       header,
		Body:         body,
	}
	var ve *verify.Error
	if errors.As(verr, &ve) {
		r.Detail = ve.Detail
	}
	// Kept even when the client hangs up meanwhile: the refusal happened either way.
	ctx := context.WithoutCancel(req.Context())
	return s.quar.Keep(ctx, ep.quarantine, r)
}
