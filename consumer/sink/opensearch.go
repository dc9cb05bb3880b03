package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/rs/zerolog"
	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/internal/osclient"
	"github.com/siemstream/siemstream/internal/pyjson"
)

// OpenSearchConfig configures the bulk sink.
type OpenSearchConfig struct {
	// Client is the connection (auth, TLS, compression) every call of the
	// sink goes through; nil means one built by osclient from URLs and
	// Username/Password with everything else defaulted from the endpoint.
	Client *osclient.Client
	// URLs of the cluster's nodes, e.g. http://127.0.0.1:9200 (without
	// Client).
	URLs []string
	// Username/Password for basic auth; empty = none (without Client).
	Username, Password string
	// MaxBulkBytes caps one _bulk request body; zero means 5 MiB.
	MaxBulkBytes int
	// MaxBulkDocs caps the documents in one _bulk request; zero means 5000.
	MaxBulkDocs int
	// RequestTimeout bounds one _bulk request; zero means 60s.
	RequestTimeout time.Duration
	// KeepReadOnlyIndices turns off the redirect of documents for a
	// read-only index to <index>_01 (see readonly.go); they are then
	// retried (write block) or dead-lettered (closed index).
	KeepReadOnlyIndices bool
	// Logger receives the redirects and failed read-only lookups; the zero
	// value logs nothing.
	Logger zerolog.Logger
	// OnReadOnlyRedirect, if set, is told each time a read-only index is
	// redirected to a writable one (metrics).
	OnReadOnlyRedirect func(from, to string)
}

// DefaultOpenSearchConfig returns the defaults.
func DefaultOpenSearchConfig() OpenSearchConfig {
	return OpenSearchConfig{
		URLs:           []string{"http://127.0.0.1:9200"},
		MaxBulkBytes:   5 << 20,
		MaxBulkDocs:    5000,
		RequestTimeout: 60 * time.Second,
	}
}

// Validate checks the config.
func (c OpenSearchConfig) Validate() error {
	if c.Client == nil && len(c.URLs) == 0 {
		return errors.New("opensearch: at least one URL is required")
	}
	if c.MaxBulkBytes < 0 || c.MaxBulkDocs < 0 {
		return errors.New("opensearch: bulk limits must not be negative")
	}
	return nil
}

// OpenSearch writes documents with the _bulk API and reads every item's
// result: 2xx delivered, 429/5xx/blocks retried, other 4xx rejected.
type OpenSearch struct {
	cfg    OpenSearchConfig
	client *opensearch.Client
	bufs   sync.Pool
	ro     *readOnly // nil with KeepReadOnlyIndices
}

