package templates

import (
	"errors"
	"strings"
	"testing"
)

// TestPermissionError: a 401, or a 403 security_exception, is a
// PermissionError that names the refused permission and the two fixes; it
// is not a per-object refusal (ErrRefused). A 403 cluster block is.
func TestPermissionError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		want   []string // nil: not a permission error
	}{
		{"missing permission", 403,
			`{"error":{"type":"security_exception","reason":"no permissions for [indices:admin/index_template/get] and User [name=w, backend_roles=[], requestedTenant=null]"},"status":403}`,
			[]string{"lacks a permission", "GET /_index_template: HTTP 403", "no permissions for [indices:admin/index_template/get] and User [name=w",
				"cluster:admin/component_template/put", "siemstream templates install", "--install-templates=false"}},
		{"bad credentials", 401, `Unauthorized`, []string{"did not accept the credentials", "HTTP 401"}},
		{"cluster block", 403, `{"error":{"type":"cluster_block_exception","reason":"blocked by: [FORBIDDEN/12/index read-only / allow delete (api)]"},"status":403}`, nil},
		{"not found", 404, `{}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := permissionError("GET", "/_index_template", tc.status, []byte(tc.body))
			if tc.want == nil {
				if err != nil {
					t.Fatalf("got %v, want no permission error", err)
				}
				return
			}
			var pe *PermissionError
			if !errors.As(err, &pe) {
				t.Fatalf("got %T %v, want *PermissionError", err, err)
			}
			if errors.Is(err, ErrRefused) {
				t.Error("a permission error must not match ErrRefused (the consumer would start without templates)")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err.Error(), w)
				}
			}
		})
	}
}
