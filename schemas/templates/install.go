package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/schemas"
)

// Action is what Install did with one object.
type Action string

// Actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged" // installed version equals ours
	Skipped   Action = "skipped"   // not applicable here (no ISM plugin)
	Failed    Action = "failed"
)

// Item is the outcome for one object.
type Item struct {
	Kind   Kind
	Name   string
	Action Action
	// Detail says why an object was skipped or failed, or which version
	// it replaced.
	Detail string
}

// Report lists what Install did.
type Report struct {
	Items []Item
	// ISM is true when the Index State Management plugin answered.
	ISM bool
	// Notes are facts worth a log line: ISM missing, write aliases.
	Notes []string
}

// Count returns how many items had action a.
func (r *Report) Count(a Action) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Summary is a one-line account, e.g. "3 created, 0 updated, 40 unchanged,
// 2 skipped, 0 failed (ISM: no)".
func (r *Report) Summary() string {
	ism := "no"
	if r.ISM {
		ism = "yes"
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged, %d skipped, %d failed (ISM: %s)",
		r.Count(Created), r.Count(Updated), r.Count(Unchanged), r.Count(Skipped), r.Count(Failed), ism)
}

func (r *Report) add(k Kind, name string, a Action, detail string) {
	r.Items = append(r.Items, Item{Kind: k, Name: name, Action: a, Detail: detail})
}

// Install puts the component templates, index templates, the ISM policy
// (when the plugin is there) and the write aliases of index_rotation = auto
// types for reg's log types into the cluster. It is idempotent: an object
// whose installed version equals ours is left alone (Options.Force
// overrides), several workers may run it at once. Objects are independent:
// one refused object is reported (Failed, and in the joined error) and the
// others are still installed. A transport error (cluster unreachable) or a
// cancelled ctx stops at once.
func Install(ctx context.Context, client *opensearch.Client, reg *schemas.Registry, opts Options) (Report, error) {
	var rep Report
	set, err := Build(reg, opts)
	if err != nil {
		return rep, err
	}
	in := installer{c: client, force: opts.Force}
	if opts.DisableISM {
		rep.Notes = append(rep.Notes, "ISM disabled by configuration: no rollover policy or rollover templates")
	} else {
		ok, note, err := in.detectISM(ctx)
		if err != nil {
			return rep, err
		}
		rep.ISM = ok
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
	}
	var errs []error
	fail := func(k Kind, name string, err error) {
		rep.add(k, name, Failed, err.Error())
		errs = append(errs, fmt.Errorf("%s %s: %w", k, name, err))
	}

	installed := map[Kind]map[string]int64{}
	for _, k := range []Kind{KindComponent, KindIndex} {
		v, err := in.versions(ctx, k)
		if err != nil {
			return rep, err
		}
		installed[k] = v
	}
	for _, t := range slices.Concat(set.Components, set.Indices) {
		if t.ISM && !rep.ISM {
			rep.add(t.Kind, t.Name, Skipped, "needs the ISM plugin")
			continue
		}
		old, exists := installed[t.Kind][t.Name]
		if exists && old == t.Version && !in.force {
			rep.add(t.Kind, t.Name, Unchanged, "")
			continue
		}
		path := "/_component_template/"
		if t.Kind == KindIndex {
			path = "/_index_template/"
		}
		st, body, err := in.do(ctx, http.MethodPut, path+url.PathEscape(t.Name), t.Body)
		if err != nil {
			return rep, err
		}
		if err := permissionError(http.MethodPut, path+t.Name, st, body); err != nil {
			return rep, err // every other template would be refused the same way
		}
		switch {
		case st/100 != 2:
			fail(t.Kind, t.Name, httpError(http.MethodPut, path+t.Name, st, body))
		case exists:
			rep.add(t.Kind, t.Name, Updated, fmt.Sprintf("version %d -> %d", old, t.Version))
		default:
			rep.add(t.Kind, t.Name, Created, "")
		}
	}

	if set.Policy != nil {
		switch {
		case !rep.ISM:
			rep.add(KindPolicy, set.Policy.Name, Skipped, "needs the ISM plugin")
		default:
			a, detail, err := in.putPolicy(ctx, *set.Policy)
			var he *statusError
			switch {
			case errors.As(err, &he):
				fail(KindPolicy, set.Policy.Name, err)
			case err != nil:
				return rep, err
			default:
				rep.add(KindPolicy, set.Policy.Name, a, detail)
			}
		}
	}

	if len(set.WriteAliases) > 0 && !opts.NoWriteAliases {
		if !rep.ISM {
			rep.Notes = append(rep.Notes, fmt.Sprintf("write aliases %s point at <alias>-000001, which will not roll over without ISM",
				strings.Join(set.WriteAliases, ", ")))
		}
		for _, ix := range set.WriteAliases {
			a, detail, err := in.writeAlias(ctx, ix)
			var he *statusError
			switch {
			case errors.As(err, &he):
				fail(KindWriteAlias, ix, err)
			case err != nil:
				return rep, err
			default:
				rep.add(KindWriteAlias, ix, a, detail)
			}
		}
	}
	return rep, errors.Join(errs...)
}