// NewOpenSearch builds the sink; it does not contact the cluster.
func NewOpenSearch(cfg OpenSearchConfig) (*OpenSearch, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBulkBytes == 0 {
		cfg.MaxBulkBytes = 5 << 20
	}
	if cfg.MaxBulkDocs == 0 {
		cfg.MaxBulkDocs = 5000
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	oc := cfg.Client
	if oc == nil {
		cc := osclient.DefaultConfig()
		cc.URLs, cc.Username, cc.Password, cc.Logger = cfg.URLs, cfg.Username, cfg.Password, cfg.Logger
		var err error
		if oc, err = osclient.New(context.Background(), cc); err != nil {
			return nil, err
		}
	}
	c := oc.OpenSearch()
	o := &OpenSearch{cfg: cfg, client: c}
	if !cfg.KeepReadOnlyIndices {
		log := cfg.Logger
		o.ro = &readOnly{
			refresh: o.readOnlyIndices,
			now:     time.Now,
			onRedir: func(from, to string) {
				log.Warn().Str("index", from).Str("writing_to", to).Msg("index is read-only (closed, write-blocked, UltraWarm or cold): writing its documents to another index, as es-loader does")
				if cfg.OnReadOnlyRedirect != nil {
					cfg.OnReadOnlyRedirect(from, to)
				}
			},
			onError: func(err error) { log.Warn().Err(err).Msg("cannot list read-only indices") },
		}
	}
	return o, nil
}

// Client exposes the underlying client (templates, health checks).
func (o *OpenSearch) Client() *opensearch.Client { return o.client }

// Health sends GET / through the sink's client: nil when the cluster
// answers 2xx.
func (o *OpenSearch) Health(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	resp, err := o.client.Perform(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// Close implements Sink. The sink holds nothing of its own to release but
// pooled buffers: its connections belong to the osclient.Client, which
// the caller may share (templates, health checks) and owns.
func (o *OpenSearch) Close() error { return nil }

// Write sends docs in as many _bulk requests as the limits need.
func (o *OpenSearch) Write(ctx context.Context, docs []Doc, results []Result) error {
	start := 0
	size := 0
	var firstErr error
	for i := range docs {
		n := len(docs[i].Body) + len(docs[i].Index) + len(docs[i].ID) + 48
		if i > start && (size+n > o.cfg.MaxBulkBytes || i-start >= o.cfg.MaxBulkDocs) {
			if err := o.write(ctx, docs[start:i], results[start:i]); err != nil && firstErr == nil {
				firstErr = err
			}
			start, size = i, 0
		}
		size += n
	}
	if start < len(docs) {
		if err := o.write(ctx, docs[start:], results[start:]); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func (o *OpenSearch) write(ctx context.Context, docs []Doc, results []Result) error {
	buf, _ := o.bufs.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer func() {
		if buf.Cap() <= 64<<20 {
			buf.Reset()
			o.bufs.Put(buf)
		}
	}()
	b := buf.AvailableBuffer()
	var ro map[string]bool
	if o.ro != nil {
		ro = o.ro.current(ctx)
	}
	for i := range docs {
		index := docs[i].Index
		if len(ro) > 0 {
			index = o.ro.writable(ro, index)
		}
		b = append(b, `{"index":{"_index":`...)
		b = pyjson.AppendQuotedString(b, index)
		b = append(b, `,"_id":`...)
		b = pyjson.AppendQuotedString(b, docs[i].ID)
		b = append(b, "}}\n"...)
		b = append(b, docs[i].Body...)
		b = append(b, '\n')
	}
	buf.Write(b)

	ctx, cancel := context.WithTimeout(ctx, o.cfg.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		"/_bulk?filter_path=errors,items.*.status,items.*.result,items.*.error.type,items.*.error.reason",
		bytes.NewReader(buf.Bytes()))
	if err != nil {
		return fmt.Errorf("bulk request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := o.client.Perform(req)
	if err != nil {
		return fmt.Errorf("bulk %d docs: %w", len(docs), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("bulk %d docs: read response: %w", len(docs), err)
	}
	switch {
	case resp.StatusCode == http.StatusRequestEntityTooLarge:
		if len(docs) == 1 {
			results[0] = Result{Outcome: Rejected, Status: resp.StatusCode, Reason: "document too large for one bulk request"}
			return nil
		}
		h := len(docs) / 2
		return errors.Join(o.write(ctx, docs[:h], results[:h]), o.write(ctx, docs[h:], results[h:]))
	case resp.StatusCode == http.StatusBadRequest:
		// The whole request refused for what one document holds (an _id
		// over 512 bytes: action_request_validation_exception). Retrying
		// would stall the shard for good: halve until the document is
		// alone and reject only it.
		if len(docs) == 1 {
			reason := gjson.GetBytes(body, "error.type").String() + ": " + gjson.GetBytes(body, "error.reason").String()
			results[0] = Result{Outcome: Rejected, Status: resp.StatusCode, Reason: truncate([]byte(reason), 2000)}
			return nil
		}
		h := len(docs) / 2
		return errors.Join(o.write(ctx, docs[:h], results[:h]), o.write(ctx, docs[h:], results[h:]))
	case resp.StatusCode >= 300:
		return fmt.Errorf("bulk %d docs: HTTP %d: %s", len(docs), resp.StatusCode, truncate(body, 300))
	}
	items := gjson.GetBytes(body, "items")
	if !gjson.GetBytes(body, "errors").Bool() {
		// Fast path: every item succeeded; only look for overwrites.
		i := 0
		items.ForEach(func(_, it gjson.Result) bool {
			if i < len(results) {
				r := it.Get("index")
				results[i] = Result{Outcome: Delivered, Status: int(r.Get("status").Int()), Overwrote: r.Get("result").String() == "updated"}
			}
			i++
			return true
		})
		if i != len(docs) {
			return fmt.Errorf("bulk %d docs: response has %d items", len(docs), i)
		}
		return nil
	}
	i := 0
	items.ForEach(func(_, it gjson.Result) bool {
		if i >= len(results) {
			return false
		}
		r := it.Get("index")
		st := int(r.Get("status").Int())
		res := Result{Status: st, Outcome: classify(st)}
		if res.Outcome == Delivered {
			res.Overwrote = r.Get("result").String() == "updated"
		} else {
			et, reason := r.Get("error.type").String(), r.Get("error.reason").String()
			res.Reason = et + ": " + reason
			if o.ro != nil && blockedItem(et, reason) {
				// The index became read-only since the last look: look
				// again and retry, which redirects the document.
				o.ro.hit()
				res.Outcome = Retry
			}
		}
		results[i] = res
		i++
		return true
	})
	if i != len(docs) {
		return fmt.Errorf("bulk %d docs: response has %d items", len(docs), i)
	}
	return nil
}

// classify maps an item status to an outcome. 403 is usually a cluster
// block (disk watermark, read-only index) that clears, so it is retried.
func classify(status int) Outcome {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == 403, status == 408, status == 409, status == 429, status >= 500:
		return Retry
	default:
		return Rejected
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
