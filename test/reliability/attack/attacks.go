package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/avatarbus/avatarbus/internal/testbin"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/avatarbus/avatarbus/verify"

	"github.com/avatarbus/avatarbus/subjects"
)

// row is one line of the report.
type row struct {
	attack, expected, observed string
	ok                         bool
}

// attack is one attack of issue 13: it runs within ctx (its time box) and says what it saw.
type attack struct {
	name, expected string
	// needsMain says whether it runs against the shared instance (started once, on demand).
	needsMain bool
	run       func(ctx context.Context, e *env) (observed string, ok bool)
}

// attacks are run in this order; the destructive ones (purge, second serve) last.
var attacks = []attack{
	{"config-warnings", "5 start-up warnings (short secret, literal secret, readable secret file, admin_listen and nats.embedded.listen beyond loopback), naming keys, never a secret", false, configWarnings},
	{"env-secret-comma", "AVATARBUS_SOURCES_1_SECRETS='tok…,en…' is one secret: signed with the whole 200, with \"en…\" alone 401", true, envSecretComma},
	{"quarantine-headers", "401 with ~66 KiB of headers and a 512 KiB body is still quarantined (log has quarantine_seq)", true, quarantineHeaders},
	{"control-chars", "a resource id with control characters: 200, and the stored envelope's subject holds none", true, controlChars},
	{"unsigned-flood", "50/s unsigned on a rate-limited source: the genuine 1/s sender gets zero 429s", true, unsignedFlood},
	{"slow-bodies", "senders each holding a 1 MiB body: RSS growth < 400 MB per 600 senders, a valid request still 200", true, slowBodies},
	{"idle-conns", "idle keep-alive connections beyond `ulimit -n`: storage works again within 5s of them closing", false, idleConns},
	{"nats-forge", "anonymous publish on the NATS port (Nats-Msg-Id of a coming webhook) refused; the genuine webhook is stored, not a duplicate", true, natsForge},
	{"nats-purge", "anonymous purge of the stream on the NATS port refused", true, natsPurge},
	{"second-serve", "a second serve on the same store_dir exits non-zero naming the holder's pid; the first keeps storing", true, secondServe},
}

// env is what attacks share: the binary, a temp dir, secrets and the shared instance.
type env struct {
	bin, dir   string
	acme       string // acme's whsec secret
	comma      [2]string
	main       *instance
	opts       options
	mainEnvErr error
}

// instanceEnv is the environment every instance gets: the secrets its config references.
func (e *env) instanceEnv() []string {
	return []string{
		"ATTACK_ACME_SECRET=" + e.acme,
		"ATTACK_COMMA_PLACEHOLDER=placeholder-secret-0123456789",
		"AVATARBUS_SOURCES_1_SECRETS=" + e.comma[0] + "," + e.comma[1],
	}
}

// client is an HTTP client that never reuses connections between attacks' requests.
var client = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// signedPost POSTs body to source of in, signed with the Standard Webhooks secret, and returns the
// status (0 with the error when no answer came) and the answer's body.
func signedPost(in *instance, source, secret, msgID string, body []byte) (int, []byte, error) {
	return signedPostWith(in, verify.Config{Scheme: "standardwebhooks"}, source, secret, msgID, body, nil)
}