// installer holds the client for one Install.
type installer struct {
	c     *opensearch.Client
	force bool
}

// ErrRefused is matched (errors.Is) by the error of Install when the
// cluster refused some objects (a conflicting template, a concrete index in
// the way of a write alias) but was reachable: the rest is installed. Any
// other error means Install could not talk to the cluster or was given bad
// options.
var ErrRefused = errors.New("refused by the cluster")

// statusError is a refusal by the cluster (as opposed to a transport
// error): it fails one object, not the whole Install.
type statusError struct {
	Status int
	Msg    string
}

func (e *statusError) Error() string { return e.Msg }
func (e *statusError) Unwrap() error { return ErrRefused }

func httpError(method, path string, status int, body []byte) error {
	reason := gjson.GetBytes(body, "error.reason").String()
	if t := gjson.GetBytes(body, "error.type").String(); t != "" {
		reason = t + ": " + reason
	}
	if reason == "" {
		reason = strings.TrimSpace(string(body))
		if len(reason) > 300 {
			reason = reason[:300] + "…"
		}
	}
	return &statusError{Status: status, Msg: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, status, reason)}
}

// TemplatePermissions are the cluster permissions (OpenSearch security
// plugin / fine-grained access control action names) that Install needs
// without ISM; the README lists them with the ISM ones.
var TemplatePermissions = []string{
	"cluster:admin/component_template/get", "cluster:admin/component_template/put",
	"indices:admin/index_template/get", "indices:admin/index_template/put",
}

// PermissionError is returned by Install when the cluster refuses the
// identity (HTTP 401) or its role lacks a permission template installation
// needs (HTTP 403 security_exception). It is not a refusal of one object
// (it does not match ErrRefused): nothing can be installed with this
// identity, so a consumer started with --install-templates stops with it.
type PermissionError struct {
	Method, Path string
	Status       int
	// Reason is the cluster's error type and reason; for a 403 it names
	// the missing permission and the user.
	Reason string
}

func (e *PermissionError) Error() string {
	what := "the OpenSearch user lacks a permission that template installation needs"
	if e.Status == http.StatusUnauthorized {
		what = "OpenSearch did not accept the credentials"
	}
	return fmt.Sprintf("%s (%s %s: HTTP %d: %s); installing templates needs the cluster permissions %s "+
		"(and the ISM policy permissions when the ISM plugin is installed): grant them, or run `siemstream templates install` "+
		"once with an admin identity and start the consumer with --install-templates=false",
		what, e.Method, e.Path, e.Status, e.Reason, strings.Join(TemplatePermissions, ", "))
}

// permissionError returns a *PermissionError for a 401 or a 403
// security_exception answer, else nil (a 403 cluster block is a refusal).
func permissionError(method, path string, status int, body []byte) error {
	typ := gjson.GetBytes(body, "error.type").String()
	if status != http.StatusUnauthorized && (status != http.StatusForbidden || typ != "security_exception") {
		return nil
	}
	reason := gjson.GetBytes(body, "error.reason").String()
	if typ != "" {
		reason = typ + ": " + reason
	}
	if reason == "" {
		reason = http.StatusText(status)
	}
	return &PermissionError{Method: method, Path: path, Status: status, Reason: reason}
}

// do sends one request; only transport failures are errors.
func (in *installer) do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := in.c.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

