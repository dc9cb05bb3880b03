package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/tidwall/gjson"

	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/schemas/templates"
	"github.com/siemstream/siemstream/stages"
	stagechain "github.com/siemstream/siemstream/stages/chain"
)

// The template tests install the real templates (what the consumer does at
// start: idempotent, same bodies for everyone) and write only to indices of
// their own: <real index>-t<random>, which the real templates' patterns
// match and no other test uses; they delete those indices and any template
// only they created.

func osClient(t *testing.T, s *Stack) *opensearch.Client {
	t.Helper()
	c, err := opensearch.NewClient(opensearch.Config{Addresses: []string{s.OpenSearch}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func randID() string { return fmt.Sprintf("%08x", rand.Uint32()) }

// sampleDoc is one normalized document of a log type.
type sampleDoc struct {
	LogType, Index, ID string
	Body               json.RawMessage
}

var fixedNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// normalizeObject runs an object through the producer's splitter and the
// consumer's stage chain, as `siemstream normalize` does.
func normalizeObject(t *testing.T, chain stages.Chain, lt *schemas.LogType, key string, obj []byte) []sampleDoc {
	t.Helper()
	format, err := producer.FormatFor(lt)
	if err != nil {
		t.Fatal(err)
	}
	body, _, err := split.Open(bytes.NewReader(obj))
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	defer body.Close()
	sp, err := split.New(body, format, split.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	src := &stages.Source{LogType: lt.Name, Bucket: "aes-siem-123456789012-log", Key: key}
	var b stages.Batch
	for {
		rec, ord, err := sp.Next()
		if err == io.EOF {
			break
		}
		var re *split.RecordError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if src.Context == nil && sp.Context() != nil {
			src.Context = slices.Clone(sp.Context())
		}
		b.Events = append(b.Events, stages.Event{Src: src, Ordinal: ord, Raw: slices.Clone(rec)})
	}
	if err := chain.Process(context.Background(), &b); err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	var out []sampleDoc
	for _, e := range b.Events {
		if e.Status == stages.Keep {
			out = append(out, sampleDoc{LogType: lt.Name, Index: e.Index, ID: e.ID, Body: slices.Clone(e.Out)})
		}
	}
	return out
}

// sampleChain is the consumer's chain with no optional data source and
// event.ingested frozen at fixedNow.
func sampleChain(t *testing.T, reg *schemas.Registry) *stagechain.Assembly {
	t.Helper()
	pl, err := stagechain.New(context.Background(), stagechain.Config{Now: func() time.Time { return fixedNow }},
		stagechain.Deps{Deps: stages.Deps{Registry: reg}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pl.Close)
	return pl
}

// samples collects normalized documents of every log type we have input
// for: the normalize parity cases (testdata/normalize/<type>/<case>.key and
// its object) and the seeded generators (bench/gen), at most perType each.
func samples(t *testing.T, root string, reg *schemas.Registry, perType int) []sampleDoc {
	t.Helper()
	pl := sampleChain(t, reg)
	chain, err := pl.Stages()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]int{}
	var out []sampleDoc
	add := func(docs []sampleDoc) {
		for _, d := range docs {
			if have[d.LogType] < perType {
				have[d.LogType]++
				out = append(out, d)
			}
		}
	}
	keys, _ := filepath.Glob(filepath.Join(root, "testdata", "normalize", "*", "*.key"))
	for _, kf := range keys {
		if _, err := os.Stat(filepath.Join(filepath.Dir(kf), "user.ini")); err == nil {
			continue // a user type: TestTemplatesUserTypes covers those
		}
		kb, err := os.ReadFile(kf)
		if err != nil {
			t.Fatal(err)
		}
		key := strings.TrimSpace(string(kb))
		lt, ignored := reg.Detect(key)
		if lt == nil || ignored {
			continue
		}
		base := strings.TrimSuffix(kf, ".key")
		for _, ext := range []string{".log", ".json", ".gz", ".txt", ".xml", ".csv"} {
			if obj, err := os.ReadFile(base + ext); err == nil {
				add(normalizeObject(t, chain, lt, key, obj))
				break
			}
		}
	}
	for _, name := range gen.Types() {
		g, err := gen.New(name, 7)
		if err != nil {
			t.Fatal(err)
		}
		key := g.Key(fixedNow, 1)
		lt, ignored := reg.Detect(key)
		if lt == nil || ignored {
			t.Logf("generator %s: key %s has no log type yet", name, key)
			continue
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := g.Write(zw, 20, fixedNow); err != nil {
			t.Fatal(err)
		}
		zw.Close()
		add(normalizeObject(t, chain, lt, key, buf.Bytes()))
	}
	// Enriched documents (GeoIP: *.geo.location, IoC: threat.enrichments),
	// es-loader's own output for VPC flow logs.
	for _, f := range []string{"geoip/esloader-vpcflow.expected.jsonl", "ioc/esloader-vpcflow.expected.jsonl"} {
		b, err := os.ReadFile(filepath.Join(root, "testdata", "enrich", f))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 16<<20)
		for sc.Scan() {
			doc := gjson.Get(sc.Text(), "doc")
			out = append(out, sampleDoc{LogType: "vpcflowlogs (enriched)", Index: "log-aws-vpcflowlogs-2024-03",
				ID: gjson.Get(sc.Text(), "_id").String(), Body: json.RawMessage(doc.Raw)})
		}
	}
	var missing []string
	for _, lt := range reg.Types() {
		if have[lt.Name] == 0 {
			missing = append(missing, lt.Name)
		}
	}
	if len(missing) > 0 {
		t.Logf("no sample input for log types: %s", strings.Join(missing, " "))
	}
	return out
}

// bulk indexes docs (one index each) and returns per-document errors.
func bulk(ctx context.Context, s *Stack, docs []sampleDoc, indexOf func(sampleDoc) string) ([]string, error) {
	var buf bytes.Buffer
	for _, d := range docs {
		meta, _ := json.Marshal(map[string]any{"index": map[string]any{"_index": indexOf(d), "_id": d.ID}})
		buf.Write(meta)
		buf.WriteByte('\n')
		buf.Write(d.Body)
		buf.WriteByte('\n')
	}
	req, err := http.NewRequestWithContext(ctx, "POST", s.OpenSearch+"/_bulk?refresh=true", &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	// Bounded by ctx rather than the stack client's 30s: the bulk may create
	// indices on a busy shared cluster.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("bulk: HTTP %d: %s", resp.StatusCode, out)
	}
	var errs []string
	for i, it := range gjson.GetBytes(out, "items").Array() {
		if e := it.Get("index.error"); e.Exists() {
			errs = append(errs, fmt.Sprintf("%s doc %s → %s: %s: %s", docs[i].LogType, docs[i].ID, indexOf(docs[i]), e.Get("type"), e.Get("reason")))
		}
	}
	return errs, nil
}

// fieldTypes flattens a GET <index>/_mapping answer to path -> type.
func fieldTypes(mapping gjson.Result) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, props gjson.Result)
	walk = func(prefix string, props gjson.Result) {
		props.ForEach(func(k, v gjson.Result) bool {
			p := prefix + k.String()
			typ := v.Get("type").String()
			if typ == "" && v.Get("properties").Exists() {
				typ = "object"
			}
			out[p] = typ
			if v.Get("properties").Exists() {
				walk(p+".", v.Get("properties"))
			}
			return true
		})
	}
	walk("", mapping.Get("mappings.properties"))
	return out
}

// declaredTypes is what our templates say for the leaves of the template
// named tmpl (the components it composes, in order).
func declaredTypes(set *templates.Set, tmpl string) map[string]string {
	comps := map[string]templates.Template{}
	for _, c := range set.Components {
		comps[c.Name] = c
	}
	out := map[string]string{}
	for _, it := range set.Indices {
		if it.Name != tmpl {
			continue
		}
		for _, cn := range it.Body["composed_of"].([]any) {
			b, _ := json.Marshal(comps[cn.(string)].Body["template"])
			for k, v := range fieldTypes(gjson.ParseBytes(b)) {
				if v != "object" {
					out[k] = v
				}
			}
		}
	}
	return out
}

func TestTemplates(t *testing.T) {
	root, s := stackOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := osClient(t, s)
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := templates.DefaultOptions()
	set, err := templates.Build(reg, opts)
	if err != nil {
		t.Fatal(err)
	}

	// Install twice: the second run changes nothing.
	start := time.Now()
	rep, err := templates.Install(ctx, c, reg, opts)
	if err != nil {
		t.Fatalf("install: %v\n%+v", err, rep.Items)
	}
	t.Logf("first install (%v): %s; notes: %q", time.Since(start).Round(time.Millisecond), rep.Summary(), rep.Notes)
	if !rep.ISM && len(rep.Notes) == 0 {
		t.Error("no ISM plugin but no note saying so")
	}
	start = time.Now()
	rep, err = templates.Install(ctx, c, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("second install (%v): %s", time.Since(start).Round(time.Millisecond), rep.Summary())
	if n := rep.Count(templates.Created) + rep.Count(templates.Updated) + rep.Count(templates.Failed); n != 0 {
		t.Errorf("second install changed %d objects: %+v", n, rep.Items)
	}

	// GET _index_template shows ours with our version.
	for _, it := range set.Indices {
		if it.ISM && !rep.ISM {
			continue
		}
		b, err := s.Do(ctx, "GET", "/_index_template/"+it.Name, nil)
		if err != nil {
			t.Errorf("GET _index_template/%s: %v", it.Name, err)
			continue
		}
		if v := gjson.GetBytes(b, "index_templates.0.index_template.version").Int(); v != it.Version {
			t.Errorf("%s: installed version %d, ours %d", it.Name, v, it.Version)
		}
	}

	// Index one normalized document per log type (more for types sharing an
	// index) into indices of our own that the real patterns match.
	docs := samples(t, root, reg, 3)
	if len(docs) == 0 {
		t.Fatal("no sample documents")
	}
	suffix := "-t" + randID()
	testIndex := func(d sampleDoc) string { return d.Index + suffix }
	var created []string
	for _, d := range docs {
		if !slices.Contains(created, testIndex(d)) {
			created = append(created, testIndex(d))
		}
	}
	sort.Strings(created)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := s.Do(ctx, "DELETE", "/"+strings.Join(created, ",")+"?ignore_unavailable=true", nil); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	// Create the indices one by one (each picks its template), then load.
	start = time.Now()
	for _, ix := range created {
		if _, err := s.Do(ctx, "PUT", "/"+ix, nil); err != nil {
			t.Fatalf("create %s: %v", ix, err)
		}
	}
	t.Logf("created %d indices in %v", len(created), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	errs, err := bulk(ctx, s, docs, testIndex)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %d documents of %d log types into %d indices in %v", len(docs), countTypes(docs), len(created), time.Since(start).Round(time.Millisecond))
	for _, e := range errs {
		t.Errorf("rejected: %s", e)
	}

	// GET <index>/_mapping shows the types our templates declare.
	for _, ix := range created {
		base := strings.TrimSuffix(ix, suffix)
		tmpl := ""
		for name, tn := range set.Families {
			if base == name || strings.HasPrefix(base, name+"-") {
				if tmpl == "" || len(tn) > len(tmpl) {
					tmpl = tn
				}
			}
		}
		if tmpl == "" {
			t.Errorf("%s: no family", ix)
			continue
		}
		b, err := s.Do(ctx, "GET", "/"+ix+"/_mapping", nil)
		if err != nil {
			t.Fatal(err)
		}
		got := fieldTypes(gjson.GetBytes(b, gjson.Escape(ix)))
		for path, want := range map[string]string{
			"@timestamp": "date", "@message": "text", "@log_type": "keyword", "@log_s3bucket": "keyword",
			"event.ingested": "date", "event.category": "keyword", "event.module": "keyword",
			"source.ip": "ip", "destination.ip": "ip", "related.ip": "ip",
			"source.geo.location": "geo_point", "destination.geo.location": "geo_point",
			"source.port": "integer", "ecs.version": "keyword", "cloud.account.id": "keyword",
		} {
			if got[path] != want && !(got[path] == "" && (path == "ecs.version" || path == "cloud.account.id")) {
				t.Errorf("%s (%s): %s is %q, want %q", ix, tmpl, path, got[path], want)
			}
		}
		mismatch := 0
		for path, want := range declaredTypes(set, tmpl) {
			if got[path] != want {
				mismatch++
				if mismatch <= 5 {
					t.Errorf("%s (%s): %s is %q, the template declares %q", ix, tmpl, path, got[path], want)
				}
			}
		}
		if mismatch > 5 {
			t.Errorf("%s: %d fields in all differ from the template", ix, mismatch)
		}
	}

	// No value of ours was skipped as malformed (an ip field holding a
	// non-IP, a date OpenSearch cannot parse, a number out of range).
	b, err := s.Do(ctx, "POST", "/"+strings.Join(created, ",")+"/_search",
		map[string]any{"size": 100, "query": map[string]any{"exists": map[string]any{"field": "_ignored"}}, "_source": []string{"@log_type"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range gjson.GetBytes(b, "hits.hits").Array() {
		var fields []string
		for _, f := range h.Get("_ignored").Array() {
			if !slices.Contains(knownMalformed[h.Get("_source.@log_type").String()], f.String()) {
				fields = append(fields, f.String())
			}
		}
		if len(fields) > 0 {
			t.Errorf("%s doc %s (%s): malformed values ignored in %v", h.Get("_index"), h.Get("_id"), h.Get("_source.@log_type"), fields)
		} else {
			t.Logf("%s doc %s (%s): known malformed values ignored in %s", h.Get("_index"), h.Get("_id"), h.Get("_source.@log_type"), h.Get("_ignored").Raw)
		}
	}

	// Dead letters, as the consumer writes them, get the dead-letter mapping.
	dlIndex := opts.DeadLetterPrefix + "-t" + randID()
	t.Cleanup(func() { _, _ = s.Do(context.Background(), "DELETE", "/"+dlIndex+"?ignore_unavailable=true", nil) })
	var dls []sampleDoc
	for i, raw := range [][]byte{[]byte(strings.Repeat("x", 5000)), {0xff, 0xfe, 0x00, 'a'}, []byte(`{"a":1}`)} {
		dl := sink.DeadLetter{Time: fixedNow, Stage: "opensearch", Reason: "mapper_parsing_exception: failed to parse field [source.port]",
			LogType: "vpcflowlogs", Bucket: "b", Key: "k", Ordinal: int64(i), Index: "log-aws-vpcflowlogs-2025-03", ID: "id", Raw: raw}
		body, err := sink.DeadLetterJSON(&dl)
		if err != nil {
			t.Fatal(err)
		}
		dls = append(dls, sampleDoc{LogType: "dead letter", ID: sink.DeadLetterID(&dl), Body: body})
	}
	errs, err = bulk(ctx, s, dls, func(sampleDoc) string { return dlIndex })
	if err != nil || len(errs) > 0 {
		t.Fatalf("dead letters: %v %v", err, errs)
	}
	b, err = s.Do(ctx, "GET", "/"+dlIndex+"/_mapping", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fieldTypes(gjson.GetBytes(b, gjson.Escape(dlIndex)))
	for path, want := range map[string]string{"@timestamp": "date", "stage": "keyword", "reason": "keyword", "s3.key": "keyword",
		"ordinal": "long", "raw": "keyword", "raw_base64": "binary", "raw_bytes": "long", "raw_truncated": "boolean", "target.index": "keyword"} {
		if got[path] != want {
			t.Errorf("%s: %s is %q, want %q", dlIndex, path, got[path], want)
		}
	}

	// Still nothing to do after indices exist.
	rep, err = templates.Install(ctx, c, reg, opts)
	if err != nil || rep.Count(templates.Unchanged) != len(rep.Items)-rep.Count(templates.Skipped) {
		t.Errorf("third install: %v %s", err, rep.Summary())
	}
}

// knownMalformed: per log type, fields where our (es-loader parity) output
// holds a value the mapping cannot take; OpenSearch skips the value and
// keeps the document, as for es-loader. See schemas/templates
// conformance_test.go.
var knownMalformed = map[string][]string{
	// IPv6 ClientAddress keeps its brackets: "[2001:db8::1]".
	"elasticache-redis-slowlog": {"related.ip", "source.ip"},
}

func countTypes(docs []sampleDoc) int {
	m := map[string]bool{}
	for _, d := range docs {
		m[d.LogType] = true
	}
	return len(m)
}

// TestTemplatesUserTypes: user.ini types get templates, and an
// index_rotation = auto type gets its write alias on <index>-000001, which
// the consumer's writes to <index> then reach.
func TestTemplatesUserTypes(t *testing.T) {
	_, s := stackOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := osClient(t, s)
	rid := randID()
	auto, app := "log-tmpl"+rid+"-auto", "log-tmpl"+rid+"-app"
	ini := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(ini, []byte(fmt.Sprintf(`
[tmpl-auto-%[1]s]
s3_key = tmpl-%[1]s-auto/
file_format = json
index_name = %[2]s
index_rotation = auto
timestamp_key = ts
ecs = source.ip
source.ip = src
geoip = source

[tmpl-app-%[1]s]
s3_key = tmpl-%[1]s-app/
file_format = json
index_name = %[3]s
`, rid, auto, app)), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := schemas.Load(schemas.Options{UserINI: ini})
	if err != nil {
		t.Fatal(err)
	}
	opts := templates.DefaultOptions()
	mine := []string{auto + "_aws", app + "_aws", auto + "_rollover"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.Do(ctx, "DELETE", "/"+auto+"-*,"+app+"-*?ignore_unavailable=true&allow_no_indices=true", nil)
		for _, n := range mine {
			_, _ = s.Do(ctx, "DELETE", "/_index_template/"+n, nil)
		}
	})
	rep, err := templates.Install(ctx, c, reg, opts)
	if err != nil {
		t.Fatalf("%v\n%+v", err, rep.Items)
	}
	action := map[string]templates.Action{}
	for _, it := range rep.Items {
		action[string(it.Kind)+" "+it.Name] = it.Action
	}
	for k, want := range map[string]templates.Action{
		"index_template " + auto + "_aws": templates.Created,
		"index_template " + app + "_aws":  templates.Created,
		"write_alias " + auto:             templates.Created,
	} {
		if action[k] != want {
			t.Errorf("%s: %q, want %q", k, action[k], want)
		}
	}
	if !rep.ISM && action["index_template "+auto+"_rollover"] != templates.Skipped {
		t.Errorf("rollover template without ISM: %q", action["index_template "+auto+"_rollover"])
	}

	b, err := s.Do(ctx, "GET", "/_alias/"+auto, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !gjson.GetBytes(b, gjson.Escape(auto+"-000001")+".aliases."+gjson.Escape(auto)+".is_write_index").Bool() {
		t.Errorf("alias: %s", b)
	}

	// A document normalized for the auto type goes to the alias, as the
	// consumer writes it, and lands in -000001 with the template's types.
	chain, _ := sampleChain(t, reg).Stages()
	docs := normalizeObject(t, chain, reg.Lookup("tmpl-auto-"+rid), "tmpl-"+rid+"-auto/x.json",
		[]byte(`{"ts":"2025-03-14T11:00:00Z","src":"198.51.100.7","msg":"hello"}`+"\n"))
	if len(docs) != 1 || docs[0].Index != auto {
		t.Fatalf("normalized %+v", docs)
	}
	errs, err := bulk(ctx, s, docs, func(d sampleDoc) string { return d.Index })
	if err != nil || len(errs) > 0 {
		t.Fatalf("%v %v", err, errs)
	}
	b, err = s.Do(ctx, "GET", "/"+auto+"/_mapping", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := fieldTypes(gjson.GetBytes(b, gjson.Escape(auto+"-000001")))
	if got["source.ip"] != "ip" || got["@timestamp"] != "date" || got["msg"] != "keyword" {
		t.Errorf("mapping of %s-000001: source.ip %q @timestamp %q msg %q", auto, got["source.ip"], got["@timestamp"], got["msg"])
	}
	n, err := s.Count(ctx, auto+"-000001", map[string]any{"match_all": map[string]any{}})
	if err != nil || n != 1 {
		t.Errorf("count %d %v", n, err)
	}

	rep, err = templates.Install(ctx, c, reg, opts)
	if err != nil || rep.Count(templates.Created)+rep.Count(templates.Updated) != 0 {
		t.Errorf("second install: %v %s %+v", err, rep.Summary(), rep.Items)
	}
}

// TestTemplatesCLI runs `siemstream templates install` and `show`.
func TestTemplatesCLI(t *testing.T) {
	root, _ := stackOrSkip(t)
	bin := binary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, args := range [][]string{{"templates", "install"}, {"templates", "show"}} {
		out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		t.Logf("%v:\n%s", args, tail(string(out), 1500))
		if args[1] == "show" && strings.Contains(string(out), "run `siemstream templates install`") {
			t.Errorf("show after install reports missing templates:\n%s", out)
		}
	}
	out, err := exec.CommandContext(ctx, bin, "templates", "install", "--dry-run").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !gjson.ValidBytes(out) || !gjson.GetBytes(out, "component_templates.component_template_log").Exists() {
		t.Errorf("dry run output: %s", tail(string(out), 300))
	}
}