func signedPostWith(in *instance, vc verify.Config, source, secret, msgID string, body []byte, extra http.Header) (int, []byte, error) {
	s, err := verify.Sign(vc, secret, msgID, time.Now(), body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequest(http.MethodPost, "http://"+in.listen+"/webhooks/"+source, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range s.Header {
		req.Header[k] = v
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, b, nil
}

// videoBody is a small Standard Webhooks payload about video id.
func videoBody(id string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "video.done", "timestamp": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{"id": id}})
	return b
}

// configWarnings starts serve with every exposure the config checks warn about, on addresses that
// cannot be bound here (TEST-NET-1), so nothing listens beyond loopback: the warnings are logged
// before the listeners fail.
func configWarnings(ctx context.Context, e *env) (string, bool) {
	dir, err := os.MkdirTemp(e.dir, "warnings-")
	if err != nil {
		return err.Error(), false
	}
	const literal, short, adminToken = "literal-secret-QWERTY-0123456789", "s3cr3t!", "admin-token-ZXCV-9876543210"
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(short+"\n"), 0o644); err == nil {
		err = os.Chmod(file, 0o644)
	}
	if err != nil {
		return err.Error(), false
	}
	yaml := fmt.Sprintf(`listen: "127.0.0.1:0"
admin_listen: "192.0.2.1:9"
admin_token: "${ATTACK_ADMIN_TOKEN}"
nats: {embedded: {listen: "192.0.2.1:4222", store_dir: %q}}
log: {level: info, format: json}
sources:
  - name: lit
    platform: standardwebhooks
    secrets: [%q]
  - name: weak
    platform: synthesia
    secrets: ["@%s"]
`, filepath.Join(dir, "js"), "whsec_"+b64(literal), file)
	cfg := filepath.Join(dir, "avatarbus.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		return err.Error(), false
	}
	cmd := exec.CommandContext(ctx, e.bin, "serve", "--config", cfg)
	// A token, or a non-loopback admin_listen is refused before the warnings are printed.
	cmd.Env, cmd.Dir = append(testbin.Env(), "ATTACK_ADMIN_TOKEN="+adminToken), dir
	out, _ := cmd.CombinedOutput() // exits: nothing can bind 192.0.2.1
	log := string(out)
	checks := []struct{ what, sub string }{
		{"short", "sources[1].secrets[0]: the secret is 7 bytes"},
		{"literal", "sources[0].secrets[0]: a literal secret is written"},
		{"file mode", "sources[1].secrets[0]: secret file " + file + " is readable by group and others"},
		{"admin_listen", `admin_listen \"192.0.2.1:9\" is reachable beyond this host`},
		{"nats.embedded.listen", `nats.embedded.listen \"192.0.2.1:4222\" is reachable beyond this host`},
	}
	var found, missing []string
	for _, c := range checks {
		if strings.Contains(log, c.sub) {
			found = append(found, c.what)
		} else {
			missing = append(missing, c.what)
		}
	}
	leaked := strings.Contains(log, literal) || strings.Contains(log, b64(literal)) || strings.Contains(log, short) || strings.Contains(log, adminToken)
	obs := fmt.Sprintf("%d/5 warned (%s)", len(found), strings.Join(found, ", "))
	if len(missing) > 0 {
		obs += "; missing: " + strings.Join(missing, ", ")
	}
	if leaked {
		obs += "; A SECRET IS IN THE LOG"
	}
	return obs, len(missing) == 0 && !leaked
}

// envSecretComma signs with the whole comma-holding secret, then with its second half alone.
func envSecretComma(ctx context.Context, e *env) (string, bool) {
	vc := verify.Config{Scheme: "synthesia"}
	whole := e.comma[0] + "," + e.comma[1]
	body := videoBody("comma-" + randomID())
	st1, _, err1 := signedPostWith(e.main, vc, "comma", whole, "", body, nil)
	st2, _, err2 := signedPostWith(e.main, vc, "comma", e.comma[1], "", body, nil)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("no answer: %v %v", err1, err2), false
	}
	return fmt.Sprintf("whole secret %d, the part after the comma alone %d", st1, st2), st1 == http.StatusOK && st2 == http.StatusUnauthorized
}

