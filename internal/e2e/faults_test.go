package e2e

// Fault tests: the real binary, as separate processes, on the local stack.
// Each test loads a known set of objects, injects one fault while events
// flow, waits until OpenSearch holds exactly the events loaded, and logs one
// line (grep "FAULT "):
//
//	FAULT <name>: coordinator=… in=… indexed=… lost=… duplicates=… extra_writes=… resent=… consumer_dups=… bound=… recovery=…
//
// duplicates = documents with _version > 1; extra_writes = Σ(_version-1);
// resent = events a producer put into Kinesis twice (counted in the stream);
// consumer_dups = extra_writes - resent, the duplicate deliveries of the
// consumers, which must stay within bound (the un-checkpointed work the
// fault can explain).
//
// SIEM_FAULT_LOG_DIR keeps every process's log under <dir>/<resource name>/.
//
// They run only with SIEM_FAULT_TESTS=1 (`go tool task test:faults`): they
// take minutes, and one of them freezes the shared OpenSearch node for 60 s.
// SIEM_TEST_COORDINATOR=dynamo|kcl picks the lease coordinator (default:
// dynamo when `siemstream consumer` has --coordinator, else kcl);
// SIEM_TEST_BIN runs a prebuilt binary instead of building one.
//
// These tests are why the default coordinator is ours (consumer/lease/dynamo)
// and not vmware-go-kcl-v2: with SIEM_TEST_COORDINATOR=kcl, TestFaultZombie
// fails (a worker whose lease was taken keeps processing and writes its older
// checkpoint over the new owner's: events are re-read, and nothing tells the
// processor it lost the lease), TestFaultBalanceIdle fails (its lease sync
// skips rows without a checkpoint, so a fleet on a quiet stream never
// balances), and TestFaultBalance shows leases moving between healthy
// workers, read twice meanwhile. The tests stay, skipped for kcl unless it
// is asked for, so each failure can be reproduced.

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// faultSuite is what every fault test shares: the stack, one binary and the
// coordinator under test.
type faultSuite struct {
	root      string
	stack     *Stack
	bin       string
	coord     string
	coordFlag bool
}

var (
	faultOnce  sync.Once
	faultSetup *faultSuite
	faultSkip  string
	faultErr   error
)

// faults returns the suite, or skips the test (not enabled, stack down).
func faults(t *testing.T) *faultSuite {
	t.Helper()
	if os.Getenv("SIEM_FAULT_TESTS") != "1" {
		t.Skip("fault test: set SIEM_FAULT_TESTS=1 (go tool task test:faults); it takes minutes and pauses the shared OpenSearch")
	}
	if testing.Short() {
		t.Skip("fault test: skipped with -short")
	}
	faultOnce.Do(func() { faultSetup, faultSkip, faultErr = setupFaults() })
	if faultErr != nil {
		t.Fatal(faultErr)
	}
	if faultSkip != "" {
		t.Skip(faultSkip)
	}
	return faultSetup
}

func setupFaults() (*faultSuite, string, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, "", err
	}
	ok, err := LoadEnv(root)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "local stack not started: run `go tool task up`", nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := Connect(ctx)
	if err != nil {
		return nil, "", err
	}
	if _, err := s.Do(ctx, "GET", "/_cluster/health", nil); err != nil {
		return nil, fmt.Sprintf("OpenSearch not reachable (%v): run `go tool task up`", err), nil
	}
	bin := os.Getenv("SIEM_TEST_BIN")
	if bin == "" {
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("siemstream-faults-%d", os.Getuid()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, "", err
		}
		tmp, err := os.MkdirTemp(dir, "build")
		if err != nil {
			return nil, "", err
		}
		defer os.RemoveAll(tmp)
		built, err := Build(ctx, root, tmp)
		if err != nil {
			return nil, "", err
		}
		// One binary per user, replaced atomically: no pile-up in /tmp.
		bin = filepath.Join(dir, "siemstream")
		if err := os.Rename(built, bin); err != nil {
			return nil, "", err
		}
	}
	coord, err := ChooseCoordinator(ctx, bin)
	if err != nil {
		return nil, "", err
	}
	return &faultSuite{root: root, stack: s, bin: bin, coord: coord, coordFlag: HasCoordinatorFlag(ctx, bin)}, "", nil
}

// Consumer settings shared by the fault tests: short failover and shard
// sync so faults resolve in seconds; exclusions off so nothing another
// engineer puts into the shared SSM can drop our events.
const (
	faultFailoverMS = 5000
	faultMaxRecords = 20
)

func consumerArgs(extra ...string) []string {
	return append([]string{
		"--failover-time-ms", strconv.Itoa(faultFailoverMS), "--shard-sync-interval-ms", "1000",
		"--idle-time-between-reads-ms", "200", "--max-records", strconv.Itoa(faultMaxRecords), "--batch-events", "5000",
	}, extra...)
}

