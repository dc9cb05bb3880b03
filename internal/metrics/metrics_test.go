package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/sink"
	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/stages"
)

// TestCatalogNaming: every metric follows Prometheus naming (prefix, base
// units, _total counters) and uses only the agreed labels.
func TestCatalogNaming(t *testing.T) {
	rows, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 35 {
		t.Errorf("only %d metrics in the catalog", len(rows))
	}
	allowed := map[string]bool{"log_type": true, "shard": true, "stage": true, "outcome": true, "operation": true, "version": true, "commit": true, "go_version": true}
	for _, r := range rows {
		if r.Type == "counter" && !strings.HasSuffix(r.Name, "_total") {
			t.Errorf("%s: counter without _total", r.Name)
		}
		if r.Type != "counter" && strings.HasSuffix(r.Name, "_total") {
			t.Errorf("%s: %s named like a counter", r.Name, r.Type)
		}
		for _, bad := range []string{"_millis", "_ms", "_milliseconds", "_kb", "_mb"} {
			if strings.Contains(r.Name, bad) {
				t.Errorf("%s: not in base units", r.Name)
			}
		}
		for _, l := range r.Labels {
			if !allowed[l] {
				t.Errorf("%s: label %q", r.Name, l)
			}
		}
		if r.Help == "" {
			t.Errorf("%s: no help", r.Name)
		}
	}
}

func serve(t *testing.T, m *Metrics, h *Health) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	addr := Serve(ctx, "127.0.0.1:0", m, h, zerolog.Nop())
	if addr == "" {
		t.Fatal("not bound")
	}
	return "http://" + addr
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var log bytes.Buffer
	if got := Serve(context.Background(), ln.Addr().String(), New(Build{}), NewHealth(), zerolog.New(&log)); got != "" {
		t.Fatalf("bound %s on a taken address", got)
	}
	if !strings.Contains(log.String(), `"level":"warn"`) || !strings.Contains(log.String(), "metrics endpoint not started") {
		t.Errorf("no warning: %s", log.String())
	}
	if got := Serve(context.Background(), "", New(Build{}), NewHealth(), zerolog.Nop()); got != "" {
		t.Errorf("empty address served on %s", got)
	}
}

func TestHealthEndpoints(t *testing.T) {
	now := time.Unix(1000, 0)
	h := NewHealth()
	h.now = func() time.Time { return now }
	h.Loop("consumer", time.Minute)
	fail := errors.New("connection refused")
	var readyErr error
	h.Check("opensearch", func(context.Context) error { return readyErr })
	u := serve(t, New(Build{Version: "v1"}), h)

	if code, body := get(t, u+"/healthz"); code != 200 || strings.TrimSpace(body) != `{"status":"ok"}` {
		t.Errorf("healthz: %d %s", code, body)
	}
	now = now.Add(2 * time.Minute)
	code, body := get(t, u+"/healthz")
	var hb healthBody
	if code != 503 || json.Unmarshal([]byte(body), &hb) != nil || hb.Status != "fail" || !strings.Contains(hb.Reason, "consumer loop has not turned for 2m0s") {
		t.Errorf("stalled healthz: %d %s", code, body)
	}
	h.Beat("consumer")
	if code, _ := get(t, u+"/healthz"); code != 200 {
		t.Errorf("healthz after a beat: %d", code)
	}
	if code, _ := get(t, u+"/readyz"); code != 200 {
		t.Errorf("readyz: %d", code)
	}
	readyErr = fail
	now = now.Add(time.Second) // within the cache: still the old answer
	if code, _ := get(t, u+"/readyz"); code != 200 {
		t.Errorf("readyz cached: %d", code)
	}
	now = now.Add(5 * time.Second)
	code, body = get(t, u+"/readyz")
	if code != 503 || !strings.Contains(body, "opensearch: connection refused") {
		t.Errorf("readyz failing: %d %s", code, body)
	}
	code, body = get(t, u+"/metrics")
	if code != 200 || !strings.Contains(body, `siemstream_build_info{commit="",go_version="go`) || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics: %d %.500s", code, body)
	}
}

