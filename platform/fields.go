package platform

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// fields is a JSON object read leniently: platforms disagree with their own docs about field names
// and types, so a normalizer asks for the first of several names and takes what it can read. A field
// of an unexpected type is treated as absent rather than failing the whole payload.
type fields map[string]json.RawMessage

// parseObject reads b as a JSON object. ok is false when b is not one.
func parseObject(b []byte) (fields, bool) {
	var f fields
	if err := json.Unmarshal(b, &f); err != nil || f == nil {
		return nil, false
	}
	return f, true
}

// object returns the nested object under key, or nil.
func (f fields) object(key string) fields {
	raw, ok := f[key]
	if !ok {
		return nil
	}
	o, _ := parseObject(raw)
	return o
}

// str returns the first of keys that holds a non-empty string (numbers are accepted and kept in
// their JSON spelling, since some platforms send ids as numbers).
func (f fields) str(keys ...string) string {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || len(raw) == 0 {
			continue
		}
		switch raw[0] {
		case '"':
			var s string
			if json.Unmarshal(raw, &s) == nil && s != "" {
				return s
			}
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			var n json.Number
			if json.Unmarshal(raw, &n) == nil {
				return n.String()
			}
		}
	}
	return ""
}

// number returns the first of keys that holds a finite number (or a string spelling one). JSON
// null is no number, and neither are "NaN" or "Inf": an envelope could not carry them.
func (f fields) number(keys ...string) (float64, bool) {
	for _, k := range keys {
		raw, ok := f[k]
		if !ok || string(raw) == "null" {
			continue
		}
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				continue
			}
			var err error
			if n, err = strconv.ParseFloat(strings.TrimSpace(s), 64); err != nil {
				continue
			}
		}
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return n, true
		}
	}
	return 0, false
}

// duration returns key as a number of seconds (finite, not negative), or nil.
func (f fields) duration(key string) *float64 {
	n, ok := f.number(key)
	if !ok || n < 0 {
		return nil
	}
	return &n
}

// unixTime returns the first of keys holding Unix seconds as a time, or the zero time.
func (f fields) unixTime(keys ...string) time.Time {
	n, ok := f.number(keys...)
	if !ok || n <= 0 || n > 1e11 {
		return time.Time{}
	}
	return representable(time.Unix(int64(n), 0).UTC())
}

// isoTime returns the first of keys holding an RFC 3339 time (or one of the zone-less layouts some
// platforms send, read as UTC), or the zero time.
func (f fields) isoTime(keys ...string) time.Time {
	for _, k := range keys {
		s := f.str(k)
		if s == "" {
			continue
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return representable(t.UTC())
			}
		}
	}
	return time.Time{}
}

// representable returns t when RFC 3339 can write it (years 1 to 9999, which a far zone offset can
// push t out of), else the zero time, so the normalizer falls back to the receive time.
func representable(t time.Time) time.Time {
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}
	}
	return t
}