func producerArgs(extra ...string) []string {
	return append([]string{"--visibility-timeout", "10s", "--workers", "4"}, extra...)
}

// newFleet creates isolated resources and a fleet on them; processes are
// stopped, and the stream and lease tables deleted, when the test ends.
func (fs *faultSuite) newFleet(t *testing.T, ctx context.Context, name string, shards int) *Fleet {
	t.Helper()
	r, err := fs.stack.CreateResources(ctx, NewName("flt-"+name), shards)
	if err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	if d := os.Getenv("SIEM_FAULT_LOG_DIR"); d != "" {
		// Keep the process logs (CI artifacts, debugging).
		logDir = filepath.Join(d, r.App)
		if err := os.MkdirAll(logDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &Fleet{
		Bin: fs.bin, LogDir: logDir, Res: r, Coordinator: fs.coord, CoordinatorFlag: fs.coordFlag,
		Env: []string{"SIEM_EXCLUDE_SSM_PREFIX=", "SIEM_PROGRESS=2s", "SIEM_LOG_LEVEL=info"},
	}
	if fs.coord == CoordinatorDynamo {
		// A lease-taker pass every 200ms instead of the KCL's
		// (failover+epsilon)*2 = 10s, so an expired lease is noticed well
		// within the renewal the takeover bound allows: a taker sees the
		// last renewal up to one pass late and takes the lease at the first
		// pass after expiry (measured 4.7–5.9 s with 500ms passes, against
		// a 6.67 s bound).
		f.Env = append(f.Env, "SIEM_LEASE_TAKER_MS=200")
	}
	t.Cleanup(func() {
		for _, err := range f.StopAll(15 * time.Second) {
			t.Logf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("process logs (tails):\n%s", f.Logs(6000))
		}
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = fs.stack.Kinesis.DeleteStream(cctx, &kinesis.DeleteStreamInput{StreamName: &r.Stream, EnforceConsumerDeletion: aws.Bool(true)})
		// The lease tables: the live one and any replay's (named after it).
		in := &dynamodb.ListTablesInput{}
		for {
			out, err := fs.stack.DynamoDB.ListTables(cctx, in)
			if err != nil {
				break
			}
			for _, tb := range out.TableNames {
				if strings.HasPrefix(tb, r.App) {
					_, _ = fs.stack.DynamoDB.DeleteTable(cctx, &dynamodb.DeleteTableInput{TableName: aws.String(tb)})
				}
			}
			if out.LastEvaluatedTableName == nil {
				break
			}
			in.ExclusiveStartTableName = out.LastEvaluatedTableName
		}
	})
	return f
}

// vmwareKnown skips a test that vmware-go-kcl-v2 is known to fail unless
// the kcl coordinator was asked for explicitly (SIEM_TEST_COORDINATOR=kcl),
// so the failure stays reproducible without failing every default run.
func (fs *faultSuite) vmwareKnown(t *testing.T, failure string) {
	t.Helper()
	if fs.coord == CoordinatorKCL && os.Getenv(CoordinatorEnv) != CoordinatorKCL {
		t.Skipf("known vmware-go-kcl-v2 failure (%s): run with %s=kcl to reproduce", failure, CoordinatorEnv)
	}
}

func faultMust[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ownerByShard maps shard → owner.
func ownerByShard(rows []LeaseRow) map[string]string {
	m := map[string]string{}
	for _, r := range rows {
		m[r.Shard] = r.Owner
	}
	return m
}

// waitBalanced waits until every one of workers holds exactly per leases of
// the shards leases.
func waitBalanced(ctx context.Context, s *Stack, table string, workers []string, shards, per int, timeout time.Duration) ([]LeaseRow, error) {
	var rows []LeaseRow
	err := WaitFor(ctx, timeout, func() (bool, error) {
		var err error
		rows, err = s.Leases(ctx, table)
		if err != nil {
			return false, nil // table not created yet
		}
		if len(rows) != shards {
			return false, nil
		}
		own := Owners(rows)
		for _, w := range workers {
			if len(own[w]) != per {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return rows, fmt.Errorf("leases not balanced %d per worker: %v: %w", per, Owners(rows), err)
	}
	return rows, nil
}

// finishFault waits for exactly in documents, then reads the stream, OpenSearch
// and the processors' logs and builds the report. Its Bound is what lease
// handovers explain (counted from the processors' "shard lease taken" logs,
// which no table polling can miss): each new owner re-reads at most one
// un-checkpointed batch (GetRecords of faultMaxRecords records) of the
// shard; tests add what their fault explains on top.
func finishFault(t *testing.T, ctx context.Context, fs *faultSuite, f *Fleet, fault string, in int64, timeout time.Duration) FaultReport {
	t.Helper()
	if _, err := fs.stack.WaitIndexed(ctx, "log-*", f.Res.Bucket, in, timeout); err != nil {
		t.Fatal(err)
	}
	d := faultMust[Delivery](t)(fs.stack.Deliveries(ctx, "log-*", f.Res.Bucket))
	sc := faultMust[StreamContent](t)(fs.stack.ReadStream(ctx, f.Res.Stream))
	dl := faultMust[int64](t)(fs.stack.Count(ctx, "siemstream-deadletter-*", map[string]any{"term": map[string]any{"s3.bucket": f.Res.Bucket}}))
	if dl != 0 {
		t.Errorf("%d dead letters for %s", dl, f.Res.Bucket)
	}
	r := FaultReport{Fault: fault, Coordinator: fs.coord, In: in, Indexed: d.Docs, Delivery: d, Resent: sc.Events - in}
	handovers := 0
	for shard, n := range Handovers(f.LeaseTakes()) {
		handovers += n
		if c := sc.Shards[shard]; c != nil {
			r.Bound += int64(n) * MaxWindow(c.PerRecord, faultMaxRecords)
		}
	}
	r.Extra = fmt.Sprintf("stream_events=%d kinesis_records=%d handovers=%d", sc.Events, sc.Records, handovers)
	return r
}

// checkFault asserts zero lost and consumer duplicates within the bound.
func checkFault(t *testing.T, r FaultReport) {
	t.Helper()
	t.Log(r.String())
	if r.Indexed != r.In {
		t.Errorf("%s: %d of %d events indexed", r.Fault, r.Indexed, r.In)
	}
	if r.Resent < 0 {
		t.Errorf("%s: the stream holds %d events fewer than loaded", r.Fault, -r.Resent)
	}
	if r.Bound >= 0 && r.ConsumerDuplicates() > r.Bound {
		t.Errorf("%s: %d duplicate deliveries by consumers, more than the %d the fault explains", r.Fault, r.ConsumerDuplicates(), r.Bound)
	}
	if r.ConsumerDuplicates() < 0 {
		t.Errorf("%s: fewer writes (%d) than events sent to the stream (%d)", r.Fault, r.Delivery.ExtraWrites+r.Indexed, r.In+r.Resent)
	}
}

// batchBound is the most events one GetRecords batch of maxRecords records
// can carry on each of the shards, summed: what consumers can have delivered
// but not checkpointed when the fault hit.
func batchBound(sc StreamContent, shards []string, maxRecords int) int64 {
	var b int64
	for _, id := range shards {
		if c := sc.Shards[id]; c != nil {
			b += MaxWindow(c.PerRecord, maxRecords)
		}
	}
	return b
}

func shardIDs(sc StreamContent) []string {
	var ids []string
	for id := range sc.Shards {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestFaultBalance: three consumers on a six-shard stream each hold two
// leases within a bounded time and keep them while all are healthy and
// events flow.
func TestFaultBalance(t *testing.T) {
	fs := faults(t)
	fs.vmwareKnown(t, "leases ping-pong between healthy workers and are read twice meanwhile")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "balance", 6)
	// Events flow while the fleet balances (vmware only syncs lease owners
	// of shards that have a checkpoint) and while it holds.
	during := faultMust[Dataset](t)(Generate("vpcflowlogs", 12, 1500, 100, time.Now().Add(-30*time.Minute)))
	hold := faultMust[Dataset](t)(Generate("vpcflowlogs", 12, 1500, 150, time.Now().Add(-28*time.Minute)))
	in := during.Events + hold.Events

	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, during); err != nil {
		t.Fatal(err)
	}
	// All three start at once, as a fleet does after a deploy.
	start := time.Now()
	var workers []string
	for _, n := range []string{"c1", "c2", "c3"} {
		faultMust[*Proc](t)(f.Consumer(n, consumerArgs()...))
		workers = append(workers, f.WorkerID(n))
	}
	balanced, err := waitBalanced(ctx, fs.stack, f.Res.App, workers, 6, 2, balanceBound)
	if err != nil {
		t.Fatal(err)
	}
	balancedAt := time.Now()
	// The processors' logs catch up with the table: each owner has logged
	// its start on each of its shards.
	var takesAtBalance map[string]map[string]int
	err = WaitFor(ctx, 10*time.Second, func() (bool, error) {
		takesAtBalance = f.LeaseTakes()
		for _, l := range balanced {
			if takesAtBalance[l.Shard][l.Owner] == 0 {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("owners at balance did not log their shard starts: %v", err)
	}

	// Hold: more events; no lease may move from now until every event is
	// indexed: no processor starts again, and the owners at the end are
	// those at balance.
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, hold); err != nil {
		t.Fatal(err)
	}
	const holdFor = 20 * time.Second
	holdEnd := time.NewTimer(holdFor) // the hold length is this test's parameter
	select {
	case <-holdEnd.C:
	case <-ctx.Done():
	}
	// Duplicates are expected only from leases that changed hands while
	// balancing (finishFault's bound).
	r := finishFault(t, ctx, fs, f, "balance", in, 2*time.Minute)
	var holding []string
	for shard, by := range f.LeaseTakes() {
		for w, n := range by {
			if n > takesAtBalance[shard][w] {
				holding = append(holding, fmt.Sprintf("%s started %d more time(s) on %s", shard, n-takesAtBalance[shard][w], w))
			}
		}
	}
	want := ownerByShard(balanced)
	for sh, o := range ownerByShard(faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App))) {
		if want[sh] != o {
			holding = append(holding, fmt.Sprintf("%s owned by %s at balance, by %s at the end", sh, want[sh], o))
		}
	}
	r.Recovery = balancedAt.Sub(start)
	r.Extra += fmt.Sprintf(" balanced_after=%s balance_limit=%s lease_moves_while_healthy=%d",
		r.Recovery.Round(100*time.Millisecond), balanceBound, len(holding))
	checkFault(t, r)
	if len(holding) > 0 {
		t.Errorf("leases moved while every worker was healthy and the fleet balanced: %v", holding)
	}
}

// TestFaultBalanceIdle: scaling out on a stream with no records yet (a new
// application, a quiet stream): one consumer holds all six leases, two more
// start, and the three must balance by stealing. vmware-go-kcl-v2 never
// does: its lease sync skips rows without a checkpoint, so every rebalance
// aborts with AssignedToNotFoundForShard (measured: stuck at 3/2/1 and 6/0/0
// for 4 minutes).
func TestFaultBalanceIdle(t *testing.T) {
	fs := faults(t)
	fs.vmwareKnown(t, "never rebalances a stream whose shards have no checkpoint yet")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "idle", 6)
	faultMust[*Proc](t)(f.Consumer("c1", consumerArgs()...))
	first := []string{f.WorkerID("c1")}
	if _, err := waitBalanced(ctx, fs.stack, f.Res.App, first, 6, 6, time.Minute); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	workers := append(first, f.WorkerID("c2"), f.WorkerID("c3"))
	faultMust[*Proc](t)(f.Consumer("c2", consumerArgs()...))
	faultMust[*Proc](t)(f.Consumer("c3", consumerArgs()...))
	if _, err := waitBalanced(ctx, fs.stack, f.Res.App, workers, 6, 2, balanceBound); err != nil {
		t.Fatal(err)
	}
	r := FaultReport{Fault: "balance-idle", Coordinator: fs.coord, Recovery: time.Since(start),
		Extra: fmt.Sprintf("balanced_after=%s balance_limit=%s", time.Since(start).Round(100*time.Millisecond), balanceBound)}
	t.Log(r.String())
}

// balanceBound: a KCL-style taker converges in a few taker intervals
// ((failover+epsilon)*2 = ~10 s here).
const balanceBound = 60 * time.Second

// TestFaultKillProducer: kill -9 a producer in the middle of a large object;
// its SQS message comes back after the visibility timeout and a second
// producer loads the object again. Re-sent events are expected duplicates;
// the consumers add none. The stream has one shard and the producers write
// through the throttling proxy at a quarter of a shard's write limit, so the
// object takes seconds to send, as a large object does on a busy shard, and
// the kill lands after some of its records were accepted and before the
// last.
func TestFaultKillProducer(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "killprod", 1)
	big := faultMust[Dataset](t)(Generate("vpcflowlogs", 1, 60000, 200, time.Now().Add(-40*time.Minute)))
	small := faultMust[Dataset](t)(Generate("vpcflowlogs", 4, 2000, 300, time.Now().Add(-20*time.Minute)))
	in := big.Events + small.Events
	// A quarter of a shard's write rate: each ~1 MiB record of the object
	// waits ~4 s for the one before.
	lim := KinesisLimits()
	lim.PutBytesPerSec /= 4
	proxy := throttleProxy(t, fs, lim)
	f.ProducerEnv = []string{"AWS_ENDPOINT_URL_KINESIS=" + proxy.URL()}

	startConsumers(t, ctx, fs, f, []string{"c1", "c2"})
	p1 := faultMust[*Proc](t)(f.Producer("p1", producerArgs("--workers", "1")...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, big); err != nil {
		t.Fatal(err)
	}
	// Mid-object: Kinesis accepted some of its records, its message is
	// still in flight.
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		if proxy.Stats().PutAccepted == 0 {
			return false, nil
		}
		vis, inFlight, err := fs.stack.QueueDepth(ctx, f.Res.QueueURL)
		if err == nil && vis+inFlight == 0 {
			return false, fmt.Errorf("the object was sent completely before the kill: make it larger")
		}
		return err == nil && inFlight == 1, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p1.Kill()
	killed := time.Now()
	accepted := proxy.Stats().PutAccepted
	vis, inFlight := faultMust2(t)(fs.stack.QueueDepth(ctx, f.Res.QueueURL))
	if vis+inFlight != 1 {
		t.Fatalf("after the kill the queue holds %d messages, want the object's 1 (was it deleted before the object was done?)", vis+inFlight)
	}
	faultMust[*Proc](t)(f.Producer("p2", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, small); err != nil {
		t.Fatal(err)
	}
	// Recovery of the producer side: every message deleted, i.e. the
	// second producer sent the whole object (and the small ones).
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		vis, inFlight, err := fs.stack.QueueDepth(ctx, f.Res.QueueURL)
		return err == nil && vis+inFlight == 0, nil
	})
	if err != nil {
		t.Fatalf("queue not drained after the kill: %v", err)
	}
	resent := time.Since(killed)
	r := finishFault(t, ctx, fs, f, "kill-producer", in, 3*time.Minute)
	r.Recovery = resent
	r.Extra += fmt.Sprintf(" records_accepted_before_kill=%d visibility_timeout=10s all_indexed_after=%s", accepted, time.Since(killed).Round(100*time.Millisecond))
	checkFault(t, r)
	if r.Resent == 0 {
		t.Errorf("nothing was re-sent: the kill did not land mid-object")
	}
}

// throttleProxy starts the Kinesis-limits proxy for one test.
func throttleProxy(t *testing.T, fs *faultSuite, limits ThrottleLimits) *KinesisThrottle {
	t.Helper()
	target := os.Getenv("AWS_ENDPOINT_URL_KINESIS")
	if target == "" {
		target = os.Getenv("AWS_ENDPOINT_URL")
	}
	proxy, err := NewKinesisThrottle(target, limits, fs.stack.Kinesis)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	return proxy
}

// startConsumers starts the first consumer, waits until it has created the
// lease table, then starts the others (simultaneous first starts race on
// CreateTable with vmware-go-kcl-v2; TestFaultBalance keeps that race).
func startConsumers(t *testing.T, ctx context.Context, fs *faultSuite, f *Fleet, names []string, extra ...string) map[string]*Proc {
	t.Helper()
	procs := map[string]*Proc{}
	procs[names[0]] = faultMust[*Proc](t)(f.Consumer(names[0], consumerArgs(extra...)...))
	err := WaitFor(ctx, time.Minute, func() (bool, error) {
		out, err := fs.stack.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &f.Res.App})
		return err == nil && out.Table.TableStatus == "ACTIVE", nil
	})
	if err != nil {
		t.Fatalf("lease table %s not created: %v", f.Res.App, err)
	}
	for _, n := range names[1:] {
		procs[n] = faultMust[*Proc](t)(f.Consumer(n, consumerArgs(extra...)...))
	}
	return procs
}

func faultMust2(t *testing.T) func(int, int, error) (int, int) {
	return func(a, b int, err error) (int, int) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

// TestFaultKillConsumer: three consumers, kill -9 one mid-stream; its leases
// are taken over within failoverTimeMillis + one renewal, nothing is lost,
// and the duplicates stay within its un-checkpointed batches.
func TestFaultKillConsumer(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "killcons", 6)
	ds := faultMust[Dataset](t)(Generate("vpcflowlogs", 24, 2000, 400, time.Now().Add(-50*time.Minute)))

	names := []string{"c1", "c2", "c3"}
	procs := map[string]*Proc{}
	var workers []string
	for n, p := range startConsumers(t, ctx, fs, f, names) {
		procs[f.WorkerID(n)] = p
		workers = append(workers, f.WorkerID(n))
	}
	slices.Sort(workers)
	// Every worker holds some lease before the data comes.
	err := WaitFor(ctx, time.Minute, func() (bool, error) {
		rows, err := fs.stack.Leases(ctx, f.Res.App)
		if err != nil || len(rows) != 6 {
			return false, nil
		}
		own := Owners(rows)
		for _, w := range workers {
			if len(own[w]) == 0 {
				return false, nil
			}
		}
		return len(own[""]) == 0, nil
	})
	if err != nil {
		t.Fatalf("not every worker got a lease: %v", err)
	}
	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := fs.stack.CountBucket(ctx, "log-*", f.Res.Bucket)
		return err == nil && n >= ds.Events/4, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows := faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App))
	own := Owners(rows)
	victim := workers[0]
	for _, w := range workers {
		if len(own[w]) > len(own[victim]) {
			victim = w
		}
	}
	lost := own[victim]
	procs[victim].Kill()
	killed := time.Now()

	// Takeover: every shard of the victim owned by a live worker.
	var takeover time.Duration
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		rows, err := fs.stack.Leases(ctx, f.Res.App)
		if err != nil {
			return false, err
		}
		o := ownerByShard(rows)
		for _, sh := range lost {
			if o[sh] == "" || o[sh] == victim {
				return false, nil
			}
		}
		takeover = time.Since(killed)
		return true, nil
	})
	if err != nil {
		t.Fatalf("leases of the killed worker %v not taken over: %v", lost, err)
	}
	// The takeovers are handovers: finishFault's bound covers the victim's
	// un-checkpointed batches.
	r := finishFault(t, ctx, fs, f, "kill-consumer", ds.Events, 3*time.Minute)
	r.Recovery = takeover
	renewal := time.Duration(faultFailoverMS) * time.Millisecond / 3
	limit := time.Duration(faultFailoverMS)*time.Millisecond + renewal
	r.Extra += fmt.Sprintf(" killed_leases=%d takeover=%s takeover_limit=%s", len(lost), takeover.Round(10*time.Millisecond), limit)
	checkFault(t, r)
	// One poll of slack (WaitFor backs off to 500ms).
	if takeover > limit+500*time.Millisecond {
		t.Errorf("takeover took %s, more than failoverTimeMillis + one renewal (%s)", takeover.Round(10*time.Millisecond), limit)
	}
}

