package ingest

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
	"go.opentelemetry.io/otel/trace"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/internal/metrics"
	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/verify"
)

// accepted is the body of a 200: which event the request became and whether JetStream already had
// it (a platform redelivery).
type accepted struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
	Type      string `json:"type"`
	Subject   string `json:"subject"`
	Stream    string `json:"stream"`
	Seq       uint64 `json:"seq"`
}

// answerBufs hold the bodies of 200s while they are written.
var answerBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

// handleOptions answers the URL probes some platforms send when an endpoint is registered (HeyGen
// gives it one second). It answers for any source name: registration returns the secret the source
// needs, so the probe comes before the source can be configured. It reveals nothing, since a POST
// to an unknown source is still 404.
func (s *Server) handleOptions(c echo.Context) error {
	c.Response().Header().Set("Allow", "POST, OPTIONS")
	return c.NoContent(http.StatusNoContent)
}

// handleWebhook answers one webhook and records it: outcome, duration, and what the pipeline
// counted on the way. The duration runs from routing to the written answer.
func (s *Server) handleWebhook(c echo.Context) error {
	start := time.Now()
	defer func() { s.answering.Add(int64(time.Since(start))) }()
	ep := s.sources[c.Param("source")] // nil for an unknown source
	m := s.unknown                     // never labelled with the requested name: bounded cardinality
	if ep != nil {
		m = ep.metrics
	}
	span := s.startRequest(c, c.Param("source"))
	recorded := false
	defer func() {
		if !recorded { // the pipeline panicked; the Recover middleware answers 500
			m.Request(metrics.OutcomeInternal, time.Since(start))
			endRequest(span, metrics.OutcomeInternal.String(), http.StatusInternalServerError, ErrInternal)
		}
	}()
	res, err := s.process(c, ep, m, span)
	recorded = true
	if err != nil {
		outcome := outcomeOf(err)
		m.Request(outcome, time.Since(start))
		status, _ := errorResponse(err)
		endRequest(span, outcome.String(), status, err)
		return err
	}
	outcome := metrics.OutcomeStored
	if res.Duplicate {
		outcome = metrics.OutcomeDuplicate
	}
	// The event is stored even if the client went away meanwhile.
	buf := answerBufs.Get().(*[]byte)
	if body, ok := res.appendJSON((*buf)[:0]); ok {
		err = c.JSONBlob(http.StatusOK, body) // written (copied) before it returns
		*buf = body
	} else {
		err = c.JSON(http.StatusOK, res)
	}
	answerBufs.Put(buf)
	m.Request(outcome, time.Since(start))
	endRequest(span, outcome.String(), http.StatusOK, nil)
	return err
}

