package sink

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// Read-only indices. A monthly index moved to UltraWarm or cold storage,
// closed, or given a write block by an ISM policy cannot take the documents
// a backfill or a late object brings for its period. es-loader writes them
// to <index>_01 (then _02, … while those are read-only too); so do we, so
// both write the same names. Without it, a write block (403
// cluster_block_exception) would be retried forever and stall the shard,
// and a closed index (400 index_closed_exception) would send every such
// document to the dead-letter index.
//
// The set is read from the cluster state's index blocks (closed and
// write-blocked indices, UltraWarm) and, where the cluster has it (Amazon
// OpenSearch Service), the cold-storage listing; it is refreshed every
// readOnlyTTL and as soon as an item fails with a block or closed-index
// error (at most once per readOnlyMinRefresh).

const (
	readOnlyTTL        = 5 * time.Minute
	readOnlyMinRefresh = 5 * time.Second
)

type readOnly struct {
	mu      sync.Mutex
	set     map[string]bool
	at      time.Time // last refresh (zero: never)
	stale   bool      // an item hit a block: refresh at the next chance
	redir   map[string]string
	refresh func(ctx context.Context) (map[string]bool, error)
	onRedir func(from, to string)
	onError func(error)
	now     func() time.Time
}

// current returns the read-only set, refreshed when due. The map is never
// changed after it is published, so callers read it without the lock.
func (r *readOnly) current(ctx context.Context) map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	if r.at.IsZero() || now.Sub(r.at) >= readOnlyTTL || (r.stale && now.Sub(r.at) >= readOnlyMinRefresh) {
		r.at, r.stale = now, false
		set, err := r.refresh(ctx)
		if err != nil {
			// Keep the previous set; a cluster that cannot say is treated
			// as having none (the write then fails and is retried).
			if r.onError != nil {
				r.onError(err)
			}
		} else {
			r.set, r.redir = set, map[string]string{}
		}
	}
	return r.set
}

// writable returns the index to write instead of name, given the set
// current returned: name itself unless it is read-only, else es-loader's
// get_writable_indexname.
func (r *readOnly) writable(set map[string]bool, name string) string {
	if !set[name] {
		return name
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if to, ok := r.redir[name]; ok {
		return to
	}
	to := writableName(name, set)
	if r.redir == nil {
		r.redir = map[string]string{}
	}
	r.redir[name] = to
	if r.onRedir != nil {
		r.onRedir(name, to)
	}
	return to
}

// hit records that an item failed because its index is blocked or closed.
func (r *readOnly) hit() {
	r.mu.Lock()
	r.stale = true
	r.mu.Unlock()
}

// writableName is es-loader's get_writable_indexname: name_01, _02, …, the
// first not in ro; a name already ending in _NN counts on from NN.
func writableName(name string, ro map[string]bool) string {
	base, n := name, 1
	if i := strings.LastIndexByte(name, '_'); i > 0 && len(name)-i == 3 {
		if v, err := strconv.Atoi(name[i+1:]); err == nil && name[i+1] >= '0' && name[i+1] <= '9' {
			base, n = name[:i], v
		}
	}
	for {
		to := fmt.Sprintf("%s_%02d", base, n)
		if !ro[to] {
			return to
		}
		n++
	}
}

// blockedItem reports whether an item error means its index is read-only
// (write block, closed index) rather than a cluster-wide condition.
func blockedItem(errType, reason string) bool {
	switch errType {
	case "index_closed_exception":
		return true
	case "cluster_block_exception":
		// Index blocks name the index ("index [x] blocked by: [FORBIDDEN/8/
		// index write (api)]"); a cluster-wide block (disk watermark) says
		// "cluster" and is only waited out.
		return strings.Contains(reason, "index [")
	}
	return false
}

// readOnlyIndices asks the cluster which indices cannot be written.
func (o *OpenSearch) readOnlyIndices(ctx context.Context) (map[string]bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	set := map[string]bool{}
	body, status, err := o.get(ctx, "/_cluster/state/blocks?filter_path=blocks.indices")
	if err != nil {
		return nil, fmt.Errorf("read-only indices: %w", err)
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("read-only indices: GET _cluster/state/blocks: HTTP %d: %s", status, truncate(body, 200))
	}
	gjson.GetBytes(body, "blocks.indices").ForEach(func(k, _ gjson.Result) bool {
		set[k.String()] = true
		return true
	})
	// Cold storage exists on Amazon OpenSearch Service only; elsewhere this
	// answers 4xx and is skipped. Pages: GET the first, POST the
	// pagination id for the next.
	body, status, err = o.get(ctx, "/_cold/indices/_search?page_size=2000")
	for range 100 {
		if err != nil || status != http.StatusOK {
			break
		}
		idx := gjson.GetBytes(body, "indices")
		if len(idx.Array()) == 0 {
			break
		}
		idx.ForEach(func(_, v gjson.Result) bool {
			set[v.Get("index").String()] = true
			return true
		})
		pid := gjson.GetBytes(body, "pagination_id").String()
		if pid == "" {
			break
		}
		body, status, err = o.do(ctx, http.MethodPost, "/_cold/indices/_search", `{"pagination_id":`+strconv.Quote(pid)+`}`)
	}
	return set, nil
}

func (o *OpenSearch) get(ctx context.Context, path string) ([]byte, int, error) {
	return o.do(ctx, http.MethodGet, path, "")
}

func (o *OpenSearch) do(ctx context.Context, method, path, body string) ([]byte, int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := o.client.Perform(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return b, resp.StatusCode, err
}