// TestFaultOpenSearchPause: the OpenSearch node is frozen (SIGSTOP) for 60 s
// mid-stream, then continued. Nothing is lost; duplicates are limited to the
// bulk requests that were in flight when it froze.
func TestFaultOpenSearchPause(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "ospause", 4)
	ds := faultMust[Dataset](t)(Generate("vpcflowlogs", 16, 2000, 500, time.Now().Add(-55*time.Minute)))

	startConsumers(t, ctx, fs, f, []string{"c1", "c2"})
	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := fs.stack.CountBucket(ctx, "log-*", f.Res.Bucket)
		return err == nil && n > 0, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	before := faultMust[int64](t)(fs.stack.CountBucket(ctx, "log-*", f.Res.Bucket))
	const outage = 60 * time.Second
	resume, err := PauseOpenSearch(fs.root, outage+20*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := resume(); err != nil {
			t.Errorf("SIGCONT OpenSearch: %v", err)
		}
	})
	// The outage length is this test's parameter: wait it out on a timer.
	timer := time.NewTimer(outage)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
	}
	if err := resume(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	r := finishFault(t, ctx, fs, f, "opensearch-pause", ds.Events, 3*time.Minute)
	r.Recovery = time.Since(resumed)
	// A bulk request in flight when the node froze times out on the client
	// (60s) and is retried, and the node applies the original too when it
	// continues: each shard's in-flight batch can be written twice more.
	sc := faultMust[StreamContent](t)(fs.stack.ReadStream(ctx, f.Res.Stream))
	r.Bound += 2 * batchBound(sc, shardIDs(sc), faultMaxRecords)
	r.Extra += fmt.Sprintf(" outage=%s indexed_before=%d", outage, before)
	checkFault(t, r)
}

