package verify

import (
	"crypto/hmac"
	"encoding/hex"
	"hash"
)

// sumHMAC returns the HMAC of prefix followed by body. Every scheme signs
// some short prefix (an id, a timestamp, dots) followed by the raw body;
// writing both into the MAC avoids copying the body.
func sumHMAC(newHash func() hash.Hash, key, prefix, body []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write(prefix)
	m.Write(body)
	return m.Sum(nil)
}

// anyMACMatches reports whether any of macs equals the HMAC of prefix and
// body under any of keys. Each key's MAC is computed once, whatever the
// number of candidate signatures, and compared in constant time.
func anyMACMatches(newHash func() hash.Hash, keys [][]byte, prefix, body []byte, macs ...[]byte) bool {
	for _, key := range keys {
		want := sumHMAC(newHash, key, prefix, body)
		for _, mac := range macs {
			if hmac.Equal(want, mac) {
				return true
			}
		}
	}
	return false
}

// decodeMAC decodes a MAC of size bytes written in hex (either case) or in
// base64 (standard or URL alphabet, padded or not). The length is checked
// so that a truncated MAC is reported as malformed, not as a mismatch.
func decodeMAC(s string, size int, allowHex, allowBase64 bool) ([]byte, bool) {
	if allowHex && len(s) == hex.EncodedLen(size) {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	if allowBase64 {
		if b, ok := decodeBase64(s); ok && len(b) == size {
			return b, true
		}
	}
	return nil, false
}

// stringKeys returns the secrets as HMAC keys, used as-is (no decoding).
func stringKeys(secrets []string) [][]byte {
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		keys[i] = []byte(s)
	}
	return keys
}
