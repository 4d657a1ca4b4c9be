package platform

import (
	"bytes"
	"encoding/json"
)

// correlation reads the caller's own correlation value under key, echoed by the platform (D-ID
// user_data, ElevenLabs webhook_metadata): a string or number as is, an object or array as compact
// JSON, so a structured value still correlates and the same value always gives the same text.
// Anything else (null, booleans, {}, [], absent) is no correlation id.
func correlation(f fields, key string) string {
	if s := f.str(key); s != "" {
		return s
	}
	raw := f[key]
	if len(raw) == 0 || (raw[0] != '{' && raw[0] != '[') {
		return ""
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() == 2 {
		return ""
	}
	return b.String()
}
