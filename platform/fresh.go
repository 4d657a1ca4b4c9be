package platform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// freshIDKeys are the body fields the presets' id rules read: the event id (ev.ID, the Nats-Msg-Id)
// and the resource id (the subject) come from these and nothing else of the body. A preset whose
// id rule reads a new field adds it here; TestSampleWithFreshIDs fails for a sample whose id does
// not change.
var freshIDKeys = func() map[string]bool {
	keys := map[string]bool{}
	for _, k := range heygenResourceKeys { // heygenID, after event_id
		keys[k] = true
	}
	for _, k := range []string{
		"event_id",      // heygen (top level and event_data)
		"id", "talk_id", // did; synthesia and generic (data.id)
		"voice_id", "conversation_id", // elevenlabs, tavus
		"request_id", "transcription_id", // elevenlabs speech to text
		"video_id", "replica_id", // tavus
	} {
		keys[k] = true
	}
	return keys
}()

// WithFreshIDs returns the sample as a new occurrence of the same event: suffix is appended to
// every non-empty string value of an id field (freshIDKeys, at any depth), so the event id the
// platform's normalizer derives, and the resource id, are new while the rest of the body, bytes and
// key order included, stays as it is. `avatarbus trigger` uses it so that a second run is not a
// duplicate. suffix must need no JSON escaping (letters, digits, '-', '_').
func (s Sample) WithFreshIDs(suffix string) (Sample, error) {
	for _, r := range suffix {
		if !(r == '-' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')) {
			return s, fmt.Errorf("suffix %q: want letters, digits, '-' and '_' only", suffix)
		}
	}
	if !json.Valid(s.Body) {
		return s, errors.New("the sample is not JSON")
	}
	// Walk the tokens, noting where each id value's closing quote is, then insert the suffix there:
	// the body is not re-encoded.
	type frame struct{ object, wantKey bool }
	var (
		stack []frame
		key   string
		at    []int64
	)
	dec := json.NewDecoder(bytes.NewReader(s.Body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return s, fmt.Errorf("the sample is not JSON: %w", err)
		}
		top := len(stack) - 1
		inObject := top >= 0 && stack[top].object
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				if inObject {
					stack[top].wantKey = true // the object's next token is a key
				}
				stack = append(stack, frame{object: d == '{', wantKey: d == '{'})
			default:
				stack = stack[:top]
			}
			continue
		}
		if inObject && stack[top].wantKey {
			key, _ = tok.(string)
			stack[top].wantKey = false
			continue
		}
		if v, ok := tok.(string); ok && inObject && v != "" && freshIDKeys[key] {
			at = append(at, dec.InputOffset()-1) // the closing quote
		}
		if inObject {
			stack[top].wantKey = true
		}
	}
	body := make([]byte, 0, len(s.Body)+len(at)*len(suffix))
	prev := int64(0)
	for _, i := range at {
		body = append(append(body, s.Body[prev:i]...), suffix...)
		prev = i
	}
	s.Body = append(body, s.Body[prev:]...)
	return s, nil
}
