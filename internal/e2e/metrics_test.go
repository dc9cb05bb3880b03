package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetrics loads a known set of objects through a producer and a
// consumer started with --metrics-addr 127.0.0.1:0 and --emf, and checks
// /metrics and the EMF lines against counts computed from the inputs:
// events in, delivered, excluded (CSV and an EXCLUDE condition), counted (a
// COUNT condition), failed (a broken line in the consumer, an oversized
// record in the producer), rejected by OpenSearch (an index whose mapping
// refuses the documents) and objects by outcome; then that the lag gauge is
// back to 0 and /healthz and /readyz answer.
func TestMetrics(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "metrics", 2, 5*time.Minute)
	name := r.App
	dropResources(t, s, r)
	dir := t.TempDir()
	suffix := "-" + name

	// The inputs.
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	tRej := time.Date(2024, 11, 2, 12, 0, 0, 0, time.UTC) // its own index, made to refuse
	a := genObject(t, dir, "vpcflowlogs", 2000, 31, t0)
	b := genObject(t, dir, "vpcflowlogs", 300, 32, t0.Add(time.Hour))
	c := genObject(t, dir, "vpcflowlogs", 200, 33, tRej)
	ct := genObject(t, dir, "cloudtrail", 400, 34, t0)
	// b: line 10 cannot be parsed (the consumer quarantines it), line 20 is
	// longer than --max-record-bytes (the producer quarantines it).
	b.body = editLines(t, b.body, map[int]string{
		10: "2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1741953600 notanumber ACCEPT OK",
		20: "2 123456789012 eni-0 10.0.0.1 10.0.0.2 1 2 6 1 40 1741953600 1741953601 ACCEPT " + strings.Repeat("X", 70000),
	})
	os.WriteFile(b.file, b.body, 0o644)

	csvPath := filepath.Join(dir, "exclude_log_patterns.csv")
	os.WriteFile(csvPath, []byte("log_type,field,pattern,pattern_type,comment\nvpcflowlogs,dstport,53,text,DNS noise\n"), 0o644)
	condPath := filepath.Join(dir, "conditions.json")
	os.WriteFile(condPath, []byte(`{"vpcflowlogs/a-drop-reject": {"action":"EXCLUDE","expression":"event.action == 'REJECT'"},
		"vpcflowlogs/b-count-ssh": {"action":"COUNT","expression":"destination.port == '22'"}}`), 0o644)

	// Expected counts, from the raw lines (the same rules as the
	// exclusion test) and the dry run for CloudTrail.
	type vpcCounts struct{ lines, csv, ssm, kept, ssh, bad, big, noAction int }
	countVPC := func(o object, bad, big int) vpcCounts {
		var n vpcCounts
		for i, l := range plainLines(t, o.body)[1:] {
			n.lines++
			if i+1 == bad || i+1 == big {
				if i+1 == bad {
					n.bad++
				} else {
					n.big++
				}
				continue
			}
			f := strings.Fields(l)
			switch {
			case f[6] == "53":
				n.csv++
			case f[12] == "REJECT":
				n.ssm++
			default:
				n.kept++
				if f[12] == "-" {
					n.noAction++ // NODATA: no event.action
				}
				if f[6] == "22" {
					n.ssh++
				}
			}
		}
		return n
	}
	ca, cb, cc := countVPC(a, 0, 0), countVPC(b, 10, 20), countVPC(c, 0, 0)
	if cb.bad != 1 || cb.big != 1 || ca.csv == 0 || ca.ssm == 0 || ca.ssh == 0 || cc.kept == 0 {
		t.Fatalf("generated data does not exercise every rule: %+v %+v %+v", ca, cb, cc)
	}
	ctDocs := normalizeExpected(t, bin, r.Bucket, ct)
	// c's documents all go to one index of their own; it is made with a
	// mapping that refuses them (event.action as an object, which
	// ignore_malformed does not cover), so OpenSearch rejects every one
	// with an event.action (NODATA records have none) and the consumer
	// dead-letters them.
	rejIndex := ""
	for _, d := range normalizeExpected(t, bin, r.Bucket, c) {
		if rejIndex != "" && d.Index != rejIndex {
			t.Fatalf("object c spans indices %s and %s", rejIndex, d.Index)
		}
		rejIndex = d.Index
	}
	for _, d := range normalizeExpected(t, bin, r.Bucket, a) {
		if d.Index == rejIndex {
			t.Fatalf("objects a and c share index %s", rejIndex)
		}
	}
	rejIndex += suffix
	if _, err := s.Do(ctx, "PUT", "/"+rejIndex, map[string]any{"mappings": map[string]any{"properties": map[string]any{
		"event": map[string]any{"properties": map[string]any{"action": map[string]any{"properties": map[string]any{"x": map[string]any{"type": "keyword"}}}}}}}}); err != nil {
		t.Fatalf("create %s: %v", rejIndex, err)
	}
	t.Cleanup(func() { s.Do(context.Background(), "DELETE", "/"+rejIndex, nil) })

	vpcLines := ca.lines + cb.lines + cc.lines
	rejected := cc.kept - cc.noAction
	want := map[string]map[string]float64{ // family → log_type → value
		"consumer/siemstream_events_total":           {"vpcflowlogs": float64(vpcLines - 1), "cloudtrail": float64(len(ctDocs))},
		"consumer/siemstream_events_delivered_total": {"vpcflowlogs": float64(ca.kept + cb.kept + cc.noAction), "cloudtrail": float64(len(ctDocs))},
		"consumer/siemstream_events_excluded_total":  {"vpcflowlogs": float64(ca.csv + ca.ssm + cb.csv + cb.ssm + cc.csv + cc.ssm), "cloudtrail": 0},
		"consumer/siemstream_events_counted_total":   {"vpcflowlogs": float64(ca.ssh + cb.ssh + cc.ssh)},
		"consumer/siemstream_events_failed_total":    {"vpcflowlogs": 1, "cloudtrail": 0},
		"consumer/siemstream_events_rejected_total":  {"vpcflowlogs": float64(rejected), "cloudtrail": 0},
		"producer/siemstream_events_total":           {"vpcflowlogs": float64(vpcLines - 1), "cloudtrail": float64(len(ctDocs))},
		"producer/siemstream_events_failed_total":    {"vpcflowlogs": 1, "cloudtrail": 0},
		"producer/siemstream_input_bytes_total":      {"vpcflowlogs": float64(plainSize(t, a.body) + plainSize(t, b.body) + plainSize(t, c.body)), "cloudtrail": float64(plainSize(t, ct.body))},
		"producer/siemstream_object_bytes_total":     {"vpcflowlogs": float64(len(a.body) + len(b.body) + len(c.body)), "cloudtrail": float64(len(ct.body))},
	}

	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200", "SIEM_EXCLUDE_SSM_PREFIX=",
		"SIEM_EXCLUDE_CSV="+csvPath, "SIEM_EXCLUDE_SSM_JSON="+condPath, "SIEM_INDEX_SUFFIX="+suffix,
		"SIEM_MAX_RECORD_BYTES=65536", "SIEM_EMF=true", "SIEM_EMF_INTERVAL=1s")
	cons := startFor(t, bin, "consumer", logDir, append(env, "SIEM_METRICS_ADDR=127.0.0.1:0"))
	prod, err := Start(bin, "producer", logDir, env, "producer", "--metrics-addr", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Stop(30 * time.Second)
	consURL, prodURL := metricsURL(t, ctx, cons), metricsURL(t, ctx, prod)

	for _, o := range []object{a, b, c, ct} {
		if err := s.Upload(ctx, r.Bucket, o.key, o.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Upload(ctx, r.Bucket, "misc/notes/readme.txt", []byte("not a log\n")); err != nil {
		t.Fatal(err)
	}

	// Wait until the consumer has accounted for every event, and every
	// dead letter is written.
	wantDone := want["consumer/siemstream_events_delivered_total"]["vpcflowlogs"] + want["consumer/siemstream_events_delivered_total"]["cloudtrail"] +
		want["consumer/siemstream_events_excluded_total"]["vpcflowlogs"] + want["consumer/siemstream_events_excluded_total"]["cloudtrail"] +
		want["consumer/siemstream_events_failed_total"]["vpcflowlogs"] + want["consumer/siemstream_events_rejected_total"]["vpcflowlogs"]
	var cm, pm map[string]*dto.MetricFamily
	err = WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		if err := exited(cons); err != nil {
			return false, err
		}
		var err error
		if cm, err = scrape(ctx, consURL); err != nil {
			return false, nil
		}
		done := sum(cm, "siemstream_events_delivered_total", nil) + sum(cm, "siemstream_events_excluded_total", nil) +
			sum(cm, "siemstream_events_failed_total", nil) + sum(cm, "siemstream_events_rejected_total", nil)
		if done > wantDone {
			return false, fmt.Errorf("consumer accounted for %v events, more than the %v sent", done, wantDone)
		}
		return done == wantDone && sum(cm, "siemstream_dead_letters_total", nil) == 1+want["consumer/siemstream_events_rejected_total"]["vpcflowlogs"], nil
	})
	if err != nil {
		t.Fatalf("consumer counters: %v\nwant %v (%v events accounted for)\n%s%s%s", err, want, wantDone, dump(cm, "siemstream_events"), dump(cm, "siemstream_dead"), dump(must(scrape(ctx, prodURL)), "siemstream_"))
	}
	if pm, err = scrape(ctx, prodURL); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]*dto.MetricFamily{"consumer": cm, "producer": pm}
	for key, byType := range want {
		role, fam, _ := strings.Cut(key, "/")
		for lt, w := range byType {
			if g := sum(got[role], fam, map[string]string{"log_type": lt}); g != w {
				t.Errorf("%s %s{log_type=%q} = %v, want %v", role, fam, lt, g, w)
			}
		}
	}
	for _, c := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{"siemstream_objects_total", map[string]string{"log_type": "vpcflowlogs", "outcome": "loaded"}, 3},
		{"siemstream_objects_total", map[string]string{"log_type": "cloudtrail", "outcome": "loaded"}, 1},
		{"siemstream_objects_total", map[string]string{"outcome": "unknown"}, 1},
		{"siemstream_objects_total", map[string]string{"outcome": "retry"}, 0},
		{"siemstream_sqs_messages_in_flight", nil, 0},
		{"siemstream_kinesis_put_entries_total", map[string]string{"outcome": "failed"}, 0},
	} {
		if g := sum(pm, c.fam, c.labels); g != c.want {
			t.Errorf("producer %s%v = %v, want %v", c.fam, c.labels, g, c.want)
		}
	}
	if acc, rec := sum(pm, "siemstream_kinesis_put_entries_total", map[string]string{"outcome": "accepted"}), sum(pm, "siemstream_kinesis_records_written_total", nil); acc == 0 || acc != rec {
		t.Errorf("producer: %v PutRecords entries accepted, %v records written per shard", acc, rec)
	}
	for _, c := range []struct {
		fam    string
		labels map[string]string
		want   float64
	}{
		{"siemstream_dead_letters_total", map[string]string{"outcome": "written"}, 1 + float64(rejected)},
		{"siemstream_events_in_flight", nil, 0},
		{"siemstream_leases_held", nil, 2},
		{"siemstream_bulk_items_total", map[string]string{"outcome": "4xx"}, float64(rejected)},
	} {
		if g := sum(cm, c.fam, c.labels); g != c.want {
			t.Errorf("consumer %s%v = %v, want %v", c.fam, c.labels, g, c.want)
		}
	}
	for _, fam := range []string{"siemstream_bulk_duration_seconds", "siemstream_output_bytes_total", "siemstream_input_bytes_total", "siemstream_kinesis_get_records_total", "siemstream_build_info", "go_goroutines"} {
		if cm[fam] == nil || sum(cm, fam, nil) == 0 && cm[fam].GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("consumer: %s missing or zero", fam)
		}
	}

	// Lag: every shard's MillisBehindLatest gauge goes back to 0.
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		m, err := scrape(ctx, consURL)
		if err != nil {
			return false, nil
		}
		f := m["siemstream_shard_behind_latest_seconds"]
		return f != nil && len(f.GetMetric()) == 2 && sum(m, "siemstream_shard_behind_latest_seconds", nil) == 0, nil
	})
	if err != nil {
		m, _ := scrape(ctx, consURL)
		t.Errorf("lag not back to 0: %v\n%s", err, dump(m, "siemstream_shard"))
	}
	for _, u := range []string{consURL, prodURL} {
		for _, p := range []string{"/healthz", "/readyz"} {
			code, body := get(ctx, u+p)
			var hb struct{ Status, Reason string }
			if code != 200 || json.Unmarshal([]byte(body), &hb) != nil || hb.Status != "ok" {
				t.Errorf("%s%s: %d %s", u, p, code, body)
			}
		}
	}

	// EMF: stop both (the last interval is written at exit) and add up the
	// lines per log type; they must say what /metrics said.
	if err := prod.Stop(30 * time.Second); err != nil {
		t.Errorf("producer stop: %v", err)
	}
	if err := cons.Stop(60 * time.Second); err != nil {
		t.Errorf("consumer stop: %v", err)
	}
	pe, ce := emfSums(t, prod.Output()), emfSums(t, cons.Output())
	for _, c := range []struct {
		got  map[string]map[string]float64
		name string
		lt   string
		want float64
	}{
		{pe, "TotalLogCount", "vpcflowlogs", float64(vpcLines - 1)},
		{pe, "TotalLogCount", "cloudtrail", float64(len(ctDocs))},
		{pe, "TotalLogFileCount", "vpcflowlogs", 3},
		{pe, "ErrorLogLoadCount", "vpcflowlogs", 1},
		{pe, "InputLogFileSize", "vpcflowlogs", want["producer/siemstream_object_bytes_total"]["vpcflowlogs"]},
		{ce, "SuccessLogLoadCount", "vpcflowlogs", want["consumer/siemstream_events_delivered_total"]["vpcflowlogs"]},
		{ce, "SuccessLogLoadCount", "cloudtrail", want["consumer/siemstream_events_delivered_total"]["cloudtrail"]},
		{ce, "ErrorLogLoadCount", "vpcflowlogs", 1 + float64(rejected)},
		{ce, "ExcludedLogCount", "vpcflowlogs", want["consumer/siemstream_events_excluded_total"]["vpcflowlogs"]},
		{ce, "CountedLogCount", "vpcflowlogs", want["consumer/siemstream_events_counted_total"]["vpcflowlogs"]},
		{ce, "OutputDataSize", "vpcflowlogs", sum(cm, "siemstream_output_bytes_total", map[string]string{"log_type": "vpcflowlogs"})},
	} {
		if g := c.got[c.lt][c.name]; g != c.want {
			t.Errorf("EMF %s{logtype=%s} = %v, want %v", c.name, c.lt, g, c.want)
		}
	}
	if pe["vpcflowlogs"]["TotalDurationTime"] <= 0 || ce["vpcflowlogs"]["EsResponseTime"] <= 0 {
		t.Errorf("EMF durations: TotalDurationTime %v, EsResponseTime %v", pe["vpcflowlogs"]["TotalDurationTime"], ce["vpcflowlogs"]["EsResponseTime"])
	}
	// The README's Logs Insights query, played on the JSON lines: every line
	// about object b (producer: records quarantined; consumer: COUNT
	// matches) carries its bucket, key and log type.
	var aboutB []string
	for _, out := range []string{prod.Output(), cons.Output()} {
		for _, line := range strings.Split(out, "\n") {
			var l map[string]any
			if json.Unmarshal([]byte(line), &l) != nil || l["s3_key"] != b.key {
				continue
			}
			if l["s3_bucket"] != r.Bucket || l["log_type"] != "vpcflowlogs" {
				t.Errorf("log line about %s without bucket or log type: %s", b.key, line)
			}
			aboutB = append(aboutB, fmt.Sprint(l["message"]))
		}
	}
	if !slices.Contains(aboutB, "records quarantined") {
		t.Errorf("no 'records quarantined' line with s3_key %s; lines about it: %q", b.key, aboutB)
	}
	t.Logf("METRICS: %v events in, %v delivered, %v excluded, %v counted, 1+1 failed, %v rejected; EMF lines agree",
		vpcLines-1+len(ctDocs), wantDone-want["consumer/siemstream_events_excluded_total"]["vpcflowlogs"]-want["consumer/siemstream_events_excluded_total"]["cloudtrail"]-1-float64(rejected),
		want["consumer/siemstream_events_excluded_total"]["vpcflowlogs"]+want["consumer/siemstream_events_excluded_total"]["cloudtrail"],
		want["consumer/siemstream_events_counted_total"]["vpcflowlogs"], rejected)
}

