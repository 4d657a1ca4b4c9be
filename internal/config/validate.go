package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/avatarbus/avatarbus/internal/redact"

	"github.com/avatarbus/avatarbus/verify"
)

// ErrInvalid is wrapped by every error about the configuration's content.
var ErrInvalid = errors.New("invalid configuration")

// invalid wraps problems (one per line) in an error wrapping ErrInvalid.
// The problems stay reachable through errors.Is/As.
func invalid(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	n := "1 problem"
	if len(problems) > 1 {
		n = fmt.Sprintf("%d problems", len(problems))
	}
	return fmt.Errorf("%w (%s):\n%w", ErrInvalid, n, errors.Join(problems...))
}

// Allowed values, in the order messages list them.
var (
	logLevels  = []string{"trace", "debug", "info", "warn", "error"}
	logFormats = []string{"json", "console"}
	algorithms = []string{"sha256", "sha512"}
	encodings  = []string{"hex", "base64"}
	contents   = []string{"body", "timestamp.body", "id.timestamp.body"}
)

var (
	// SourceNamePattern is what a source name must match.
	SourceNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	streamNameRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// problem is one configuration problem.
type problem struct {
	path string // dotted path of the key concerned; "" if none in particular
	msg  string // the whole message, starting with where the problem is
}

func (p *problem) Error() string { return p.msg }

// checker collects problems.
type checker struct{ errs []error }

func (k *checker) add(path, format string, args ...any) {
	k.errs = append(k.errs, &problem{path: path, msg: path + ": " + fmt.Sprintf(format, args...)})
}

// oneOf checks that v is one of allowed (or empty, if emptyOK).
func (k *checker) oneOf(path, v string, emptyOK bool, allowed []string) {
	if v == "" && emptyOK {
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	if v == "" {
		k.add(path, "required; one of %s", strings.Join(allowed, ", "))
		return
	}
	k.add(path, "%q is not one of %s", v, strings.Join(allowed, ", "))
}

// hostPort checks a listen address.
func (k *checker) hostPort(path, addr string) {
	if addr == "" {
		k.add(path, "required (host:port, e.g. \"127.0.0.1:8080\" or \":8080\")")
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			k.add(path, "%s %q", ae.Err, addr)
		} else {
			k.add(path, "%q is not host:port", addr)
		}
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		k.add(path, "missing port in address %q (%q is not a port number 0-65535)", addr, port)
	}
}

// httpURL checks an absolute http(s) URL.
func (k *checker) httpURL(path, s string) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		k.add(path, "%q must be an absolute http or https URL", redact.URLs(s))
	}
}

// Validate checks c and returns nil, or an error wrapping ErrInvalid that
// lists every problem, each prefixed with its dotted path. It does not
// apply defaults; Load calls ApplyDefaults first.
func (c *Config) Validate() error {
	return invalid(c.problems())
}

// problems returns every problem in c.
func (c *Config) problems() []error {
	var k checker
	k.hostPort("listen", c.Listen)
	k.hostPort("admin_listen", c.AdminListen)
	c.checkAdminToken(&k)
	c.checkNATS(&k)
	c.checkStream(&k)
	c.checkSources(&k)
	k.oneOf("log.level", c.Log.Level, false, logLevels)
	k.oneOf("log.format", c.Log.Format, true, logFormats)
	c.checkRoutes(&k)
	c.checkQuarantine(&k)
	c.checkHTTP(&k)
	c.checkTracing(&k)
	return k.errs
}

// checkAdminToken refuses an admin API open to other hosts (DESIGN §12): on a non-loopback
// admin_listen the API and console could redrive, replay and read every payload, so a token is
// required there. On loopback an empty token leaves them open to local users only.
func (c *Config) checkAdminToken(k *checker) {
	if c.AdminToken != "" || c.AdminListen == "" || loopback(c.AdminListen) {
		return
	}
	if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
		return // hostPort reported it
	}
	k.add("admin_listen", "%q is reachable beyond this host and admin_token is empty: the admin API and console (/api/v1, /ui) would be open to anyone who reaches it; set admin_token to a secret reference (\"${ADMIN_TOKEN}\" or \"@/path/to/file\") or listen on 127.0.0.1", c.AdminListen)
}

