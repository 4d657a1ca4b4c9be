package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strings"
)

// MinSecretBytes is the shortest verification secret avatarbus does not warn about: 16 bytes is
// 128 bits when random; anything shorter can be guessed offline from one signed request.
const MinSecretBytes = 16

// yamlLiterals lists the secret-bearing keys of c that hold a literal value (not a "${NAME}" or
// "@path" reference), by dotted path with the value as it resolves, taken right after the file is
// decoded.
func yamlLiterals(c *Config) map[string]string {
	out := make(map[string]string)
	for _, s := range c.secretSlots() {
		switch v := *s.p; {
		case strings.HasPrefix(v, "@@"):
			out[s.path] = v[1:] // as it resolves
		case v != "" && !isSecretRef(v):
			out[s.path] = v
		}
	}
	return out
}

// hardeningWarnings are the start-up warnings about exposure: short secrets, literal secrets in
// the file (still there after the environment and flags: fromFile), secret files other users can
// read, and listeners beyond loopback. They name keys and paths, never a secret.
func hardeningWarnings(c *Config, fromFile map[string]string) []string {
	var w []string
	slots := c.secretSlots()
	for _, s := range slots {
		if v, ok := fromFile[s.path]; ok && v == *s.p {
			w = append(w, fmt.Sprintf(`%s: a literal secret is written in the configuration file; use "${ENV_VAR}" or "@/path/to/file" so the file can be shared`, s.path))
		}
	}
	for _, s := range slots {
		if !strings.Contains(s.path, ".secrets[") && !strings.HasPrefix(s.path, "routes[") {
			continue // API keys and NATS credentials are issued by others, whatever their length
		}
		if n := secretBytes(*s.p); *s.p != "" && n < MinSecretBytes {
			w = append(w, fmt.Sprintf("%s: the secret is %d bytes, shorter than %d; a short secret can be guessed from one signed request", s.path, n, MinSecretBytes))
		}
	}
	for _, s := range slots {
		ref := c.refs[s.path].ref
		if !strings.HasPrefix(ref, "@") || strings.HasPrefix(ref, "@@") {
			continue
		}
		if st, err := os.Stat(ref[1:]); err == nil && st.Mode().Perm()&0o044 != 0 {
			w = append(w, fmt.Sprintf("%s: secret file %s is readable by %s (mode %04o); chmod 600 it", s.path, ref[1:], readers(st.Mode().Perm()), st.Mode().Perm()))
		}
	}
	if !loopback(c.AdminListen) {
		w = append(w, fmt.Sprintf("admin_listen %q is reachable beyond this host; metrics and health need no credentials (the admin API and console need admin_token), keep it on 127.0.0.1 or behind a firewall", c.AdminListen))
	}
	if c.NATS.URL == "" && !loopback(c.NATS.Embedded.Listen) {
		w = append(w, fmt.Sprintf("nats.embedded.listen %q is reachable beyond this host; every client that reaches it can read the stream", c.NATS.Embedded.Listen))
	}
	return w
}

// secretBytes is the key length of a secret: a Standard Webhooks "whsec_" secret is base64 of its
// key; any other secret is used as its bytes.
func secretBytes(v string) int {
	if b64, ok := strings.CutPrefix(v, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return len(key)
		}
	}
	return len(v)
}

// readers names who besides the owner can read a file of mode m.
func readers(m os.FileMode) string {
	switch {
	case m&0o040 != 0 && m&0o004 != 0:
		return "group and others"
	case m&0o040 != 0:
		return "group"
	}
	return "others"
}

// loopback reports whether listen address addr ("host:port") accepts only local connections: an
// empty host or 0.0.0.0 / :: listens everywhere.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// AdminAPIEnabled reports whether serve mounts the JSON admin API: always with an admin_token, and
// without one only on a loopback admin_listen. Validation refuses the other case; this guards
// configurations built in code that skip it, so that an open API is never reachable from
// another host.
func (c *Config) AdminAPIEnabled() bool { return c.AdminToken != "" || loopback(c.AdminListen) }
