package ingest

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"

	"github.com/labstack/echo/v4"

	"github.com/avatarbus/avatarbus/platform"
	"github.com/avatarbus/avatarbus/subjects"
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

// handleOptions answers the URL probes some platforms send when an endpoint is registered (HeyGen
// gives it one second).
func (s *Server) handleOptions(c echo.Context) error {
	if _, ok := s.sources[c.Param("source")]; !ok {
		return ErrUnknownSource
	}
	c.Response().Header().Set("Allow", "POST, OPTIONS")
	return c.NoContent(http.StatusNoContent)
}

// handleWebhook is the pipeline: source → raw body → verify → normalize → subject → publish → 200.
func (s *Server) handleWebhook(c echo.Context) error {
	if s.draining.Load() {
		return fmt.Errorf("%w: shutting down", ErrUnavailable)
	}
	src, ok := s.sources[c.Param("source")]
	if !ok {
		return ErrUnknownSource
	}
	req := c.Request()
	log := s.log.With().Str("source", src.Name).Str("request_id", c.Response().Header().Get(echo.HeaderXRequestID)).Logger()

	body, err := readBody(c, src.MaxBody)
	if err != nil {
		log.Warn().Err(err).Msg("request refused")
		return err
	}
	receivedAt := s.now()
	header := textproto.MIMEHeader(req.Header)
	res, err := src.Verifier.Verify(verify.Request{Header: header, Query: req.URL.Query(), Body: body, Now: receivedAt})
	if err != nil {
		log.Warn().Str("reason", verify.ReasonOf(err)).Str("remote", c.RealIP()).Msg("verification failed")
		return err
	}

	ev := src.Preset.Normalize(platform.Input{
		Source: src.Name, Header: header, Body: body, ReceivedAt: receivedAt,
		MessageID: res.MessageID, Events: src.Events,
	})
	subject, err := subjects.For(s.prefix, ev.Type, ev.Platform)
	if err != nil {
		log.Error().Err(err).Str("type", ev.Type).Msg("no subject for event")
		return fmt.Errorf("%w: %w", ErrInternal, err)
	}
	ack, err := s.pub.Publish(req.Context(), subject, &ev)
	if err != nil {
		log.Warn().Err(err).Str("id", ev.ID).Msg("event not stored")
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	log.Debug().Str("id", ev.ID).Str("subject", subject).Uint64("seq", ack.Seq).Bool("duplicate", ack.Duplicate).Msg("stored")
	return c.JSON(http.StatusOK, accepted{ID: ev.ID, Duplicate: ack.Duplicate, Type: ev.Type, Subject: subject, Stream: ack.Stream, Seq: ack.Seq})
}

// readBody reads the whole raw body, refusing more than limit bytes: early from Content-Length,
// otherwise as soon as the limit is crossed while reading.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrBodyTooLarge, req.ContentLength, limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response().Writer, req.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrBodyTooLarge, limit)
		}
		return nil, fmt.Errorf("%w: %w", ErrBodyRead, err)
	}
	return body, nil
}