// checkTracing checks the tracing section, also when tracing is off, so that turning it on later
// does not reveal an old mistake.
func (c *Config) checkTracing(k *checker) {
	t := &c.Tracing
	k.oneOf("tracing.protocol", t.Protocol, true, []string{TracingGRPC, TracingHTTP}) // "" is grpc
	if math.IsNaN(t.SampleRatio) || t.SampleRatio < 0 || t.SampleRatio > 1 {
		k.add("tracing.sample_ratio", "%v must be between 0 and 1", t.SampleRatio)
	}
	if e := t.Endpoint; e != "" {
		if strings.Contains(e, "://") {
			if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				k.add("tracing.endpoint", "%q must be host:port or an absolute http or https URL", redact.URLs(e))
			}
		} else if _, _, err := net.SplitHostPort(e); err != nil {
			k.add("tracing.endpoint", "%q must be host:port or an absolute http or https URL", redact.URLs(e))
		}
	}
}

func (c *Config) checkNATS(k *checker) {
	n := &c.NATS
	for i, u := range strings.Split(n.URL, ",") {
		u = strings.TrimSpace(u)
		if n.URL == "" {
			break
		}
		p := "nats.url"
		if strings.Contains(n.URL, ",") {
			p = fmt.Sprintf("nats.url (item %d)", i)
		}
		if u == "" {
			k.add(p, "empty URL")
			continue
		}
		s := u
		if !strings.Contains(s, "://") {
			s = "nats://" + s
		}
		pu, err := url.Parse(s)
		switch {
		case err != nil:
			k.add(p, "%q is not a URL", redact.URLs(u))
		case pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss":
			k.add(p, "%q: scheme must be nats, tls, ws or wss", redact.URLs(u))
		case pu.Host == "":
			k.add(p, "%q has no host", redact.URLs(u))
		}
	}
	e := &n.Embedded
	k.hostPort("nats.embedded.listen", e.Listen)
	if e.StoreDir == "" {
		k.add("nats.embedded.store_dir", "required")
	}
	if e.SyncInterval != "always" {
		if d, err := time.ParseDuration(e.SyncInterval); err != nil || d <= 0 {
			k.add("nats.embedded.sync_interval", "%q must be \"always\" or a positive duration such as \"1s\"", e.SyncInterval)
		}
	}
	if e.ServerName == "" {
		k.add("nats.embedded.server_name", "required")
	} else if strings.ContainsFunc(e.ServerName, isSpace) {
		k.add("nats.embedded.server_name", "%q must not contain whitespace", e.ServerName)
	}
	if (e.AvatarbusPassword == "") != (e.ConsumerPassword == "") {
		k.add("nats.embedded", "avatarbus_password and consumer_password must be set together")
	} else if e.AvatarbusPassword != "" && e.AvatarbusPassword == e.ConsumerPassword {
		k.add("nats.embedded", "avatarbus_password and consumer_password must differ")
	}
	for _, pw := range []struct{ key, v string }{{"avatarbus_password", e.AvatarbusPassword}, {"consumer_password", e.ConsumerPassword}} {
		if strings.HasPrefix(pw.v, "$2") { // nats-server would take it for a bcrypt hash
			k.add("nats.embedded."+pw.key, "must not start with \"$2\"")
		}
	}
	if (n.User == "") != (n.Password == "") {
		k.add("nats", "user and password must be set together")
	}
	methods := 0
	for _, set := range []bool{n.Creds != "", n.User != "" || n.Password != "", n.Token != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		k.add("nats", "creds, user/password and token are mutually exclusive")
	}
	if (n.TLS.Cert == "") != (n.TLS.Key == "") {
		k.add("nats.tls", "cert and key must be set together")
	}
	switch n.PublishMode {
	case "", PublishAsync, PublishBatch:
	default:
		k.add("nats.publish_mode", "%q must be %q or %q", n.PublishMode, PublishAsync, PublishBatch)
	}
	switch {
	case n.PublishTimeout <= 0:
		k.add("nats.publish_timeout", "must be > 0 (got %s)", n.PublishTimeout)
	case n.PublishTimeout > MaxPublishTimeout:
		k.add("nats.publish_timeout", "%s exceeds the limit of %s", n.PublishTimeout, MaxPublishTimeout)
	}
	if n.PingInterval < MinPingInterval || n.PingInterval > MaxPingInterval {
		k.add("nats.ping_interval", "must be between %s and %s (got %s)", MinPingInterval, MaxPingInterval, n.PingInterval)
	}
	if n.StorageFailureExit != 0 && n.StorageFailureExit < MinStorageFailureExit {
		k.add("nats.storage_failure_exit", "must be 0 (never exit) or >= %s (got %s)", MinStorageFailureExit, n.StorageFailureExit)
	}
}