// TestEMF: lines carry es-loader's names and units, the change since the
// last flush, and only log types with activity.
func TestEMF(t *testing.T) {
	m := New(Build{})
	counts := obs.NewRegistry()
	m.RegisterCounts(counts)
	var out bytes.Buffer
	e := NewEMF(m, RoleConsumer, &out)
	e.now = func() time.Time { return time.UnixMilli(1700000000123) }
	c := m.Consumer(nil)
	src := &stages.Source{LogType: "vpcflowlogs"}
	b := &stages.Batch{Events: []stages.Event{{Src: src, Raw: []byte("abc"), Out: []byte(`{"a":1}`)}, {Src: src, Raw: []byte("de"), Status: stages.Dropped}}}
	c.Delivering("s", 2)
	c.BatchDone("s", b, sink.Stats{Delivered: 1}, 250*time.Millisecond, nil)
	counts.Add("vpcflowlogs", obs.Counts{Events: 2, Delivered: 1, Excluded: 1})
	counts.Add("cloudtrail", obs.Counts{})
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	want := `{"CountedLogCount":0,"ErrorLogLoadCount":0,"EsResponseTime":250,"ExcludedLogCount":1,"OutputDataSize":7,"SuccessLogLoadCount":1,"_aws":{"CloudWatchMetrics":[{"Dimensions":[["logtype"]],"Metrics":[{"Name":"OutputDataSize","Unit":"Bytes"},{"Name":"SuccessLogLoadCount","Unit":"Count"},{"Name":"ErrorLogLoadCount","Unit":"Count"},{"Name":"ExcludedLogCount","Unit":"Count"},{"Name":"CountedLogCount","Unit":"Count"},{"Name":"EsResponseTime","Unit":"Milliseconds"}],"Namespace":"SIEM"}],"Timestamp":1700000000123},"logtype":"vpcflowlogs"}` + "\n"
	if out.String() != want {
		t.Errorf("EMF:\n got %s\nwant %s", out.String(), want)
	}
	out.Reset()
	counts.Add("vpcflowlogs", obs.Counts{Events: 3, Delivered: 3})
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"SuccessLogLoadCount":3,`) || !strings.Contains(out.String(), `"ExcludedLogCount":0,`) {
		t.Errorf("second interval is not the change: %s", out.String())
	}
	out.Reset()
	if err := e.Flush(); err != nil || out.Len() != 0 {
		t.Errorf("idle interval wrote %q (%v)", out.String(), err)
	}
}

func TestProducerEMF(t *testing.T) {
	m := New(Build{})
	counts := obs.NewRegistry()
	m.RegisterCounts(counts)
	var out bytes.Buffer
	e := NewEMF(m, RoleProducer, &out)
	p := m.Producer(nil)
	p.ObjectDone(notify.Object{Size: 100}, producer.ObjectResult{Outcome: producer.Loaded, LogType: "alb", Records: 5, Bytes: 400}, 1500*time.Millisecond, nil)
	p.ObjectDone(notify.Object{Size: 100}, producer.ObjectResult{Outcome: producer.Unknown}, time.Millisecond, nil)
	p.ObjectDone(notify.Object{Size: 100}, producer.ObjectResult{LogType: "alb"}, time.Millisecond, errors.New("throttled"))
	counts.Add("alb", obs.Counts{Objects: 1, Events: 5})
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"InputLogFileSize":100,`, `"TotalLogFileCount":1,`, `"TotalLogCount":5,`, `"TotalDurationTime":1500,`, `"logtype":"alb"`} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("producer EMF lacks %s: %s", w, out.String())
		}
	}
	if strings.Count(out.String(), "\n") != 1 {
		t.Errorf("want one line (alb): %s", out.String())
	}
}

// BenchmarkConsumerObserver is the metrics work one consumer batch costs,
// alone: Delivering + BatchDone over a batch of 5000 events of two log
// types, the instrumented sink's pass over 5000 results, one RecordsRead
// and one Checkpointed. ns/event compared with BenchmarkConsumer's
// ns/event is the share of the hot path metrics take.
func BenchmarkConsumerObserver(b *testing.B) {
	m := New(Build{})
	o := m.Consumer(NewHealth())
	const n = 5000
	srcA, srcB := &stages.Source{LogType: "vpcflowlogs"}, &stages.Source{LogType: "cloudtrail"}
	batch := &stages.Batch{Events: make([]stages.Event, n)}
	docs := make([]sink.Doc, n)
	res := make([]sink.Result, n)
	for i := range batch.Events {
		src := srcA
		if i >= n*3/4 {
			src = srcB
		}
		batch.Events[i] = stages.Event{Src: src, Raw: make([]byte, 150), Out: make([]byte, 900)}
		res[i] = sink.Result{Outcome: sink.Delivered, Status: 201}
	}
	s := m.Sink(nopSink{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		o.RecordsRead("shardId-000000000000", 2, 0)
		o.Delivering("shardId-000000000000", n)
		_ = s.Write(context.Background(), docs, res)
		o.BatchDone("shardId-000000000000", batch, sink.Stats{Delivered: n}, time.Millisecond, nil)
		o.Checkpointed("shardId-000000000000")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
}

type nopSink struct{}

func (nopSink) Write(context.Context, []sink.Doc, []sink.Result) error { return nil }

func (nopSink) Health(context.Context) error { return nil }
func (nopSink) Close() error                 { return nil }