// detectISM asks the ISM plugin for its policies. The OpenSearch min
// distribution (and clusters without the plugin) answer "no handler found".
func (in *installer) detectISM(ctx context.Context) (bool, string, error) {
	const path = "/_plugins/_ism/policies?size=1"
	st, body, err := in.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return false, "", err
	}
	if err := permissionError(http.MethodGet, path, st, body); err != nil {
		return false, "", err
	}
	switch {
	case st == http.StatusOK:
		return true, "", nil
	case st == http.StatusNotFound && gjson.GetBytes(body, "error.type").String() == "index_not_found_exception":
		return true, "", nil // plugin present, no policy yet
	case bytes.Contains(body, []byte("no handler found")):
		return false, "ISM plugin not available (GET _plugins/_ism/policies: no handler): skipping the rollover policy and rollover templates", nil
	default:
		return false, fmt.Sprintf("ISM not usable (GET _plugins/_ism/policies: HTTP %d): skipping the rollover policy and rollover templates", st), nil
	}
}

// versions returns the installed templates of a kind by name.
func (in *installer) versions(ctx context.Context, k Kind) (map[string]int64, error) {
	path, list, inner := "/_component_template", "component_templates", "component_template"
	if k == KindIndex {
		path, list, inner = "/_index_template", "index_templates", "index_template"
	}
	st, body, err := in.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	if err := permissionError(http.MethodGet, path, st, body); err != nil {
		return nil, err
	}
	out := map[string]int64{}
	if st == http.StatusNotFound {
		return out, nil
	}
	if st != http.StatusOK {
		return nil, httpError(http.MethodGet, path, st, body)
	}
	for _, t := range gjson.GetBytes(body, list).Array() {
		v := t.Get(inner + ".version")
		if v.Exists() {
			out[t.Get("name").String()] = v.Int()
		} else {
			out[t.Get("name").String()] = -1
		}
	}
	return out, nil
}

// putPolicy creates or updates the ISM policy. An update needs the current
// seq_no/primary_term (optimistic concurrency, as the ISM API requires).
func (in *installer) putPolicy(ctx context.Context, p Template) (Action, string, error) {
	path := "/_plugins/_ism/policies/" + url.PathEscape(p.Name)
	st, body, err := in.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", "", err
	}
	put := path
	exists := false
	switch st {
	case http.StatusOK:
		exists = true
		desc := gjson.GetBytes(body, "policy.description").String()
		if strings.Contains(desc, fmt.Sprintf("(rev %d)", p.Version)) && !in.force {
			return Unchanged, "", nil
		}
		put = fmt.Sprintf("%s?if_seq_no=%d&if_primary_term=%d", path,
			gjson.GetBytes(body, "_seq_no").Int(), gjson.GetBytes(body, "_primary_term").Int())
	case http.StatusNotFound:
	default:
		return "", "", httpError(http.MethodGet, path, st, body)
	}
	st, body, err = in.do(ctx, http.MethodPut, put, p.Body)
	if err != nil {
		return "", "", err
	}
	if st/100 != 2 {
		return "", "", httpError(http.MethodPut, path, st, body)
	}
	if exists {
		return Updated, "", nil
	}
	return Created, "", nil
}

// writeAlias makes sure the rollover alias ix exists, pointing (as write
// index) at ix-000001, as es-loader does at start for index_rotation = auto.
func (in *installer) writeAlias(ctx context.Context, ix string) (Action, string, error) {
	aliasPath := "/_alias/" + url.PathEscape(ix)
	st, body, err := in.do(ctx, http.MethodGet, aliasPath, nil)
	if err != nil {
		return "", "", err
	}
	switch st {
	case http.StatusOK:
		return Unchanged, "alias exists", nil
	case http.StatusNotFound:
	default:
		return "", "", httpError(http.MethodGet, aliasPath, st, body)
	}
	st, body, err = in.do(ctx, http.MethodHead, "/"+url.PathEscape(ix), nil)
	if err != nil {
		return "", "", err
	}
	if st == http.StatusOK {
		return "", "", &statusError{Status: st, Msg: fmt.Sprintf(
			"an index named %s exists, so %s cannot be a rollover alias: reindex it into %s-000001 and add the alias, or delete it", ix, ix, ix)}
	}
	first := ix + "-000001"
	create := map[string]any{"aliases": map[string]any{ix: map[string]any{"is_write_index": true}}}
	st, body, err = in.do(ctx, http.MethodPut, "/"+url.PathEscape(first), create)
	if err != nil {
		return "", "", err
	}
	if st/100 == 2 {
		return Created, "on " + first, nil
	}
	if gjson.GetBytes(body, "error.type").String() == "resource_already_exists_exception" {
		// Another worker created it a moment ago; check it got the alias.
		st2, _, err := in.do(ctx, http.MethodGet, aliasPath, nil)
		if err != nil {
			return "", "", err
		}
		if st2 == http.StatusOK {
			return Unchanged, "alias exists", nil
		}
	}
	return "", "", httpError(http.MethodPut, "/"+first, st, body)
}

