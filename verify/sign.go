package verify

import (
	"fmt"
	"net/textproto"
	"net/url"
	"strconv"
	"time"
)

// Signed is what a sender adds to a request so that the scheme of the same Config accepts it.
type Signed struct {
	Header textproto.MIMEHeader // headers to set
	Query  url.Values           // query parameters to add (the token scheme)
}

// Sign signs body the way a sender of cfg.Scheme would, with secret, message id msgID (used by the
// schemes that carry one) and time ts. It is what `avatarbus trigger`, outbound routes and tests use;
// a request built from its result passes New(cfg).Verify with the same secret. It returns an error
// wrapping ErrConfig for a scheme that cannot sign (none) or an invalid cfg.
func Sign(cfg Config, secret, msgID string, ts time.Time, body []byte) (Signed, error) {
	s := Signed{Header: textproto.MIMEHeader{}, Query: url.Values{}}
	unix := strconv.FormatInt(ts.Unix(), 10)
	switch cfg.Scheme {
	case swScheme:
		sig, err := SignStandardWebhooks(secret, msgID, ts, body)
		if err != nil {
			return s, err
		}
		s.Header.Set("Webhook-Id", msgID)
		s.Header.Set("Webhook-Timestamp", unix)
		s.Header.Set("Webhook-Signature", sig)
	case elScheme:
		s.Header.Set("Elevenlabs-Signature", SignElevenLabs(secret, ts, body))
	case synScheme:
		s.Header.Set("Synthesia-Signature", SignSynthesia(secret, ts, body))
		s.Header.Set("Synthesia-Timestamp", unix)
	case hmacScheme:
		sig, err := SignHMAC(cfg, secret, msgID, ts, body)
		if err != nil {
			return s, err
		}
		p, _ := hmacParamsOf(cfg) // valid: SignHMAC checked it
		s.Header.Set(p.header, sig)
		if cfg.TimestampHeader != "" {
			s.Header.Set(cfg.TimestampHeader, unix)
		}
		if cfg.IDHeader != "" {
			s.Header.Set(cfg.IDHeader, msgID)
		}
	case tokenScheme:
		switch {
		case cfg.Header != "":
			s.Header.Set(cfg.Header, secret)
		case cfg.Param != "":
			s.Query.Set(cfg.Param, secret)
		default:
			s.Query.Set(tokenDefaultParam, secret)
		}
	default:
		return s, fmt.Errorf("%w: scheme %q cannot sign", ErrConfig, cfg.Scheme)
	}
	return s, nil
}