// TestFaultShardSplit: a shard is split while records flow. The parent is
// read to its end and checkpointed SHARD_END before its children start;
// every event arrives.
func TestFaultShardSplit(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "split", 2)
	first := faultMust[Dataset](t)(Generate("vpcflowlogs", 8, 2000, 600, time.Now().Add(-45*time.Minute)))
	second := faultMust[Dataset](t)(Generate("vpcflowlogs", 8, 2000, 700, time.Now().Add(-35*time.Minute)))
	in := first.Events + second.Events

	startConsumers(t, ctx, fs, f, []string{"c1", "c2"})
	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, first); err != nil {
		t.Fatal(err)
	}
	// Watch the lease table from now on: when did the parent reach
	// SHARD_END, when did each child first checkpoint.
	type seen struct {
		parentEnd  time.Time
		childStart map[string]time.Time
	}
	var mu sync.Mutex
	obs := seen{childStart: map[string]time.Time{}}
	parent := "shardId-000000000000"
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		_ = WaitFor(watchCtx, 4*time.Minute, func() (bool, error) {
			rows, err := fs.stack.Leases(watchCtx, f.Res.App)
			if err != nil {
				return false, nil
			}
			now := time.Now()
			mu.Lock()
			defer mu.Unlock()
			for _, r := range rows {
				switch {
				case r.Shard == parent && r.Checkpoint == "SHARD_END" && obs.parentEnd.IsZero():
					obs.parentEnd = now
				case slices.Contains(r.Parents, parent) && isSeqNum(r.Checkpoint):
					if _, ok := obs.childStart[r.Shard]; !ok {
						obs.childStart[r.Shard] = now
					}
				}
			}
			return false, nil
		})
	}()
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := fs.stack.CountBucket(ctx, "log-*", f.Res.Bucket)
		return err == nil && n >= first.Events/3, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	shards := faultMust[[]openShard](t)(listOpenShards(ctx, fs.stack, f.Res.Stream))
	mid := hashMidpoint(shards[0].from, shards[0].to)
	if _, err := fs.stack.Kinesis.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: &f.Res.Stream, ShardToSplit: aws.String(parent), NewStartingHashKey: aws.String(mid)}); err != nil {
		t.Fatal(err)
	}
	split := time.Now()
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, second); err != nil {
		t.Fatal(err)
	}
	r := finishFault(t, ctx, fs, f, "shard-split", in, 3*time.Minute)
	// The parent's end and both children's starts must all be seen.
	var children []string
	sc := faultMust[StreamContent](t)(fs.stack.ReadStream(ctx, f.Res.Stream))
	for id, c := range sc.Shards {
		if slices.Contains(c.Parents, parent) {
			children = append(children, id)
		}
	}
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if obs.parentEnd.IsZero() {
			return false, nil
		}
		for _, c := range children {
			if _, ok := obs.childStart[c]; !ok && sc.Shards[c].Records > 0 {
				return false, nil
			}
		}
		return true, nil
	})
	stopWatch()
	<-watchDone
	mu.Lock()
	defer mu.Unlock()
	if err != nil {
		t.Fatalf("parent SHARD_END seen at %v, children first checkpoints %v (children %v): %v", obs.parentEnd, obs.childStart, children, err)
	}
	var order []string
	for _, c := range children {
		st, ok := obs.childStart[c]
		if !ok {
			continue
		}
		order = append(order, fmt.Sprintf("%s:+%s", c, st.Sub(split).Round(100*time.Millisecond)))
		if st.Before(obs.parentEnd) {
			t.Errorf("child %s checkpointed at %s, before its parent reached SHARD_END at %s", c, st.Format(time.StampMilli), obs.parentEnd.Format(time.StampMilli))
		}
	}
	r.Recovery = obs.parentEnd.Sub(split)
	r.Extra += fmt.Sprintf(" parent_shard_end=+%s children_started=%v", obs.parentEnd.Sub(split).Round(100*time.Millisecond), order)
	checkFault(t, r)
}

