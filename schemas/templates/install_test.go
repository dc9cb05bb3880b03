package templates

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/opensearch-project/opensearch-go/v4"
)

// fakeOpenSearch implements the few endpoints Install uses, with the
// answers OpenSearch 2.x gives.
type fakeOpenSearch struct {
	mu         sync.Mutex
	ism        bool
	components map[string]map[string]any
	indexTmpls map[string]map[string]any
	policies   map[string]*fakePolicy
	indices    map[string]bool
	aliases    map[string]string // alias -> index
	refuse     map[string]bool   // template names answered with HTTP 400
	// raceIndex: the next PUT of this index answers "already exists" after
	// creating it with its alias (another worker won the race).
	raceIndex string
	log       []string // "METHOD path?query"
	puts      map[string]json.RawMessage
}

type fakePolicy struct {
	body       json.RawMessage
	seq, term  int64
	desc       string
	lastPutURL string
}

func newFake(ism bool) *fakeOpenSearch {
	return &fakeOpenSearch{
		ism: ism, components: map[string]map[string]any{}, indexTmpls: map[string]map[string]any{},
		policies: map[string]*fakePolicy{}, indices: map[string]bool{}, aliases: map[string]string{},
		refuse: map[string]bool{}, puts: map[string]json.RawMessage{},
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func osError(w http.ResponseWriter, status int, typ, reason string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"type": typ, "reason": reason}, "status": status})
}

func (f *fakeOpenSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	entry := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		entry += "?" + r.URL.RawQuery
	}
	f.log = append(f.log, entry)
	if r.Method == http.MethodPut {
		f.puts[r.URL.Path] = body
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case parts[0] == "_plugins":
		if !f.ism {
			osError(w, http.StatusBadRequest, "", fmt.Sprintf("no handler found for uri [%s] and method [%s]", r.URL.Path, r.Method))
			return
		}
		if len(parts) == 3 {
			writeJSON(w, 200, map[string]any{"policies": []any{}, "total_policies": 0})
			return
		}
		id := parts[3]
		p := f.policies[id]
		switch r.Method {
		case http.MethodGet:
			if p == nil {
				osError(w, 404, "status_exception", "Policy not found")
				return
			}
			writeJSON(w, 200, map[string]any{"_id": id, "_seq_no": p.seq, "_primary_term": p.term,
				"policy": map[string]any{"policy_id": id, "description": p.desc}})
		case http.MethodPut:
			if p != nil && (r.URL.Query().Get("if_seq_no") != fmt.Sprint(p.seq) || r.URL.Query().Get("if_primary_term") != fmt.Sprint(p.term)) {
				osError(w, 409, "version_conflict_engine_exception", "seq_no/primary_term mismatch")
				return
			}
			var b struct {
				Policy struct {
					Description string `json:"description"`
				} `json:"policy"`
			}
			_ = json.Unmarshal(body, &b)
			if p == nil {
				p = &fakePolicy{term: 1}
				f.policies[id] = p
			} else {
				p.seq++
			}
			p.body, p.desc, p.lastPutURL = body, b.Policy.Description, entry
			writeJSON(w, 201, map[string]any{"_id": id})
		}
	case parts[0] == "_component_template" || parts[0] == "_index_template":
		store, list, inner := f.components, "component_templates", "component_template"
		if parts[0] == "_index_template" {
			store, list, inner = f.indexTmpls, "index_templates", "index_template"
		}
		switch r.Method {
		case http.MethodGet:
			var items []any
			for name, b := range store {
				items = append(items, map[string]any{"name": name, inner: b})
			}
			writeJSON(w, 200, map[string]any{list: items})
		case http.MethodPut:
			name := parts[1]
			if f.refuse[name] {
				osError(w, 400, "illegal_argument_exception", "index template ["+name+"] has index patterns matching patterns from existing templates with the same priority")
				return
			}
			var b map[string]any
			if err := json.Unmarshal(body, &b); err != nil {
				osError(w, 400, "parse_exception", err.Error())
				return
			}
			store[name] = b
			writeJSON(w, 200, map[string]any{"acknowledged": true})
		}
	case parts[0] == "_alias":
		if idx, ok := f.aliases[parts[1]]; ok {
			writeJSON(w, 200, map[string]any{idx: map[string]any{"aliases": map[string]any{parts[1]: map[string]any{}}}})
			return
		}
		osError(w, 404, "aliases_not_found_exception", "alias ["+parts[1]+"] missing")
	case len(parts) == 1 && r.Method == http.MethodHead:
		_, alias := f.aliases[parts[0]]
		if f.indices[parts[0]] || alias {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(404)
	case len(parts) == 1 && r.Method == http.MethodPut:
		var b struct {
			Aliases map[string]any `json:"aliases"`
		}
		_ = json.Unmarshal(body, &b)
		if f.raceIndex == parts[0] {
			f.raceIndex = ""
			f.indices[parts[0]] = true
			for a := range b.Aliases {
				f.aliases[a] = parts[0]
			}
		}
		if f.indices[parts[0]] {
			osError(w, 400, "resource_already_exists_exception", "index ["+parts[0]+"] already exists")
			return
		}
		f.indices[parts[0]] = true
		for a := range b.Aliases {
			f.aliases[a] = parts[0]
		}
		writeJSON(w, 200, map[string]any{"acknowledged": true, "index": parts[0]})
	default:
		osError(w, 400, "", "no handler found for uri ["+r.URL.Path+"]")
	}
}

