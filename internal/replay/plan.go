package replay

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/avatarbus/avatarbus/envelope"
	"github.com/avatarbus/avatarbus/subjects"
)

// The choices a replay or a tail is made of, apart from how they are asked for (flags): a
// selection from a type given short, a time given as a duration ago, a republish prefix that
// must keep out of the live stream.

// ErrTime is wrapped by ParseTimeOrAgo's errors.
var ErrTime = errors.New("want a positive duration ago (30m, 2h, 7d) or an RFC 3339 time")

// ErrLivePrefix is wrapped by CheckSubjectPrefix's error for a prefix under the live prefix.
var ErrLivePrefix = errors.New("the live stream would store the replay as new events")

// ParseTimeOrAgo reads an RFC 3339 time, or a duration before now: a Go duration (90s, 30m, 2h)
// or whole days (7d).
func ParseTimeOrAgo(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); err == nil {
			d = time.Duration(n) * 24 * time.Hour
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return time.Time{}, fmt.Errorf("%q: %w", s, ErrTime)
	}
	return now.Add(-d), nil
}

// NewSelection is the validated selection of stream (events under prefix) by a subject filter,
// a platform and a canonical type, each optional. typ may omit the canonical root:
// video.completed stands for avatar.video.completed.
func NewSelection(stream, prefix, filter, platform, typ string) (Selection, error) {
	sel := Selection{Stream: stream, Prefix: prefix, Filter: filter, Platform: platform}
	if typ != "" {
		if !strings.HasPrefix(typ, subjects.CanonicalRoot+".") {
			typ = subjects.CanonicalRoot + "." + typ
		}
		if !envelope.Known(typ) {
			return sel, fmt.Errorf("%w: type %q is not a canonical type (known: %s)", ErrInvalid, typ, strings.Join(envelope.Types(), ", "))
		}
		sel.Type = typ
	}
	if err := sel.Validate(); err != nil {
		return sel, err
	}
	return sel, nil
}

// CheckSubjectPrefix refuses a republish prefix (NewSubjectSink) that is not made of valid
// subject tokens, and, wrapping ErrLivePrefix, one that starts with the live prefix or the
// canonical root: the live stream would store the replay again.
func CheckSubjectPrefix(prefix, live string) error {
	p := strings.TrimSuffix(prefix, ".")
	for _, tok := range strings.Split(p, ".") {
		if err := subjects.ValidToken(tok); err != nil {
			return err
		}
	}
	if first, _, _ := strings.Cut(p, "."); first == live || first == subjects.CanonicalRoot {
		return fmt.Errorf("starts with the live prefix %q: %w", first, ErrLivePrefix)
	}
	return nil
}