func (c *Config) checkStream(k *checker) {
	s := &c.Stream
	if !streamNameRE.MatchString(s.Name) {
		k.add("stream.name", "%q must match [A-Za-z0-9_-]+", s.Name)
	}
	if s.SubjectPrefix == "" {
		k.add("stream.subject_prefix", "required")
	} else if strings.ContainsAny(s.SubjectPrefix, ".*>") || strings.ContainsFunc(s.SubjectPrefix, isSpace) {
		k.add("stream.subject_prefix", "%q must be one subject token: no '.', '*', '>' or whitespace", s.SubjectPrefix)
	}
	if s.Replicas < 1 || s.Replicas > 5 {
		k.add("stream.replicas", "%d is not in 1..5", s.Replicas)
	} else if s.Replicas > 1 && c.NATS.URL == "" {
		k.add("stream.replicas", "%d needs a NATS cluster (nats.url); the embedded server is a single node", s.Replicas)
	}
	if s.MaxAge <= 0 {
		k.add("stream.max_age", "must be > 0 (got %s)", s.MaxAge)
	}
	switch {
	case s.DuplicateWindow <= 0:
		k.add("stream.duplicate_window", "must be > 0 (got %s)", s.DuplicateWindow)
	case s.MaxAge > 0 && s.DuplicateWindow > s.MaxAge:
		k.add("stream.duplicate_window", "%s exceeds stream.max_age %s", s.DuplicateWindow, s.MaxAge)
	}
	if s.MaxBytes < 0 {
		k.add("stream.max_bytes", "must be >= 0 (got %d)", int64(s.MaxBytes))
	}
	if s.AttemptsMaxAge <= 0 {
		k.add("stream.attempts_max_age", "must be > 0 (got %s)", s.AttemptsMaxAge)
	}
}

func (c *Config) checkSources(k *checker) {
	seen := make(map[string]int)
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "":
			k.add(p+".name", "required")
		case !SourceNamePattern.MatchString(s.Name):
			k.add(p+".name", "%q must match %s", s.Name, SourceNamePattern)
		}
		if s.Name != "" {
			if j, dup := seen[s.Name]; dup {
				k.add(p+".name", "duplicate of sources[%d] (%q)", j, s.Name)
			} else {
				seen[s.Name] = i
			}
		}
		if s.Platform == "" {
			k.add(p+".platform", "required")
		}

		v := &s.Verify
		k.oneOf(p+".verify.scheme", v.Scheme, true, verify.Schemes())
		k.oneOf(p+".verify.algorithm", v.Algorithm, true, algorithms)
		k.oneOf(p+".verify.encoding", v.Encoding, true, encodings)
		k.oneOf(p+".verify.content", v.Content, true, contents)
		for _, h := range []struct{ key, v string }{
			{"header", v.Header}, {"timestamp_header", v.TimestampHeader}, {"id_header", v.IDHeader},
		} {
			if h.v != "" && !isToken(h.v) {
				k.add(p+".verify."+h.key, "%q is not a valid HTTP header name", h.v)
			}
		}

		if v.Scheme != "none" && len(s.Secrets) == 0 {
			k.add(p+".secrets", "a source needs at least one secret unless verify.scheme is none")
		}
		for j, sec := range s.Secrets {
			if strings.TrimSpace(sec) == "" {
				k.add(fmt.Sprintf("%s.secrets[%d]", p, j), "empty secret")
			}
		}

		if s.Tolerance < 0 {
			k.add(p+".tolerance", "must be >= 0 (got %s)", s.Tolerance)
		} else if s.Tolerance > 0 && c.Stream.DuplicateWindow > 0 && c.Stream.DuplicateWindow < s.Tolerance {
			k.add("stream.duplicate_window", "%s is shorter than %s.tolerance %s", c.Stream.DuplicateWindow, p, s.Tolerance)
		}
		for _, sz := range []struct {
			key string
			v   Size
		}{{"max_body", s.MaxBody}, {"offload_above", s.OffloadAbove}} {
			switch {
			case sz.v < 0:
				k.add(p+"."+sz.key, "must be >= 0 (got %d); 0 is the platform's default", int64(sz.v))
			case sz.v > MaxMaxBody:
				k.add(p+"."+sz.key, "%s exceeds the limit of %s", sz.v, MaxMaxBody)
			}
		}

		events := make([]string, 0, len(s.Events))
		for name := range s.Events {
			events = append(events, name)
		}
		sort.Strings(events)
		for _, name := range events {
			typ := s.Events[name]
			if strings.TrimSpace(name) == "" {
				k.add(p+".events", "empty platform event name (mapped to %q)", typ)
				continue
			}
			if !strings.HasPrefix(typ, "avatar.") || len(typ) == len("avatar.") {
				k.add(fmt.Sprintf("%s.events[%q]", p, name), "%q must start with \"avatar.\"", typ)
			}
		}

		if rl := s.RateLimit; rl != nil {
			if !(rl.RPS > 0) || math.IsInf(rl.RPS, 0) {
				k.add(p+".rate_limit.rps", "must be > 0 (got %v)", rl.RPS)
			}
			if rl.Burst < 1 {
				k.add(p+".rate_limit.burst", "must be >= 1 (got %d): the most requests accepted at once, e.g. 2 × rps", rl.Burst)
			}
			if u := rl.Unverified; u.RPS < 0 || math.IsInf(u.RPS, 0) || math.IsNaN(u.RPS) {
				k.add(p+".rate_limit.unverified.rps", "must be > 0, or 0 for rps/4 (got %v)", u.RPS)
			}
			if rl.Unverified.Burst < 0 {
				k.add(p+".rate_limit.unverified.burst", "must be >= 1, or 0 for burst/4 (got %d)", rl.Unverified.Burst)
			}
		}
		if s.Confirm != "" && s.Confirm != "fetch" {
			k.add(p+".confirm", "%q must be \"\" or \"fetch\"", s.Confirm)
		}
		if s.Confirm == "fetch" && (s.API == nil || strings.TrimSpace(s.API.Key) == "") {
			k.add(p+".api.key", "required with confirm: fetch: the platform's API key, e.g. \"${DID_API_KEY}\" or \"@/run/secrets/did-api-key\"")
		}
		if s.API != nil && s.API.Base != "" {
			k.httpURL(p+".api.base", s.API.Base)
		}
		checkPoll(k, p, s)
	}
}