func isSeqNum(cp string) bool {
	if cp == "" {
		return false
	}
	_, ok := new(big.Int).SetString(cp, 10)
	return ok
}

type openShard struct {
	id       string
	from, to *big.Int
}

func listOpenShards(ctx context.Context, s *Stack, stream string) ([]openShard, error) {
	all, err := s.ListAllShards(ctx, stream)
	if err != nil {
		return nil, err
	}
	var out []openShard
	for _, sh := range all {
		if sh.SequenceNumberRange.EndingSequenceNumber != nil {
			continue
		}
		from, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
		to, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
		out = append(out, openShard{id: aws.ToString(sh.ShardId), from: from, to: to})
	}
	slices.SortFunc(out, func(a, b openShard) int { return strings.Compare(a.id, b.id) })
	return out, nil
}

func hashMidpoint(a, b *big.Int) string {
	m := new(big.Int).Add(a, b)
	return m.Rsh(m, 1).String()
}

// TestFaultThrottle: a one-shard stream behind a proxy that enforces the
// Kinesis shard limits (1000 records/s and 1 MiB/s written; this consumer
// gets 2 of the 5 reads/s and 512 KiB/s of the 2 MiB/s read), and a burst
// far above them. The local Kinesis emulators
// never throttle (kinesalite; kinesis-mock accepted 12 MB/s into one shard),
// so the proxy answers ProvisionedThroughputExceededException the way
// Kinesis does. Producers retry the refused entries, consumers back off;
// nothing is lost.
func TestFaultThrottle(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "throttle", 1)
	ds := faultMust[Dataset](t)(Generate("vpcflowlogs", 6, 10000, 800, time.Now().Add(-25*time.Minute)))

	// Shard limits, except that this application gets 2 of the shard's 5
	// reads/s and a quarter of its 2 MiB/s (the rest is used by other
	// applications reading the same stream), so reads are throttled too.
	lim := KinesisLimits()
	lim.GetCallsPerSec, lim.GetBytesPerSec = 2, lim.GetBytesPerSec/4
	proxy := throttleProxy(t, fs, lim)
	f.Env = append(f.Env, "AWS_ENDPOINT_URL_KINESIS="+proxy.URL())

	// Write side: eight producer workers put the objects at once into one
	// shard (1 MiB/s, 1000 records/s).
	faultMust[*Proc](t)(f.Producer("p1", producerArgs("--workers", "8")...))
	start := time.Now()
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	err := WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		vis, inFlight, err := fs.stack.QueueDepth(ctx, f.Res.QueueURL)
		return err == nil && vis+inFlight == 0, nil
	})
	if err != nil {
		t.Fatalf("objects not all sent: %v", err)
	}
	sent := time.Since(start)
	// Read side: the consumer starts on the backlog, so its first reads
	// return several MiB and the calls after them are over 2 MiB/s.
	startConsumers(t, ctx, fs, f, []string{"c1"})
	r := finishFault(t, ctx, fs, f, "kinesis-throttle", ds.Events, 4*time.Minute)
	r.Recovery = time.Since(start)
	st := proxy.Stats()
	r.Extra += fmt.Sprintf(" all_sent_after=%s put_entries=%d put_throttled=%d get_calls=%d get_throttled=%d", sent.Round(100*time.Millisecond), st.PutEntries, st.PutThrottled, st.GetCalls, st.GetThrottled)
	checkFault(t, r)
	if st.PutThrottled == 0 {
		t.Errorf("the burst was never throttled: the producer retry path was not exercised")
	}
	if st.GetThrottled == 0 {
		t.Errorf("no read was throttled: the consumer's backoff path was not exercised")
	}
}