// process is the pipeline: source → raw body (charged to the body budget until the answer) →
// verify → rate limit → normalize → subject → offload → publish → ack. A request that fails
// verification spends the source's unverified budget instead of its rate limit. It returns the
// answer of a stored event, or the error errorResponse turns into the answer. Its log lines name
// the source, request id and reason, never the body, secrets or the query string; those of 503s
// are sampled. span is the request's span (a no-op without tracing); each step gets a child.
func (s *Server) process(c echo.Context, ep *endpoint, m *metrics.Source, span trace.Span) (accepted, error) {
	if s.draining.Load() {
		return accepted{}, fmt.Errorf("%w: shutting down", ErrUnavailable)
	}
	if ep == nil {
		return accepted{}, ErrUnknownSource
	}
	src := ep.source.Load()
	req := c.Request()

	body, hold, err := s.readBody(c, src.MaxBody)
	defer hold.release() // after the last step that holds the body: publish, or the quarantine copy
	m.BodyBytes(len(body))
	if err != nil {
		if errors.Is(err, ErrBusy) {
			unavailable(c, ep).Err(err).Msg("request refused: body budget full" + sampledNote)
		} else {
			s.requestLog(c, src.Name).Warn().Err(err).Msg("request refused")
		}
		return accepted{}, err
	}
	receivedAt := s.now()
	header := textproto.MIMEHeader(req.Header)
	_, vspan := s.startStep(c, spanVerify, trace.SpanKindInternal)
	var query url.Values // nil reads as empty; parsing an empty query still allocates its map
	if req.URL.RawQuery != "" {
		query = req.URL.Query()
	}
	res, err := src.Verifier.Verify(verify.Request{Header: header, Query: query, Body: body, Now: receivedAt})
	if err != nil && vspan.IsRecording() {
		vspan.SetAttributes(attrReason.String(verify.ReasonOf(err)))
	}
	endStep(vspan, err)
	if err != nil {
		if lerr := s.spendUnverified(c, ep, src); lerr != nil {
			m.VerificationFailed(verify.ReasonOf(err))
			return accepted{}, lerr
		}
		s.refuse(c, ep, m, err, body, receivedAt, "", "verification failed")
		return accepted{}, err
	}
	// Only now, verified, does the request spend its source's rate limit.
	if err := s.spendVerified(c, ep, src); err != nil {
		return accepted{}, err
	}

	_, nspan := s.startStep(c, spanNormalize, trace.SpanKindInternal)
	ev := src.Preset.Normalize(platform.Input{
		Source: src.Name, Header: header, Body: body, ReceivedAt: receivedAt,
		MessageID: res.MessageID, Events: src.Events,
	})
	nspan.End()
	if src.Confirmer != nil {
		resource := ev.Subject
		_, cspan := s.startStep(c, spanConfirm, trace.SpanKindClient)
		ev, err = s.confirm(c, ep, src, ev)
		endStep(cspan, err)
		if err != nil {
			if _, refused := errors.AsType[*verify.Error](err); refused {
				s.refuse(c, ep, m, err, body, receivedAt, resource, "event not confirmed by the platform")
			}
			return accepted{}, err
		}
	}
	subject, err := s.subjects.For(ev.Type, ev.Platform)
	if err != nil {
		s.requestLog(c, src.Name).Error().Err(err).Str("type", ev.Type).Msg("no subject for event")
		return accepted{}, fmt.Errorf("%w: %w", ErrInternal, err)
	}
	describeEvent(span, &ev, subject)
	if s.offload != nil {
		// Objects first: a 2xx names an event whose references can be read.
		octx, ospan := s.startStep(c, spanOffload, trace.SpanKindInternal)
		err := s.offload.Apply(octx, &ev, body, req.Header.Get(echo.HeaderContentType), src.Offload)
		endStep(ospan, err)
		if err != nil {
			unavailable(c, ep).Err(err).Str("id", ev.ID).Msg("event not stored: object store" + sampledNote)
			return accepted{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	pctx, pspan := s.startStep(c, spanPublish, trace.SpanKindProducer)
	if pspan.IsRecording() {
		pspan.SetAttributes(attrMsgSystem.String("nats"), attrMsgDest.String(subject), attrMsgID.String(ev.ID))
	}
	stamp(pctx, &ev) // the consumer's trace continues from the publish
	published := time.Now()
	ack, err := s.pub.Publish(pctx, subject, &ev)
	if err != nil {
		endStep(pspan, err)
		unavailable(c, ep).Err(err).Str("id", ev.ID).Msg("event not stored" + sampledNote)
		return accepted{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	m.Published(time.Since(published))
	describeAck(span, pspan, ack)
	pspan.End()
	if ev.Type == envelope.TypeUnrecognized && !ack.Duplicate {
		m.Unrecognized()
	}
	if e := s.log.Debug(); e.Enabled() {
		e.Str("source", src.Name).Str("request_id", requestID(c)).Str("id", ev.ID).Str("subject", subject).
			Uint64("seq", ack.Seq).Bool("duplicate", ack.Duplicate).Msg("stored")
	}
	return accepted{ID: ev.ID, Duplicate: ack.Duplicate, Type: ev.Type, Subject: subject, Stream: ack.Stream, Seq: ack.Seq}, nil
}

// refuse records a request refused for what it proves (its signature, its timestamp, or an event
// the platform does not confirm): the metric, a warning, and a copy on the quarantine. resource
// names the event's resource when it got that far.
func (s *Server) refuse(c echo.Context, ep *endpoint, m *metrics.Source, err error, body []byte, receivedAt time.Time, resource, msg string) {
	reason := verify.ReasonOf(err)
	m.VerificationFailed(reason)
	line := s.requestLog(c, ep.source.Load().Name).Warn().Str("reason", reason).Str("remote", c.RealIP())
	if resource != "" {
		line = line.Str("resource", resource)
	}
	if ep.quarantine != "" {
		// Before the answer, within the quarantine's own short deadline; a failure to keep the
		// request never changes the answer.
		seq, qerr := s.quarantine(c, ep, err, body, receivedAt)
		m.Quarantined(qerr == nil)
		if qerr != nil {
			line = line.AnErr("quarantine_error", qerr)
		} else {
			line = line.Uint64("quarantine_seq", seq)
		}
	}
	line.Msg(msg)
}

// sampledNote ends the message of a sampled line, so that a reader knows it stands for more.
const sampledNote = " (answered 503; logged at most once per 10s per source)"

// unavailable starts the warning of a request answered 503 because something it needs is down
// (JetStream, the object store, the platform's API). Its logger is sampled like the 429s': an
// outage answers thousands of requests, and the metrics count them all.
func unavailable(c echo.Context, ep *endpoint) *zerolog.Event {
	return ep.busyLog.Warn().Str("request_id", requestID(c))
}

// requestLog is the logger of a request that is refused or fails. It is built only then, so a
// stored request allocates no logger.
func (s *Server) requestLog(c echo.Context, source string) *zerolog.Logger {
	l := s.log.With().Str("source", source).Str("request_id", requestID(c)).Logger()
	return &l
}

// requestID is the id the RequestID middleware put in the answer's X-Request-Id.
func requestID(c echo.Context) string { return c.Response().Header().Get(echo.HeaderXRequestID) }
