package verify

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"sync"
)

// sumHMAC returns the HMAC of prefix followed by body. Every scheme signs
// some short prefix (an id, a timestamp, dots) followed by the raw body;
// writing both into the MAC avoids copying the body. The signing helpers
// use it; verifiers use a macKey.
func sumHMAC(newHash func() hash.Hash, key, prefix, body []byte) []byte {
	m := hmac.New(newHash, key)
	m.Write(prefix)
	m.Write(body)
	return m.Sum(nil)
}

// macKey is one secret's HMAC, keyed once. hmac.New costs two hash states,
// the keyed pads and their allocations on every request; a pooled HMAC is
// Reset to its keyed state instead. The pool belongs to the verifier built
// from the secret: a reload builds new verifiers, so a rotated secret never
// reaches a pooled HMAC of the old one.
type macKey struct{ pool sync.Pool }

// macState is what one verification borrows: the keyed HMAC, room for the
// signed prefix and for the sum, so that a match allocates nothing.
type macState struct {
	mac    hash.Hash
	prefix []byte
	sum    [sha512.Size]byte
}

// newMACKeys returns the pooled HMACs of keys under newHash.
func newMACKeys(newHash func() hash.Hash, keys [][]byte) []*macKey {
	ks := make([]*macKey, len(keys))
	for i, key := range keys {
		ks[i] = &macKey{pool: sync.Pool{New: func() any {
			return &macState{mac: hmac.New(newHash, key), prefix: make([]byte, 0, 64)}
		}}}
	}
	return ks
}

// anyMACMatches reports whether any of macs equals the HMAC of the signed
// prefix and body under any of keys. The prefix is parts each followed by a
// dot ("id.timestamp."), nothing without parts, as every scheme signs it.
// Each key's MAC is computed once, whatever the number of candidate
// signatures, and compared in constant time.
func anyMACMatches(keys []*macKey, body []byte, macs [][]byte, parts ...string) bool {
	for _, k := range keys {
		st := k.pool.Get().(*macState)
		st.mac.Reset()
		st.prefix = st.prefix[:0]
		for _, p := range parts {
			st.prefix = append(append(st.prefix, p...), '.')
		}
		st.mac.Write(st.prefix)
		st.mac.Write(body)
		want := st.mac.Sum(st.sum[:0])
		ok := false
		for _, mac := range macs {
			if hmac.Equal(want, mac) {
				ok = true
				break
			}
		}
		k.pool.Put(st)
		if ok {
			return true
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