// TestFaultZombieKCL: a consumer frozen (SIGSTOP) past its failover time
// while processing, then continued. With vmware-go-kcl-v2 the continued
// worker, which no longer holds its leases, still checkpoints (an
// unconditional PutItem) — the lease table then shows it as owner again or a
// checkpoint going backwards. Known vmware behaviour, kept as proof: with
// kcl it runs only when asked for (SIEM_TEST_COORDINATOR=kcl); dynamo must
// pass.
func TestFaultZombie(t *testing.T) {
	fs := faults(t)
	fs.vmwareKnown(t, "a worker that lost its leases still checkpoints")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "zombie", 2)
	ds := faultMust[Dataset](t)(Generate("vpcflowlogs", 24, 1500, 900, time.Now().Add(-15*time.Minute)))

	// No stealing on either worker: after the takeover, the zombie may not
	// own a lease again, and no checkpoint may go backwards.
	z := faultMust[*Proc](t)(f.Consumer("z", consumerArgs("--lease-stealing=false")...))
	zombie := f.WorkerID("z")
	err := WaitFor(ctx, time.Minute, func() (bool, error) {
		rows, err := fs.stack.Leases(ctx, f.Res.App)
		return err == nil && len(rows) == 2 && len(Owners(rows)[zombie]) == 2, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	faultMust[*Proc](t)(f.Consumer("c2", consumerArgs("--lease-stealing=false")...))
	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	err = WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := fs.stack.CountBucket(ctx, "log-*", f.Res.Bucket)
		return err == nil && n > ds.Events/10, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(z.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	t.Cleanup(func() { _ = syscall.Kill(z.cmd.Process.Pid, syscall.SIGCONT) })
	// The other worker takes both leases.
	err = WaitFor(ctx, time.Minute, func() (bool, error) {
		rows, err := fs.stack.Leases(ctx, f.Res.App)
		return err == nil && len(Owners(rows)[f.WorkerID("c2")]) == 2, nil
	})
	if err != nil {
		t.Fatalf("leases of the frozen worker not taken over: %v", err)
	}
	takeover := time.Since(frozen)
	before := faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App))
	if err := syscall.Kill(z.cmd.Process.Pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	// Watch what the continued zombie writes for 10 s (a measurement window).
	var violations []string
	last := map[string]*big.Int{}
	for _, r := range before {
		if n, ok := new(big.Int).SetString(r.Checkpoint, 10); ok {
			last[r.Shard] = n
		}
	}
	windowEnd := time.Now().Add(10 * time.Second)
	_ = WaitFor(ctx, 15*time.Second, func() (bool, error) {
		rows, err := fs.stack.Leases(ctx, f.Res.App)
		if err != nil {
			return false, nil
		}
		for _, r := range rows {
			if r.Owner == zombie {
				violations = appendUnique(violations, "owner "+r.Shard+" back to the zombie")
			}
			if n, ok := new(big.Int).SetString(r.Checkpoint, 10); ok {
				if p := last[r.Shard]; p != nil && n.Cmp(p) < 0 {
					violations = appendUnique(violations, "checkpoint of "+r.Shard+" went backwards")
				}
				last[r.Shard] = n
			}
		}
		return time.Now().After(windowEnd), nil
	})
	r := finishFault(t, ctx, fs, f, "zombie", ds.Events, 3*time.Minute)
	// Beyond the handovers: the zombie's own bulk request, sent before the
	// freeze, may complete after it.
	sc := faultMust[StreamContent](t)(fs.stack.ReadStream(ctx, f.Res.Stream))
	r.Bound += batchBound(sc, shardIDs(sc), faultMaxRecords)
	r.Recovery = takeover
	r.Extra += fmt.Sprintf(" lease_less_writes=%q", strings.Join(violations, "; "))
	checkFault(t, r)
	if len(violations) > 0 {
		t.Errorf("a worker that lost its leases still wrote the lease table: %v", violations)
	}
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}
