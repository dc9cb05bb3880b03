package deadletter

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Performer sends a request to OpenSearch (opensearch.Client has Perform).
type Performer interface {
	Perform(req *http.Request) (*http.Response, error)
}

// IndexEntry is one record read from the dead-letter index, with where it
// is and its version (a removal is conditional on it).
type IndexEntry struct {
	Record
	Index, DocID       string
	SeqNo, PrimaryTerm int64
}

// indexPage is how many documents one scroll page holds: with raw bytes of
// up to 1 MiB inline (sink.DefaultMaxInlineRaw), a page stays under 100 MiB.
const indexPage = 100

// ListIndex calls fn with each page of records in the indices matching
// pattern (e.g. siemstream-deadletter-*) that pass f. A document that is not
// a record is passed with its decode error.
func ListIndex(ctx context.Context, c Performer, pattern string, f Filter, fn func(page []IndexEntry, errs []error) error) error {
	var filters []any
	if !f.Since.IsZero() {
		filters = append(filters, map[string]any{"range": map[string]any{"@timestamp": map[string]any{"gte": f.Since.UTC().Format(time.RFC3339Nano)}}})
	}
	if f.Stage != "" {
		filters = append(filters, map[string]any{"term": map[string]any{"stage": f.Stage}})
	}
	if f.LogType != "" {
		filters = append(filters, map[string]any{"term": map[string]any{"log_type": f.LogType}})
	}
	body := map[string]any{"size": indexPage, "seq_no_primary_term": true, "sort": []string{"_doc"},
		"query": map[string]any{"bool": map[string]any{"filter": filters}}}
	q := url.Values{"scroll": {"2m"}, "ignore_unavailable": {"true"}, "allow_no_indices": {"true"}}
	var res scrollResponse
	if err := do(ctx, c, http.MethodPost, "/"+pattern+"/_search?"+q.Encode(), body, &res); err != nil {
		return fmt.Errorf("search %s: %w", pattern, err)
	}
	defer func() {
		if res.ScrollID != "" {
			_ = do(context.WithoutCancel(ctx), c, http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": res.ScrollID}, nil)
		}
	}()
	for len(res.Hits.Hits) > 0 {
		page := make([]IndexEntry, 0, len(res.Hits.Hits))
		var errs []error
		for _, h := range res.Hits.Hits {
			e := IndexEntry{Index: h.Index, DocID: h.ID, SeqNo: h.SeqNo, PrimaryTerm: h.PrimaryTerm}
			if err := e.Record.UnmarshalJSON(h.Source); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", h.Index, h.ID, err))
				if err != ErrTruncated {
					continue
				}
			}
			if f.Match(&e.Record) {
				page = append(page, e)
			}
		}
		if err := fn(page, errs); err != nil {
			return err
		}
		id := res.ScrollID
		res = scrollResponse{}
		if err := do(ctx, c, http.MethodPost, "/_search/scroll", map[string]any{"scroll": "2m", "scroll_id": id}, &res); err != nil {
			return fmt.Errorf("scroll %s: %w", pattern, err)
		}
	}
	return nil
}

type scrollResponse struct {
	ScrollID string `json:"_scroll_id"`
	Hits     struct {
		Hits []struct {
			Index       string          `json:"_index"`
			ID          string          `json:"_id"`
			SeqNo       int64           `json:"_seq_no"`
			PrimaryTerm int64           `json:"_primary_term"`
			Source      json.RawMessage `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

// DeleteIndexed removes e from its index if it is still the version that
// was read: a record written again meanwhile (the same refusal after a
// redrive) is kept. It reports whether the document was removed.
func DeleteIndexed(ctx context.Context, c Performer, e *IndexEntry) (bool, error) {
	q := url.Values{"if_seq_no": {strconv.FormatInt(e.SeqNo, 10)}, "if_primary_term": {strconv.FormatInt(e.PrimaryTerm, 10)}, "refresh": {"wait_for"}}
	err := do(ctx, c, http.MethodDelete, "/"+url.PathEscape(e.Index)+"/_doc/"+url.PathEscape(e.DocID)+"?"+q.Encode(), nil, nil)
	var se *statusError
	if asStatus(err, &se) && (se.status == http.StatusConflict || se.status == http.StatusNotFound) {
		return false, nil
	}
	return err == nil, err
}

type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.status, e.body) }

func asStatus(err error, target **statusError) bool {
	se, ok := err.(*statusError)
	if ok {
		*target = se
	}
	return ok
}

func do(ctx context.Context, c Performer, method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Perform(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return &statusError{resp.StatusCode, string(data[:min(len(data), 500)])}
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}
