package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// capturedFlags describe a captured request for the offline commands: either a raw HTTP request
// file, or headers, query and a body file given one by one.
type capturedFlags struct {
	request  string
	headers  []string
	query    []string
	bodyFile string
}

func addCapturedFlags(cmd *cobra.Command) *capturedFlags {
	f := &capturedFlags{}
	cmd.Flags().StringVar(&f.request, "request", "", "raw HTTP request file (request line, headers, body), as captured")
	cmd.Flags().StringArrayVar(&f.headers, "header", nil, "request header 'Name: value' (repeatable)")
	cmd.Flags().StringArrayVar(&f.query, "query", nil, "query parameter 'name=value' (repeatable)")
	cmd.Flags().StringVar(&f.bodyFile, "body-file", "-", "file with the raw body; - reads standard input")
	return f
}

// captured is a request read back from disk.
type captured struct {
	header textproto.MIMEHeader
	query  url.Values
	body   []byte
}

func (f *capturedFlags) read(stdin io.Reader) (captured, error) {
	c := captured{header: textproto.MIMEHeader{}, query: url.Values{}}
	if f.request != "" {
		raw, err := os.ReadFile(f.request)
		if err != nil {
			return c, err
		}
		br := bufio.NewReader(bytes.NewReader(raw))
		req, err := http.ReadRequest(br)
		if err != nil {
			return c, fmt.Errorf("--request %s: not an HTTP request: %w", f.request, err)
		}
		if c.body, err = io.ReadAll(req.Body); err != nil {
			return c, fmt.Errorf("--request %s: body: %w", f.request, err)
		}
		if req.Header.Get("Content-Length") == "" && len(req.TransferEncoding) == 0 {
			// A capture without Content-Length (hand-written, or the header was dropped): the
			// body is the rest of the file, byte for byte.
			if c.body, err = io.ReadAll(br); err != nil {
				return c, fmt.Errorf("--request %s: body: %w", f.request, err)
			}
		}
		c.header = textproto.MIMEHeader(req.Header)
		c.query = req.URL.Query()
	} else {
		var err error
		if f.bodyFile == "-" {
			c.body, err = io.ReadAll(stdin)
		} else {
			c.body, err = os.ReadFile(f.bodyFile)
		}
		if err != nil {
			return c, fmt.Errorf("body: %w", err)
		}
	}
	for _, h := range f.headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return c, fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		c.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	for _, q := range f.query {
		name, value, ok := strings.Cut(q, "=")
		if !ok {
			return c, fmt.Errorf("--query %q: want 'name=value'", q)
		}
		c.query.Add(name, value)
	}
	return c, nil
}