// Status is what Show found for one object.
type Status struct {
	Kind      Kind
	Name      string
	Version   int64 // ours
	Installed int64 // installed version; -1 when missing or without version
	State     string
	// OverriddenBy lists other index templates (not ours) matching the
	// same indices with a higher priority: they win at index creation.
	OverriddenBy []string
}

// Show compares the cluster with what Install would put there.
func Show(ctx context.Context, client *opensearch.Client, reg *schemas.Registry, opts Options) ([]Status, error) {
	set, err := Build(reg, opts)
	if err != nil {
		return nil, err
	}
	in := installer{c: client}
	installed := map[Kind]map[string]int64{}
	for _, k := range []Kind{KindComponent, KindIndex} {
		if installed[k], err = in.versions(ctx, k); err != nil {
			return nil, err
		}
	}
	others, err := in.otherTemplates(ctx, set)
	if err != nil {
		return nil, err
	}
	ism := false
	if !opts.DisableISM {
		if ism, _, err = in.detectISM(ctx); err != nil {
			return nil, err
		}
	}
	var out []Status
	for _, t := range set.All() {
		s := Status{Kind: t.Kind, Name: t.Name, Version: t.Version, Installed: -1}
		if t.ISM && !ism {
			s.State = "no ISM plugin"
			out = append(out, s)
			continue
		}
		if t.Kind == KindPolicy {
			st, body, err := in.do(ctx, http.MethodGet, "/_plugins/_ism/policies/"+url.PathEscape(t.Name), nil)
			if err != nil {
				return nil, err
			}
			switch {
			case st == http.StatusOK && strings.Contains(gjson.GetBytes(body, "policy.description").String(), fmt.Sprintf("(rev %d)", t.Version)):
				s.Installed, s.State = t.Version, "up to date"
			case st == http.StatusOK:
				s.State = "differs"
			default:
				s.State = "missing"
			}
			out = append(out, s)
			continue
		}
		v, ok := installed[t.Kind][t.Name]
		switch {
		case !ok:
			s.State = "missing"
		case v == t.Version:
			s.Installed, s.State = v, "up to date"
		default:
			s.Installed, s.State = v, "differs"
		}
		if t.Kind == KindIndex {
			pats, _ := t.Body["index_patterns"].([]any)
			prio, _ := t.Body["priority"].(int64)
			for _, o := range others {
				if o.priority > prio && overlaps(o.patterns, pats) {
					s.OverriddenBy = append(s.OverriddenBy, fmt.Sprintf("%s (priority %d)", o.name, o.priority))
				}
			}
		}
		out = append(out, s)
	}
	return out, nil
}

type otherTemplate struct {
	name     string
	priority int64
	patterns []string
}

func (in *installer) otherTemplates(ctx context.Context, set *Set) ([]otherTemplate, error) {
	ours := map[string]bool{}
	for _, t := range set.Indices {
		ours[t.Name] = true
	}
	st, body, err := in.do(ctx, http.MethodGet, "/_index_template", nil)
	if err != nil {
		return nil, err
	}
	if st != http.StatusOK {
		return nil, nil
	}
	var out []otherTemplate
	for _, t := range gjson.GetBytes(body, "index_templates").Array() {
		name := t.Get("name").String()
		if ours[name] {
			continue
		}
		o := otherTemplate{name: name, priority: t.Get("index_template.priority").Int()}
		for _, p := range t.Get("index_template.index_patterns").Array() {
			o.patterns = append(o.patterns, p.String())
		}
		out = append(out, o)
	}
	return out, nil
}

// overlaps is a conservative test of whether two sets of index patterns can
// match the same index: it compares the literal prefixes before the first
// wildcard.
func overlaps(a []string, b []any) bool {
	for _, x := range a {
		px, _, _ := strings.Cut(x, "*")
		for _, y := range b {
			ys, _ := y.(string)
			py, _, _ := strings.Cut(ys, "*")
			if strings.HasPrefix(px, py) || strings.HasPrefix(py, px) {
				return true
			}
		}
	}
	return false
}
