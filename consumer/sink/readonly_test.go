package sink

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestWritableName(t *testing.T) {
	ro := map[string]bool{
		"log-aws-cloudtrail-2025-03": true, "log-aws-cloudtrail-2025-03_01": true,
		"log-aws-waf-2025-02_07": true, "log-x_1": true,
	}
	for _, tc := range []struct{ in, want string }{
		{"log-aws-cloudtrail-2025-03", "log-aws-cloudtrail-2025-03_02"},
		{"log-aws-waf-2025-02_07", "log-aws-waf-2025-02_08"}, // counts on from _NN
		{"log-aws-waf-2025-02", "log-aws-waf-2025-02_01"},
		{"log-x_1", "log-x_1_01"}, // one digit is not a suffix
	} {
		if got := writableName(tc.in, ro); got != tc.want {
			t.Errorf("writableName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestBlockedItem(t *testing.T) {
	for _, tc := range []struct {
		typ, reason string
		want        bool
	}{
		{"index_closed_exception", "closed", true},
		{"cluster_block_exception", "index [log-a] blocked by: [FORBIDDEN/8/index write (api)];", true},
		{"cluster_block_exception", "blocked by: [FORBIDDEN/12/index read-only / allow delete (api)];", false},
		{"cluster_block_exception", "cluster create-index blocked (api)", false},
		{"mapper_parsing_exception", "index [x]", false},
	} {
		if got := blockedItem(tc.typ, tc.reason); got != tc.want {
			t.Errorf("blockedItem(%q, %q) = %v", tc.typ, tc.reason, got)
		}
	}
}

// The set is looked up once, again after the TTL, and after a hit no sooner
// than the minimum interval; a failed lookup keeps the previous set.
func TestReadOnlyRefresh(t *testing.T) {
	now := time.Unix(1e9, 0)
	calls := 0
	var fail error
	var redirs []string
	r := &readOnly{
		now: func() time.Time { return now },
		refresh: func(context.Context) (map[string]bool, error) {
			calls++
			if fail != nil {
				return nil, fail
			}
			return map[string]bool{"log-a": true}, nil
		},
		onRedir: func(from, to string) { redirs = append(redirs, from+">"+to) },
	}
	ctx := context.Background()
	look := func(name string) string { return r.writable(r.current(ctx), name) }
	if got := look("log-a"); got != "log-a_01" {
		t.Fatalf("got %q", got)
	}
	look("log-a")
	look("log-b")
	if calls != 1 || len(redirs) != 1 {
		t.Fatalf("calls %d, redirects %v: want one lookup, one logged redirect", calls, redirs)
	}
	r.hit()
	now = now.Add(readOnlyMinRefresh / 2)
	look("log-b")
	if calls != 1 {
		t.Fatalf("refreshed %d times before the minimum interval", calls)
	}
	now = now.Add(readOnlyMinRefresh)
	look("log-b")
	if calls != 2 {
		t.Fatalf("hit not followed by a lookup: %d", calls)
	}
	fail = errors.New("down")
	now = now.Add(readOnlyTTL)
	if got := look("log-a"); got != "log-a_01" || calls != 3 {
		t.Fatalf("after a failed lookup: %q, %d calls", got, calls)
	}
}