// quarantineHeaders sends an unsigned request with headers near the HTTP limit and a large body,
// then reads the log line of its refusal.
func quarantineHeaders(ctx context.Context, e *env) (string, bool) {
	rid := "attack-quarantine-" + randomID()
	h := http.Header{"X-Request-Id": {rid}, "Webhook-Id": {"q-" + rid}, "Webhook-Timestamp": {"1"}, "Webhook-Signature": {"v1,AAAA"}}
	for i := 0; i < 6; i++ {
		h.Set(fmt.Sprintf("X-Padding-%d", i), strings.Repeat("p", 11000))
	}
	body := bytes.Repeat([]byte(" "), 512<<10)
	body[0], body[len(body)-1] = '{', '}'
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+e.main.listen+"/webhooks/acme", bytes.NewReader(body))
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return "no answer: " + err.Error(), false
	}
	resp.Body.Close()
	var line string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && line == ""; time.Sleep(100 * time.Millisecond) {
		for _, l := range strings.Split(e.main.log.String(), "\n") {
			if strings.Contains(l, rid) {
				line = l
			}
		}
	}
	switch {
	case strings.Contains(line, "quarantine_seq"):
		return fmt.Sprintf("%d, quarantined", resp.StatusCode), resp.StatusCode == http.StatusUnauthorized
	case strings.Contains(line, "quarantine_error"):
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		return fmt.Sprintf("%d, not quarantined: %v", resp.StatusCode, m["quarantine_error"]), false
	}
	return fmt.Sprintf("%d, no log line for the request", resp.StatusCode), false
}