func (f *fakeOpenSearch) takeLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.log
	f.log = nil
	return l
}

func fakeClient(t *testing.T, f *fakeOpenSearch) *opensearch.Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := opensearch.NewClient(opensearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func count(l []string, prefix string) int {
	n := 0
	for _, e := range l {
		if strings.HasPrefix(e, prefix) {
			n++
		}
	}
	return n
}

func TestInstallIdempotentWithoutISM(t *testing.T) {
	f := newFake(false)
	c := fakeClient(t, f)
	reg := goldenRegistry(t)
	set, _ := Build(reg, DefaultOptions())
	ctx := context.Background()

	rep, err := Install(ctx, c, reg, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.ISM || !strings.Contains(strings.Join(rep.Notes, "\n"), "ISM plugin not available") {
		t.Errorf("ISM %v, notes %q", rep.ISM, rep.Notes)
	}
	nonISM := 0
	for _, tm := range set.All() {
		if !tm.ISM {
			nonISM++
		}
	}
	// Everything created but the rollover template and policy (skipped); the
	// write alias is created even without ISM, as es-loader does.
	if rep.Count(Created) != nonISM+1 || rep.Count(Skipped) != 2 || rep.Count(Failed) != 0 {
		t.Errorf("first install: %s\n%+v", rep.Summary(), rep.Items)
	}
	if f.aliases["log-aws-cloudtrail-rollover"] != "log-aws-cloudtrail-rollover-000001" {
		t.Errorf("aliases %v", f.aliases)
	}
	l := f.takeLog()
	if count(l, "PUT /_component_template/") != len(set.Components) {
		t.Errorf("component PUTs: %v", l)
	}
	// The installed bodies are exactly ours.
	for _, tm := range set.Components {
		got := f.puts["/_component_template/"+tm.Name]
		want, _ := json.Marshal(tm.Body)
		if string(got) != string(want) {
			t.Errorf("%s: body differs", tm.Name)
		}
	}

	rep, err = Install(ctx, c, reg, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Count(Created)+rep.Count(Updated)+rep.Count(Failed) != 0 {
		t.Errorf("second install changed something: %s\n%+v", rep.Summary(), rep.Items)
	}
	if l := f.takeLog(); count(l, "PUT ") != 0 {
		t.Errorf("second install sent PUTs: %v", l)
	}

	// A changed option updates only what it changes.
	o := DefaultOptions()
	o.Shards = 1
	rep, err = Install(ctx, c, reg, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range rep.Items {
		want := Unchanged
		if it.Kind == KindIndex && !strings.HasSuffix(it.Name, rolloverSuffix) {
			want = Updated
		}
		if strings.HasSuffix(it.Name, rolloverSuffix) || it.Kind == KindPolicy {
			want = Skipped
		}
		if it.Action != want {
			t.Errorf("%s %s: %s, want %s", it.Kind, it.Name, it.Action, want)
		}
	}
	// Force rewrites everything.
	o.Force = true
	rep, _ = Install(ctx, c, reg, o)
	if rep.Count(Updated) != len(set.Components)+len(set.Indices)-1 {
		t.Errorf("force: %s", rep.Summary())
	}
}

func TestInstallWithISM(t *testing.T) {
	f := newFake(true)
	c := fakeClient(t, f)
	reg := goldenRegistry(t)
	ctx := context.Background()
	o := DefaultOptions()
	rep, err := Install(ctx, c, reg, o)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.ISM || rep.Count(Skipped) != 0 || rep.Count(Failed) != 0 {
		t.Fatalf("%s %v %+v", rep.Summary(), rep.Notes, rep.Items)
	}
	rt := f.indexTmpls["log-aws-cloudtrail-rollover_rollover"]
	if rt == nil {
		t.Fatal("no rollover template")
	}
	settings := rt["template"].(map[string]any)["settings"].(map[string]any)
	if settings[rolloverSetting] != "log-aws-cloudtrail-rollover" {
		t.Errorf("rollover template settings %v", settings)
	}
	// The policy request body is the golden one.
	want, err := os.ReadFile(filepath.Join("testdata", "golden", "policy", "default.json"))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal(want, &a)
	_ = json.Unmarshal(f.policies["rollover100gb"].body, &b)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("policy body:\n%s\nwant\n%s", f.policies["rollover100gb"].body, want)
	}

	rep, _ = Install(ctx, c, reg, o)
	if rep.Count(Unchanged) != len(rep.Items) {
		t.Errorf("second install: %s", rep.Summary())
	}
	// Changing the retention updates the policy with optimistic concurrency.
	f.policies["rollover100gb"].seq, f.policies["rollover100gb"].term = 7, 3
	o.RetentionDays = 30
	rep, err = Install(ctx, c, reg, o)
	if err != nil {
		t.Fatal(err)
	}
	p := f.policies["rollover100gb"]
	if p.lastPutURL != "PUT /_plugins/_ism/policies/rollover100gb?if_primary_term=3&if_seq_no=7" &&
		p.lastPutURL != "PUT /_plugins/_ism/policies/rollover100gb?if_seq_no=7&if_primary_term=3" {
		t.Errorf("policy update sent as %q", p.lastPutURL)
	}
	if !strings.Contains(string(p.body), `"min_index_age":"30d"`) {
		t.Errorf("policy body %s", p.body)
	}
}

func TestInstallDisableISM(t *testing.T) {
	f := newFake(true)
	c := fakeClient(t, f)
	o := DefaultOptions()
	o.DisableISM, o.NoWriteAliases = true, true
	rep, err := Install(context.Background(), c, goldenRegistry(t), o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ISM || count(f.takeLog(), "GET /_plugins") != 0 || len(f.aliases) != 0 {
		t.Errorf("ISM used although disabled: %s", rep.Summary())
	}
}

func TestInstallRefusedTemplateContinues(t *testing.T) {
	f := newFake(false)
	f.refuse["log-aws-elb_aws"] = true
	c := fakeClient(t, f)
	rep, err := Install(context.Background(), c, goldenRegistry(t), DefaultOptions())
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "log-aws-elb_aws") {
		t.Fatalf("error %v", err)
	}
	if rep.Count(Failed) != 1 || f.indexTmpls["log-aws-waf_aws"] == nil {
		t.Errorf("%s", rep.Summary())
	}
}

func TestWriteAlias(t *testing.T) {
	ctx := context.Background()
	t.Run("concrete index in the way", func(t *testing.T) {
		f := newFake(false)
		f.indices["log-aws-cloudtrail-rollover"] = true
		rep, err := Install(ctx, fakeClient(t, f), goldenRegistry(t), DefaultOptions())
		if err == nil || !strings.Contains(err.Error(), "cannot be a rollover alias") || rep.Count(Failed) != 1 {
			t.Errorf("err %v, %s", err, rep.Summary())
		}
	})
	t.Run("another worker won the race", func(t *testing.T) {
		f := newFake(false)
		f.raceIndex = "log-aws-cloudtrail-rollover-000001"
		rep, err := Install(ctx, fakeClient(t, f), goldenRegistry(t), DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range rep.Items {
			if it.Kind == KindWriteAlias && it.Action != Unchanged {
				t.Errorf("%+v", it)
			}
		}
	})
}

func TestInstallUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := opensearch.NewClient(opensearch.Config{Addresses: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Install(context.Background(), c, goldenRegistry(t), DefaultOptions())
	if err == nil || errors.Is(err, ErrRefused) {
		t.Fatalf("want a transport error, got %v", err)
	}
}

func TestShow(t *testing.T) {
	f := newFake(false)
	c := fakeClient(t, f)
	reg := goldenRegistry(t)
	ctx := context.Background()
	if _, err := Install(ctx, c, reg, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	// A user template overriding CloudTrail, as es-loader's docs suggest.
	f.indexTmpls["log-aws-cloudtrail_mine"] = map[string]any{"index_patterns": []any{"log-aws-cloudtrail-*"}, "priority": 10}
	f.components["component_template_log"]["version"] = float64(1)
	st, err := Show(ctx, c, reg, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]Status{}
	for _, s := range st {
		states[s.Name] = s
	}
	if s := states["component_template_log"]; s.State != "differs" || s.Installed != 1 {
		t.Errorf("log: %+v", s)
	}
	if s := states["log-aws-vpcflowlogs_aws"]; s.State != "up to date" || len(s.OverriddenBy) != 0 {
		t.Errorf("vpcflowlogs: %+v", s)
	}
	if s := states["log-aws-cloudtrail_aws"]; len(s.OverriddenBy) != 1 || s.OverriddenBy[0] != "log-aws-cloudtrail_mine (priority 10)" {
		t.Errorf("cloudtrail: %+v", s)
	}
	if s := states["log-aws-cloudtrail-rollover_rollover"]; s.State != "no ISM plugin" {
		t.Errorf("rollover: %+v", s)
	}
	if s := states["rollover100gb"]; s.State != "no ISM plugin" {
		t.Errorf("policy: %+v", s)
	}
}