// TestMetricsAddrInUse: a second process on a taken address logs a warning
// and runs on.
func TestMetricsAddrInUse(t *testing.T) {
	root, s := stackOrSkip(t)
	_ = s
	bin := binary(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := NewName("metrics-busy")
	r, err := s.CreateResources(ctx, name, 1)
	if err != nil {
		t.Fatal(err)
	}
	dropResources(t, s, r)
	logDir := t.TempDir()
	first := startFor(t, bin, "producer", logDir, append(r.Env(), "SIEM_METRICS_ADDR=127.0.0.1:0"))
	u := metricsURL(t, ctx, first)
	addr := strings.TrimPrefix(u, "http://")
	second, err := Start(bin, "producer2", logDir, append(r.Env(), "SIEM_METRICS_ADDR="+addr), "producer")
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop(30 * time.Second)
	err = WaitFor(ctx, 30*time.Second, func() (bool, error) {
		if err := exited(second); err != nil {
			return false, err
		}
		return strings.Contains(second.Output(), "metrics endpoint not started") && strings.Contains(second.Output(), "producer starting"), nil
	})
	if err != nil {
		t.Fatalf("second producer on a taken metrics address: %v\n%s", err, second.Output())
	}
}

var metricsAddrRE = regexp.MustCompile(`"metrics_addr":"([^"]+)"[^\n]*"message":"metrics endpoint listening`)

// metricsURL reads the address the process bound from its log.
func metricsURL(t *testing.T, ctx context.Context, p *Proc) string {
	t.Helper()
	var addr string
	err := WaitFor(ctx, 30*time.Second, func() (bool, error) {
		if err := exited(p); err != nil {
			return false, err
		}
		m := metricsAddrRE.FindStringSubmatch(p.Output())
		if m != nil {
			addr = m[1]
		}
		return m != nil, nil
	})
	if err != nil {
		t.Fatalf("%s: no metrics address in the log: %v\n%s", p.Name, err, tail(p.Output(), 3000))
	}
	return "http://" + addr
}

func get(ctx context.Context, url string) (int, string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func scrape(ctx context.Context, base string) (map[string]*dto.MetricFamily, error) {
	code, body := get(ctx, base+"/metrics")
	if code != 200 {
		return nil, fmt.Errorf("scrape %s: %d %s", base, code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return p.TextToMetricFamilies(strings.NewReader(body))
}

// sum adds the samples of fam whose labels include want (counters, gauges,
// and histogram counts).
func sum(m map[string]*dto.MetricFamily, fam string, want map[string]string) float64 {
	f := m[fam]
	if f == nil {
		return 0
	}
	var tot float64
next:
	for _, mt := range f.GetMetric() {
		for k, v := range want {
			found := false
			for _, l := range mt.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case mt.Counter != nil:
			tot += mt.GetCounter().GetValue()
		case mt.Gauge != nil:
			tot += mt.GetGauge().GetValue()
		case mt.Histogram != nil:
			tot += float64(mt.GetHistogram().GetSampleCount())
		}
	}
	return tot
}

func dump(m map[string]*dto.MetricFamily, prefix string) string {
	var b strings.Builder
	for n, f := range m {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		for _, mt := range f.GetMetric() {
			fmt.Fprintf(&b, "%s%v %v\n", n, mt.GetLabel(), sum(map[string]*dto.MetricFamily{n: {Metric: []*dto.Metric{mt}}}, n, nil))
		}
	}
	return b.String()
}

// emfSums adds up the EMF lines in a process's output: log type → metric →
// total. It also checks each line's envelope.
func emfSums(t *testing.T, out string) map[string]map[string]float64 {
	t.Helper()
	sums := map[string]map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte(`"_aws"`)) {
			continue
		}
		var l map[string]any
		if err := json.Unmarshal(line, &l); err != nil {
			t.Errorf("EMF line is not JSON: %v: %s", err, line)
			continue
		}
		aws, _ := l["_aws"].(map[string]any)
		cwm, _ := aws["CloudWatchMetrics"].([]any)
		if len(cwm) != 1 {
			t.Errorf("EMF line without CloudWatchMetrics: %s", line)
			continue
		}
		d := cwm[0].(map[string]any)
		if d["Namespace"] != "SIEM" || fmt.Sprint(d["Dimensions"]) != "[[logtype]]" {
			t.Errorf("EMF namespace/dimensions: %s", line)
		}
		lt, _ := l["logtype"].(string)
		if sums[lt] == nil {
			sums[lt] = map[string]float64{}
		}
		for _, m := range d["Metrics"].([]any) {
			n := m.(map[string]any)["Name"].(string)
			v, ok := l[n].(float64)
			if !ok {
				t.Errorf("EMF metric %s has no value: %s", n, line)
			}
			sums[lt][n] += v
		}
	}
	return sums
}

func plainLines(t *testing.T, gz []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func plainSize(t *testing.T, gz []byte) int {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(zr)
	return len(b)
}

// editLines replaces data lines (1-based, after the header) of a gzip
// object.
func editLines(t *testing.T, gz []byte, repl map[int]string) []byte {
	t.Helper()
	lines := plainLines(t, gz)
	for i, l := range repl {
		lines[i] = l
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(strings.Join(lines, "\n") + "\n"))
	zw.Close()
	return zb.Bytes()
}

func must[T any](v T, _ error) T { return v }

// TestVersionFlag: the test binary is built with the Taskfile's -ldflags,
// and --version prints them.
func TestVersionFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := binary(t, root)
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", arg, err, out)
		}
		if !regexp.MustCompile(`^siemstream e2e \(commit [0-9a-f]{4,}, built 20\d\d-\d\d-\d\dT[0-9:]+Z, go1\.`).Match(out) {
			t.Errorf("%s printed %q", arg, out)
		}
	}
}