func (c *Config) checkRoutes(k *checker) {
	seen := make(map[string]int)
	for i := range c.Routes {
		r := &c.Routes[i]
		p := fmt.Sprintf("routes[%d]", i)
		switch {
		case r.Name == "":
			k.add(p+".name", "required")
		case strings.ContainsAny(r.Name, `.*>/\`) || strings.ContainsFunc(r.Name, isSpace):
			k.add(p+".name", "%q must not contain '.', '*', '>', '/', '\\' or whitespace", r.Name)
		}
		if r.Name != "" {
			if j, dup := seen[r.Name]; dup {
				k.add(p+".name", "duplicate of routes[%d] (%q)", j, r.Name)
			} else {
				seen[r.Name] = i
			}
		}
		if r.Filter == "" {
			k.add(p+".filter", "required")
		} else if msg := checkSubjectFilter(r.Filter); msg != "" {
			k.add(p+".filter", "%q %s", r.Filter, msg)
		}
		if r.URL == "" {
			k.add(p+".url", "required")
		} else {
			k.httpURL(p+".url", r.URL)
		}
		if r.Timeout <= 0 {
			k.add(p+".timeout", "must be > 0 (got %s)", r.Timeout)
		}
		for j, b := range r.Backoff {
			if b <= 0 {
				k.add(fmt.Sprintf("%s.backoff[%d]", p, j), "must be > 0 (got %s)", b)
			}
		}
		if r.MaxDeliveries < 1 {
			k.add(p+".max_deliveries", "must be >= 1 (got %d)", r.MaxDeliveries)
		}
	}
}

func (c *Config) checkQuarantine(k *checker) {
	q := &c.Quarantine
	if !q.Enabled {
		return // the other keys are not used
	}
	name := c.QuarantineStream()
	switch {
	case !streamNameRE.MatchString(name):
		k.add("quarantine.stream", "%q must match [A-Za-z0-9_-]+", name)
	case name == c.Stream.Name:
		k.add("quarantine.stream", "%q is stream.name; the quarantine needs a stream of its own", name)
	}
	if q.MaxAge <= 0 {
		k.add("quarantine.max_age", "must be > 0 (got %s)", q.MaxAge)
	}
	if q.MaxBytes <= 0 {
		k.add("quarantine.max_bytes", "must be > 0 (got %d): the quarantine keeps what strangers send, so it is always bounded", int64(q.MaxBytes))
	}
	switch r := q.Replicas; {
	case r < 0 || r > 5:
		k.add("quarantine.replicas", "%d is not in 0..5 (0 follows stream.replicas)", r)
	case r > 1 && c.NATS.URL == "":
		k.add("quarantine.replicas", "%d needs a NATS cluster (nats.url); the embedded server is a single node", r)
	}
	// The quarantine binds quarantine.<prefix>.>; a prefix of "quarantine" would make the event
	// stream's subjects (quarantine.>) overlap it, which JetStream refuses.
	if c.Stream.SubjectPrefix == "quarantine" {
		k.add("stream.subject_prefix", "%q collides with the quarantine's subjects (quarantine.%s.>); pick another prefix or set quarantine.enabled: false", c.Stream.SubjectPrefix, c.Stream.SubjectPrefix)
	}
}

func (c *Config) checkHTTP(k *checker) {
	h := &c.HTTP
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"read_header_timeout", h.ReadHeaderTimeout}, {"read_timeout", h.ReadTimeout},
		{"write_timeout", h.WriteTimeout}, {"idle_timeout", h.IdleTimeout},
	} {
		if d.v <= 0 {
			k.add("http."+d.key, "must be > 0 (got %s)", d.v)
		}
	}
	if h.ReadHeaderTimeout > 0 && h.ReadTimeout > 0 && h.ReadHeaderTimeout > h.ReadTimeout {
		k.add("http.read_header_timeout", "%s exceeds http.read_timeout %s, which also covers the headers", h.ReadHeaderTimeout, h.ReadTimeout)
	}
	// The write deadline runs while the handler waits for JetStream's ack: a shorter one would cut
	// the answer of an event that is stored.
	if h.WriteTimeout > 0 && c.NATS.PublishTimeout > 0 && h.WriteTimeout <= c.NATS.PublishTimeout {
		k.add("http.write_timeout", "%s must exceed nats.publish_timeout %s, or answers of stored events are cut", h.WriteTimeout, c.NATS.PublishTimeout)
	}
	if h.MaxConnections < 0 {
		k.add("http.max_connections", "must be >= 0, 0 deriving it from the file limit (got %d)", h.MaxConnections)
	}
	if h.PressureIdleTimeout <= 0 || (h.IdleTimeout > 0 && h.PressureIdleTimeout > h.IdleTimeout) {
		k.add("http.pressure_idle_timeout", "must be > 0 and <= http.idle_timeout %s (got %s)", h.IdleTimeout, h.PressureIdleTimeout)
	}
	if h.MaxHeaderBytes < MinMaxHeaderBytes || h.MaxHeaderBytes > MaxMaxHeaderBytes {
		k.add("http.max_header_bytes", "%s is not in %s..%s", h.MaxHeaderBytes, MinMaxHeaderBytes, MaxMaxHeaderBytes)
	}
	if h.MaxBodyBytesInFlight != 0 && h.MaxBodyBytesInFlight < MinMaxBodyBytesInFlight {
		k.add("http.max_body_bytes_in_flight", "%s is below %s (0 sizes it for the machine)", h.MaxBodyBytesInFlight, MinMaxBodyBytesInFlight)
	}
	if h.BodyWait <= 0 || h.BodyWait > MaxBodyWait {
		k.add("http.body_wait", "%s is not in (0s, %s]: a request waits this long for room before its 503", h.BodyWait, MaxBodyWait)
	}
}

// checkSubjectFilter checks NATS subject-filter syntax; "" means fine.
func checkSubjectFilter(f string) string {
	if strings.ContainsFunc(f, isSpace) {
		return "must not contain whitespace"
	}
	toks := strings.Split(f, ".")
	for i, t := range toks {
		switch {
		case t == "":
			return "has an empty token"
		case t == ">" && i != len(toks)-1:
			return "may use '>' only as the last token"
		case t != "*" && t != ">" && strings.ContainsAny(t, "*>"):
			return "may use '*' and '>' only as whole tokens"
		}
	}
	return ""
}

// isSpace reports whether r is whitespace (including control characters).
func isSpace(r rune) bool {
	return r <= ' ' || r == 0x7f || r == 0x85 || r == 0xa0 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 || r == 0x3000
}

// isToken reports whether s is an HTTP token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// Warnings lists settings that are valid but risky: sources without
// verification and TLS without certificate verification.
func (c *Config) Warnings() []string {
	var w []string
	for i, s := range c.Sources {
		if s.Verify.Scheme == "none" {
			w = append(w, fmt.Sprintf("sources[%d] (%s): verification is off (verify.scheme: none); anyone can post events", i, s.Name))
		}
	}
	if c.NATS.URL == "" && !c.NATS.Embedded.Auth {
		w = append(w, "nats.embedded.auth: false: any process that reaches nats.embedded.listen can publish forged events or purge the stream")
	}
	if c.NATS.TLS.InsecureSkipVerify {
		w = append(w, "nats.tls.insecure_skip_verify: the NATS server's certificate is not verified")
	}
	return append(w, pollWarnings(c)...)
}
