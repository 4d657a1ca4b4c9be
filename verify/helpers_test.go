package verify

import (
	"encoding/json"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// vectorFile mirrors testdata/vectors.json.
type vectorFile struct {
	Vectors []vector `json:"vectors"`
}

type vector struct {
	Name          string            `json:"name"`
	Config        vectorConfig      `json:"config"`
	Headers       map[string]string `json:"headers"`
	Query         map[string]string `json:"query"`
	Body          string            `json:"body"`
	BodyFile      string            `json:"body_file"`
	Now           int64             `json:"now"`
	WantMessageID string            `json:"want_message_id"`
	WantTimestamp int64             `json:"want_timestamp"`
	Resign        bool              `json:"resign"`
}

// vectorConfig is Config as written in JSON; Config itself carries no
// tags, since how configuration files spell it is not this package's call.
type vectorConfig struct {
	Scheme          string   `json:"scheme"`
	Secrets         []string `json:"secrets"`
	Tolerance       string   `json:"tolerance"`
	Header          string   `json:"header"`
	Algorithm       string   `json:"algorithm"`
	Encoding        string   `json:"encoding"`
	Prefix          string   `json:"prefix"`
	TimestampHeader string   `json:"timestamp_header"`
	IDHeader        string   `json:"id_header"`
	Content         string   `json:"content"`
	Param           string   `json:"param"`
}

func (c vectorConfig) config(t testing.TB) Config {
	t.Helper()
	var tol time.Duration
	if c.Tolerance != "" {
		var err error
		if tol, err = time.ParseDuration(c.Tolerance); err != nil {
			t.Fatalf("tolerance: %v", err)
		}
	}
	return Config{
		Scheme: c.Scheme, Secrets: c.Secrets, Tolerance: tol,
		Header: c.Header, Algorithm: c.Algorithm, Encoding: c.Encoding, Prefix: c.Prefix,
		TimestampHeader: c.TimestampHeader, IDHeader: c.IDHeader, Content: c.Content,
		Param: c.Param,
	}
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("vectors.json: %v", err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("vectors.json has no vectors")
	}
	return f.Vectors
}

// request builds the request a vector describes.
func (v vector) request(t testing.TB) Request {
	t.Helper()
	body := []byte(v.Body)
	if v.BodyFile != "" {
		var err error
		if body, err = os.ReadFile(filepath.Join("testdata", v.BodyFile)); err != nil {
			t.Fatal(err)
		}
	}
	req := Request{Header: textproto.MIMEHeader{}, Query: url.Values{}, Body: body, Now: time.Unix(v.Now, 0)}
	for k, val := range v.Headers {
		req.Header.Set(k, val)
	}
	for k, val := range v.Query {
		req.Query.Set(k, val)
	}
	return req
}

func mustNew(t testing.TB, cfg Config) Verifier {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return v
}

// headers builds a MIMEHeader from name, value pairs; a name may repeat.
func headers(kv ...string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