// controlChars stores an event whose resource id holds control characters and reads back its
// envelope with `avatarbus replay`.
func controlChars(ctx context.Context, e *env) (string, bool) {
	mark := "cc-" + randomID()
	id := mark + "\x1b[2J\x07\r\nX-Injected: 1"
	st, _, err := signedPost(e.main, "acme", e.acme, mark, videoBody(id))
	if err != nil || st != http.StatusOK {
		return fmt.Sprintf("signed request: %d %v", st, err), false
	}
	cmd := exec.CommandContext(ctx, e.bin, "replay", "--config", e.main.config, "--filter", "avatar.>", "--since", "1h", "--out", "-")
	cmd.Env = append(testbin.Env(), e.instanceEnv()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "replay: " + err.Error() + ": " + firstLine(stderr.String()), false
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(mark)) {
			continue
		}
		var ev struct {
			Subject string `json:"subject"`
			Data    struct {
				ResourceID string `json:"resource_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return "envelope: " + err.Error(), false
		}
		bad := strings.IndexFunc(ev.Subject+ev.Data.ResourceID, unicode.IsControl) >= 0
		return fmt.Sprintf("200; subject %q, resource_id %q", ev.Subject, ev.Data.ResourceID), !bad
	}
	return "200, but the event is not in the stream", false
}

// unsignedFlood sends unsigned requests at opts.floodRPS to the rate-limited source while a genuine
// sender posts once a second, for opts.floodFor.
func unsignedFlood(ctx context.Context, e *env) (string, bool) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.floodFor)
	defer cancel()
	var flood sync.Map // status -> *atomic.Int64
	countFlood := func(st int) {
		v, _ := flood.LoadOrStore(st, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(e.opts.floodRPS))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodPost, "http://"+e.main.listen+"/webhooks/limited", strings.NewReader(`{"type":"video.done"}`))
				req.Header.Set("Content-Type", "application/json")
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
					countFlood(resp.StatusCode)
				} else {
					countFlood(0)
				}
			}()
		}
	}()
	genuine := map[int]int{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 0; ; i++ {
		st, _, _ := signedPost(e.main, "limited", e.acme, "genuine-"+randomID(), videoBody(fmt.Sprintf("g%d", i)))
		genuine[st]++
		select {
		case <-ctx.Done():
			wg.Wait()
			fl := map[int]int64{}
			flood.Range(func(k, v any) bool { fl[k.(int)] = v.(*atomic.Int64).Load(); return true })
			return fmt.Sprintf("genuine %v; flood %v", genuine, fl), genuine[http.StatusTooManyRequests] == 0 && genuine[http.StatusOK] > 0
		case <-tick.C:
		}
	}
}

// slowBodies opens opts.senders connections that each send all but the last byte of a 1 MiB body
// and hold it, samples the server's RSS, and checks that a valid request still gets 200.
func slowBodies(ctx context.Context, e *env) (string, bool) {
	base, err := e.main.rssMiB()
	if err != nil {
		return "rss: " + err.Error(), false
	}
	const size = 1 << 20                       // the source's max_body: a larger Content-Length is refused (413) unread
	chunk := bytes.Repeat([]byte(" "), size-2) // after "{": all but the last byte
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
		sent  atomic.Int64
	)
	hold, release := context.WithCancel(ctx)
	defer release()
	for i := 0; i < e.opts.senders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(hold, "tcp", e.main.listen)
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			deadline, _ := hold.Deadline()
			_ = c.SetWriteDeadline(deadline)
			head := fmt.Sprintf("POST /webhooks/acme HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nWebhook-Id: slow-%d\r\nWebhook-Timestamp: %d\r\nWebhook-Signature: v1,AAAA\r\n\r\n{",
				e.main.listen, size, i, time.Now().Unix())
			if _, err := io.WriteString(c, head); err != nil {
				return
			}
			if _, err := c.Write(chunk); err == nil {
				sent.Add(1)
			}
			<-hold.Done()
		}(i)
	}
	// Sample while the senders write, for at most half the time box.
	peak := base
	until := time.Now().Add(e.opts.timeout / 2)
	for time.Now().Before(until) {
		if r, err := e.main.rssMiB(); err == nil && r > peak {
			peak = r
		}
		if int(sent.Load()) == e.opts.senders {
			time.Sleep(500 * time.Millisecond) // the server's reads catch up
			if r, err := e.main.rssMiB(); err == nil && r > peak {
				peak = r
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	st, _, perr := signedPost(e.main, "acme", e.acme, "slow-valid-"+randomID(), videoBody("slow-valid"))
	release()
	mu.Lock()
	for _, c := range conns {
		_ = c.Close()
	}
	mu.Unlock()
	wg.Wait()
	limit := 400 * float64(e.opts.senders) / 600
	obs := fmt.Sprintf("%d senders (%d wrote 1 MiB): RSS %.0f → %.0f MiB (+%.0f, limit %.0f); valid request %d", e.opts.senders, sent.Load(), base, peak, peak-base, limit, st)
	if perr != nil {
		obs += " (" + perr.Error() + ")"
	}
	return obs, peak-base < limit && st == http.StatusOK
}

// idleConns starts an instance under `ulimit -n opts.nofile`, opens opts.idle idle keep-alive
// connections, closes them, and measures how long until a signed request is stored again.
func idleConns(ctx context.Context, e *env) (string, bool) {
	in, err := newInstance(e.dir, "")
	if err != nil {
		return err.Error(), false
	}
	if err := in.start(e.bin, e.instanceEnv(), e.opts.nofile); err != nil {
		return err.Error(), false
	}
	defer in.stop()
	if err := in.waitReady(15 * time.Second); err != nil {
		return err.Error(), false
	}
	// Open the connections (each sends one request, then idles on keep-alive) within a third of
	// the time box, then read their answers together.
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	openUntil := time.Now().Add(e.opts.timeout / 3)
	for i := 0; i < e.opts.idle && time.Now().Before(openUntil); i++ {
		c, err := net.DialTimeout("tcp", in.listen, 500*time.Millisecond)
		if err != nil {
			continue
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		_, _ = io.WriteString(c, "POST /webhooks/nosuch HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
	}
	var kept atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				kept.Add(1)
			}
			_ = c.SetDeadline(time.Time{})
		}(c)
	}
	wg.Wait()
	opened := len(conns)
	during, _, derr := signedPost(in, "acme", e.acme, "idle-during-"+randomID(), videoBody("idle-during"))
	for _, c := range conns {
		_ = c.Close()
	}
	conns = nil
	closed := time.Now()
	after := 0
	for time.Since(closed) < 10*time.Second { // its own bound: the time box may be spent by now
		after, _, _ = signedPost(in, "acme", e.acme, "idle-after-"+randomID(), videoBody("idle-after"))
		if after == http.StatusOK {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	took := time.Since(closed)
	ready := 0
	if resp, err := client.Get("http://" + in.admin + "/readyz"); err == nil {
		ready = resp.StatusCode
		resp.Body.Close()
	}
	duringS := fmt.Sprint(during)
	if derr != nil {
		duringS = "no answer"
	}
	obs := fmt.Sprintf("ulimit -n %d, %d connections opened, %d answered: signed request during %s; after closing %d in %.1fs; /readyz %d",
		e.opts.nofile, opened, kept.Load(), duringS, after, took.Seconds(), ready)
	if strings.Contains(in.log.String(), "too many open files") {
		obs += "; log: too many open files"
	}
	return obs, after == http.StatusOK && took <= 5*time.Second
}

// natsForge publishes, without credentials, an event with the Nats-Msg-Id a genuine webhook will
// have, then sends that webhook.
func natsForge(ctx context.Context, e *env) (string, bool) {
	wid := "poison-" + randomID()
	refused := "refused"
	nc, err := nats.Connect("nats://"+e.main.natsAddr, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
	if err == nil {
		defer nc.Close()
		js, _ := jetstream.New(nc)
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		m := nats.NewMsg("avatar.video.completed.acme")
		m.Header.Set("Nats-Msg-Id", "acme:"+wid)
		m.Data = []byte(`{"specversion":"1.0","id":"acme:` + wid + `","type":"avatar.video.completed","forged":true}`)
		if _, perr := js.PublishMsg(pctx, m); perr == nil {
			refused = "ACCEPTED"
		} else {
			refused = "refused (" + perr.Error() + ")"
		}
	} else {
		refused = "refused at connect (" + err.Error() + ")"
	}
	st, body, err := signedPost(e.main, "acme", e.acme, wid, videoBody("genuine-"+wid))
	var a struct {
		Duplicate bool `json:"duplicate"`
	}
	_ = json.Unmarshal(body, &a)
	obs := fmt.Sprintf("forged publish %s; genuine webhook %d duplicate=%v", refused, st, a.Duplicate)
	if err != nil {
		obs += " (" + err.Error() + ")"
	}
	return obs, !strings.HasPrefix(refused, "ACCEPTED") && st == http.StatusOK && !a.Duplicate
}

// natsPurge tries to purge the event stream without credentials.
func natsPurge(ctx context.Context, e *env) (string, bool) {
	nc, err := nats.Connect("nats://"+e.main.natsAddr, nats.Timeout(2*time.Second), nats.MaxReconnects(0))
	if err != nil {
		return "refused at connect (" + err.Error() + ")", true
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s, err := js.Stream(pctx, subjects.DefaultStream)
	if err != nil {
		return "stream not reachable (" + err.Error() + ")", true
	}
	before := s.CachedInfo().State.Msgs
	if err := s.Purge(pctx); err != nil {
		return fmt.Sprintf("refused (%v); %d events kept", err, before), true
	}
	return fmt.Sprintf("PURGED: %d events gone", before), false
}

// secondServe starts another serve on the shared instance's store_dir (other ports).
func secondServe(ctx context.Context, e *env) (string, bool) {
	in, err := newInstance(e.dir, e.main.storeDir)
	if err != nil {
		return err.Error(), false
	}
	if err := in.start(e.bin, e.instanceEnv(), 0); err != nil {
		return err.Error(), false
	}
	defer in.stop()
	var obs string
	ok := false
	select {
	case <-in.exited:
		var ee *exec.ExitError
		nonZero := errors.As(in.err, &ee) && ee.ExitCode() != 0
		names := strings.Contains(in.log.String(), fmt.Sprint(e.main.cmd.Process.Pid))
		obs = fmt.Sprintf("second exited (%v), names pid %d: %v", in.err, e.main.cmd.Process.Pid, names)
		ok = nonZero && names
	case <-time.After(8 * time.Second):
		obs = "second still running after 8s"
	case <-ctx.Done():
		obs = "second still running at the time box"
	}
	st, _, _ := signedPost(e.main, "acme", e.acme, "after-second-"+randomID(), videoBody("after-second"))
	obs += fmt.Sprintf("; first stores: %d", st)
	return obs, ok && st == http.StatusOK
}
