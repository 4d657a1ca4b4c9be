package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/avatarbus/avatarbus/internal/redact"
)

// redactedValue replaces secrets in Redacted copies.
const redactedValue = "[redacted]"

// secretRef is a secret reference remembered for re-resolution.
type secretRef struct {
	ref      string // as written: "${NAME}", "@path" or "@@literal"
	resolved string // the value it resolved to, to notice later edits
}

// secretSlot is one secret-bearing string of a Config.
type secretSlot struct {
	path string
	p    *string
}

// secretSlots lists every secret-bearing string in c with its dotted path.
func (c *Config) secretSlots() []secretSlot {
	slots := []secretSlot{
		{"admin_token", &c.AdminToken},
		{"nats.password", &c.NATS.Password},
		{"nats.token", &c.NATS.Token},
		{"nats.embedded.avatarbus_password", &c.NATS.Embedded.AvatarbusPassword},
		{"nats.embedded.consumer_password", &c.NATS.Embedded.ConsumerPassword},
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		for j := range s.Secrets {
			slots = append(slots, secretSlot{fmt.Sprintf("sources[%d].secrets[%d]", i, j), &s.Secrets[j]})
		}
		if s.API != nil {
			slots = append(slots, secretSlot{fmt.Sprintf("sources[%d].api.key", i), &s.API.Key})
		}
	}
	for i := range c.Routes {
		slots = append(slots, secretSlot{fmt.Sprintf("routes[%d].secret", i), &c.Routes[i].Secret})
	}
	return slots
}

// envRefRE matches a whole-value environment reference.
var envRefRE = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// isSecretRef reports whether s is a secret reference rather than a literal.
func isSecretRef(s string) bool {
	return strings.HasPrefix(s, "@") || envRefRE.MatchString(s)
}

// SecretRefs returns the secret references resolved into c, by dotted path
// (for example "sources[0].secrets[0]" → "${HEYGEN_WEBHOOK_SECRET}").
// References are not secret; the values they resolve to are.
func (c *Config) SecretRefs() map[string]string {
	out := make(map[string]string, len(c.refs))
	for k, v := range c.refs {
		out[k] = v.ref
	}
	return out
}

// ResolveSecrets resolves the secret references in c: "${NAME}" from env
// (as os.Environ gives it; nil means os.Environ()) and "@path" through
// readFile (nil means os.ReadFile). References resolved before are
// remembered and resolved again, so calling ResolveSecrets on a loaded
// configuration re-reads rotated secrets; a value changed since the last
// resolution is taken as it now is. If any reference cannot be resolved, c
// is left unchanged and the error (wrapping ErrInvalid) names every failing
// key — never a secret value.
func (c *Config) ResolveSecrets(env []string, readFile func(string) ([]byte, error)) error {
	if env == nil {
		env = os.Environ()
	}
	if errs := c.resolveSecrets(envLookup(env), readFile); len(errs) > 0 {
		return invalid(errs)
	}
	return nil
}

// resolveSecrets implements ResolveSecrets and returns one error per
// unresolvable reference.
func (c *Config) resolveSecrets(lookup map[string]string, readFile func(string) ([]byte, error)) []error {
	if readFile == nil {
		readFile = os.ReadFile
	}
	type update struct {
		p *string
		v string
	}
	var (
		updates []update
		errs    []error
		refs    = make(map[string]secretRef)
	)
	for _, s := range c.secretSlots() {
		ref := *s.p
		if old, ok := c.refs[s.path]; ok && old.resolved == *s.p {
			ref = old.ref
		}
		if !isSecretRef(ref) {
			continue
		}
		v, err := resolveRef(ref, lookup, readFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.path, err))
			continue
		}
		refs[s.path] = secretRef{ref: ref, resolved: v}
		updates = append(updates, update{s.p, v})
	}
	if len(errs) > 0 {
		return errs
	}
	for _, u := range updates {
		*u.p = u.v
	}
	c.refs = refs
	return nil
}

// resolveRef resolves one reference. Errors never contain the secret.
func resolveRef(ref string, lookup map[string]string, readFile func(string) ([]byte, error)) (string, error) {
	if m := envRefRE.FindStringSubmatch(ref); m != nil {
		v, ok := lookup[m[1]]
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", m[1])
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set (empty value)", m[1])
		}
		return v, nil
	}
	if strings.HasPrefix(ref, "@@") {
		return ref[1:], nil
	}
	path := ref[1:]
	if strings.TrimSpace(path) == "" {
		return "", fmt.Errorf("secret file reference %q has no path", ref)
	}
	b, err := readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return "", fmt.Errorf("reading secret file %q: %v", path, err)
	}
	v := strings.TrimRight(string(b), " \t\r\n")
	if v == "" {
		return "", fmt.Errorf("secret file %q is empty", path)
	}
	return v, nil
}

// envLookup turns "K=V" entries into a map; the first entry of a name wins,
// as with os.Getenv.
func envLookup(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			continue
		}
		if _, dup := m[k]; !dup {
			m[k] = v
		}
	}
	return m
}

// Redacted returns a deep copy of c with every non-empty secret replaced by
// "[redacted]" and passwords in URLs masked, for --print-config and logs.
func (c *Config) Redacted() Config {
	out := c.Clone()
	out.refs = nil
	for _, s := range out.secretSlots() {
		if *s.p != "" {
			*s.p = redactedValue
		}
	}
	out.NATS.URL = redact.URLs(out.NATS.URL)
	for i := range out.Sources {
		if out.Sources[i].API != nil {
			out.Sources[i].API.Base = redact.URLs(out.Sources[i].API.Base)
		}
	}
	for i := range out.Routes {
		out.Routes[i].URL = redact.URLs(out.Routes[i].URL)
	}
	return out
}
