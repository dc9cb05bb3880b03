package e2e

// Replay completion on the real stack (issue 18): each test runs
// `siemstream replay --from T0 [--to T1] --index-suffix -replay` as the
// README shows it, requires the process to exit 0 by itself, and checks the
// exact number of documents of its own bucket in the -replay indices.
// Nothing is written to the stream after the replay starts, so no test
// depends on a record arriving after --to. They pause nothing. The quick
// ones (an empty shard, an aggregate end, a split: 10–20 s each) run with
// `go test ./internal/e2e/` when the local stack is up; the two that take
// ≈ 40 s each (a live fleet before a quiet stream, a killed worker) run in
// the fault phase (SIEM_FAULT_TESTS=1, `go tool task test:faults`).

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/obs"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
)

// replaySuffix is the README's.
const replaySuffix = "-replay"

// replayRig is one isolated pipeline for a replay test.
type replayRig struct {
	t  *testing.T
	fs *faultSuite
	f  *Fleet
}

// newReplayRig makes the pipeline; faultPhase: run only with
// SIEM_FAULT_TESTS=1 (slow tests).
func newReplayRig(t *testing.T, ctx context.Context, name string, shards int, faultPhase bool) *replayRig {
	t.Helper()
	var fs *faultSuite
	if faultPhase {
		fs = faults(t)
	} else {
		root, s := stackOrSkip(t)
		bin := binary(t, root)
		coord, err := ChooseCoordinator(ctx, bin)
		if err != nil {
			t.Fatal(err)
		}
		fs = &faultSuite{root: root, stack: s, bin: bin, coord: coord, coordFlag: HasCoordinatorFlag(ctx, bin)}
	}
	if fs.coord != CoordinatorDynamo && faultPhase {
		// Not run on vmware-go-kcl-v2 yet (the quick ones pass on it).
		t.Skipf("this replay test runs on the dynamo coordinator only; %s=%s", CoordinatorEnv, fs.coord)
	}
	return &replayRig{t: t, fs: fs, f: fs.newFleet(t, ctx, name, shards)}
}

// dataset is n vpcflowlogs objects of per events each, with a seed of its
// own: the -replay indices are shared and _ids are MD5s of the records.
func (r *replayRig) dataset(n, per int) Dataset {
	r.t.Helper()
	return faultMust[Dataset](r.t)(Generate("vpcflowlogs", n, per, rand.Uint64N(1<<40), time.Now().Add(-20*time.Minute)))
}

// routed sends every PutRecords entry to one shard (its starting hash key);
// nil shard: where the producer hashed it.
type routed struct {
	producer.KinesisAPI
	shard *ktypes.Shard
}

func (k routed) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, opts ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	if k.shard != nil {
		for i := range in.Records {
			in.Records[i].ExplicitHashKey = k.shard.HashKeyRange.StartingHashKey
		}
	}
	return k.KinesisAPI.PutRecords(ctx, in, opts...)
}

// put loads ds with the producer's own code (in this process) into the
// stream, all of it into shard when not nil, and returns when every record
// is accepted.
func (r *replayRig) put(ctx context.Context, ds Dataset, shard *ktypes.Shard) {
	r.t.Helper()
	reg := faultMust[*schemas.Registry](r.t)(schemas.Load(schemas.Options{}))
	cfg := producer.DefaultConfig()
	cfg.Stream, cfg.QueueURL = r.f.Res.Stream, r.f.Res.QueueURL
	p := faultMust[*producer.Producer](r.t)(producer.New(cfg, reg, r.fs.stack.S3, r.fs.stack.SQS, routed{r.fs.stack.Kinesis, shard}, obs.NewRegistry(), zerolog.Nop()))
	for _, o := range ds.Objects {
		if err := r.fs.stack.Upload(ctx, r.f.Res.Bucket, o.Key, o.Body); err != nil {
			r.t.Fatal(err)
		}
		res, err := p.LoadObject(ctx, notify.Object{Bucket: r.f.Res.Bucket, Key: o.Key})
		if err != nil || res.Outcome != producer.Loaded {
			r.t.Fatalf("load %s: %+v %v", o.Key, res, err)
		}
	}
}

// shards lists the stream's shards.
func (r *replayRig) shards(ctx context.Context) []ktypes.Shard {
	return faultMust[[]ktypes.Shard](r.t)(r.fs.stack.ListAllShards(ctx, r.f.Res.Stream))
}

// replayArgs are the README's command plus settings that make a small test
// quick (they change nothing of the completion rule).
func replayArgs(extra ...string) []string {
	return append([]string{"--index-suffix", replaySuffix, "--shard-sync-interval-ms", "1000", "--idle-time-between-reads-ms", "200",
		"--failover-time-ms", "5000", "--progress", "1s", "--probe-interval", "1s"}, extra...)
}

// waitExit0 waits for a replay to end by itself and requires status 0.
func (r *replayRig) waitExit0(ctx context.Context, p *Proc, within time.Duration) {
	r.t.Helper()
	wctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := p.Wait(wctx); err != nil {
		r.t.Fatalf("replay %s did not exit 0 by itself within %s: %v\n%s", p.Name, within, err, replayTail(p.Output(), 4000))
	}
}

// checkExact requires exactly want documents of the rig's bucket in the
// -replay indices.
func (r *replayRig) checkExact(ctx context.Context, want int64) Delivery {
	r.t.Helper()
	got := faultMust[Delivery](r.t)(r.fs.stack.Deliveries(ctx, "log-*"+replaySuffix, r.f.Res.Bucket))
	if got.Docs != want {
		r.t.Errorf("-replay indices hold %d documents of %s, want exactly %d", got.Docs, r.f.Res.Bucket, want)
	}
	return got
}

var summaryRE = regexp.MustCompile(`"message":"replay finished"`)

// summary returns the fields of the process's final "replay finished" line.
func summary(t *testing.T, out string) map[string]string {
	t.Helper()
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if summaryRE.MatchString(l) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no \"replay finished\" line in:\n%s", replayTail(out, 3000))
	}
	m := map[string]string{}
	for _, kv := range regexp.MustCompile(`"([a-z_]+)":("[^"]*"|[0-9.]+|true|false)`).FindAllStringSubmatch(line, -1) {
		m[kv[1]] = strings.Trim(kv[2], `"`)
	}
	return m
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// finishedWhy maps shard → why, from the "replay shard finished" lines.
func finishedWhy(out string) map[string]string {
	m := map[string]string{}
	re := regexp.MustCompile(`"shard":"([^"]+)","why":"([^"]+)"`)
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, `"message":"replay shard finished"`) {
			if s := re.FindStringSubmatch(l); s != nil {
				m[s[1]] = s[2]
			}
		}
	}
	return m
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// arrivalSlack: kinesalite's ApproximateArrivalTimestamp has whole seconds
// (a record put at 12:00:00.6 can arrive "12:00:01"), so a test puts
// records this far from the window's edges.
const arrivalSlack = 1500 * time.Millisecond

// settle waits until arrivalSlack has passed and returns the time then.
func settle(t *testing.T, ctx context.Context) time.Time {
	t.Helper()
	until := time.Now().Add(arrivalSlack)
	if err := WaitFor(ctx, 10*time.Second, func() (bool, error) { return time.Now().After(until), nil }); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// TestReplayQuietStream: the report. A live producer and consumer
// load a set, are stopped, and `siemstream replay --from T0 --index-suffix
// -replay` (to = the tip at start) loads every event and exits 0 on its
// own, with a final summary and ETA 0, although nothing arrives after.
func TestReplayQuietStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "rq", 4, true)
	ds := r.dataset(8, 1500)
	t0 := time.Now().Add(-arrivalSlack)
	startConsumers(t, ctx, r.fs, r.f, []string{"live1"})
	faultMust[*Proc](t)(r.f.Producer("p1", producerArgs()...))
	if err := r.fs.stack.UploadAll(ctx, r.f.Res.Bucket, ds); err != nil {
		t.Fatal(err)
	}
	if _, err := r.fs.stack.WaitIndexed(ctx, "log-*,-*-replay*", r.f.Res.Bucket, ds.Events, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, err := range r.f.StopAll(30 * time.Second) {
		t.Fatalf("stop live fleet: %v", err)
	}
	start := time.Now()
	p := faultMust[*Proc](t)(r.f.Replay("r1", replayArgs("--from", rfc(t0))...))
	r.waitExit0(ctx, p, 90*time.Second)
	took := time.Since(start)
	got := r.checkExact(ctx, ds.Events)
	sum := summary(t, p.Output())
	if sum["shards_done"] != "4" || sum["shards"] != "4" || atoi(sum["events"]) != ds.Events || atoi(sum["delivered"]) != ds.Events {
		t.Errorf("summary %v, want 4 of 4 shards, %d events delivered", sum, ds.Events)
	}
	if !strings.Contains(p.Output(), `"eta_seconds":0,`) && !strings.Contains(p.Output(), `"eta_seconds":0}`) {
		t.Errorf("no progress line with ETA 0")
	}
	t.Logf("quiet stream: %d events, replay exited 0 after %s, docs=%d duplicates=%d, summary %v", ds.Events, took.Round(time.Millisecond), got.Docs, got.Duplicated, sum)
}

// TestReplayEmptyShard: one shard holds nothing in the window; it finishes
// at once ("nothing in range") and the others when their checkpoints reach
// their ends.
func TestReplayEmptyShard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "re", 3, false)
	sh := r.shards(ctx)
	t0 := time.Now().Add(-arrivalSlack)
	a, b := r.dataset(2, 2000), r.dataset(2, 1500)
	r.put(ctx, a, &sh[0])
	r.put(ctx, b, &sh[1])
	start := time.Now()
	p := faultMust[*Proc](t)(r.f.Replay("r1", replayArgs("--from", rfc(t0))...))
	r.waitExit0(ctx, p, 90*time.Second)
	took := time.Since(start)
	r.checkExact(ctx, a.Events+b.Events)
	why := finishedWhy(p.Output())
	empty := aws.ToString(sh[2].ShardId)
	if why[empty] != "nothing in range" {
		t.Errorf("empty shard %s finished as %q, want \"nothing in range\" (all: %v)", empty, why[empty], why)
	}
	if len(why) != 3 {
		t.Errorf("finished shards %v, want 3", why)
	}
	t.Logf("empty shard: %d events on 2 of 3 shards, exited 0 after %s, finished %v", a.Events+b.Events, took.Round(time.Millisecond), why)
}

// TestReplayEndsInAggregate: the window's last record on a shard is a KPL
// aggregate of several chunks, and --batch-events makes the replay
// checkpoint inside it first: the shard finishes only when its last
// sub-record is checkpointed. Records after --to (a second set) are not
// loaded, and the replay does not wait for anything else.
func TestReplayEndsInAggregate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "ra", 2, false)
	sh := r.shards(ctx)
	t0 := time.Now().Add(-arrivalSlack)
	// 12000 events per object: ≈ 6 chunks of 256 KiB, one aggregate.
	a := r.dataset(2, 12000)
	r.put(ctx, a, &sh[0])
	t1 := settle(t, ctx)
	settle(t, ctx)
	after := r.dataset(1, 1000)
	r.put(ctx, after, &sh[0])
	p := faultMust[*Proc](t)(r.f.Replay("r1", replayArgs("--from", rfc(t0), "--to", rfc(t1), "--batch-events", "1000", "--max-records", "1")...))
	r.waitExit0(ctx, p, 2*time.Minute)
	r.checkExact(ctx, a.Events)
	rows := faultMust[[]LeaseRow](t)(r.fs.stack.Leases(ctx, replayAppFrom(p.Output())))
	var row *LeaseRow
	for i := range rows {
		if rows[i].Shard == aws.ToString(sh[0].ShardId) {
			row = &rows[i]
		}
	}
	if row == nil || row.ReplayEnd == nil {
		t.Fatalf("no replay end on %s's lease: %+v", aws.ToString(sh[0].ShardId), rows)
	}
	e := row.ReplayEnd
	if e.LastSubSequence < 1 {
		t.Errorf("the window's last record has %d sub-records, want an aggregate of several", e.LastSubSequence+1)
	}
	// The kcl layout checkpoints whole aggregates only (no sub-sequence).
	if row.Checkpoint != e.SequenceNumber || (r.fs.coord == CoordinatorDynamo && row.SubSequence != e.LastSubSequence) {
		t.Errorf("checkpoint %s/%d, want the end %s/%d", row.Checkpoint, row.SubSequence, e.SequenceNumber, e.LastSubSequence)
	}
	t.Logf("aggregate end: %d events, last record %s with %d sub-records, checkpoint %s/%d", a.Events, e.SequenceNumber, e.LastSubSequence+1, row.Checkpoint, row.SubSequence)
}

// replayAppFrom reads the replay's application name from its start line.
func replayAppFrom(out string) string {
	m := regexp.MustCompile(`"app":"([^"]+)"`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestReplayKilledWorker: two replay workers share the work; one is killed
// (SIGKILL) mid-way and restarted. Both agree on the end positions stored on
// the lease rows and exit 0 by themselves; every event is loaded.
func TestReplayKilledWorker(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "rk", 4, true)
	t0 := time.Now().Add(-arrivalSlack)
	ds := r.dataset(8, 2500)
	r.put(ctx, ds, nil)
	t1 := settle(t, ctx)
	app := r.f.Res.App + "-replay"
	args := replayArgs("--from", rfc(t0), "--to", rfc(t1), "--app-name", app, "--max-records", "2", "--batch-events", "2500")
	start := time.Now()
	r1 := faultMust[*Proc](t)(r.f.Replay("r1", args...))
	r2 := faultMust[*Proc](t)(r.f.Replay("r2", args...))
	if err := WaitFor(ctx, time.Minute, func() (bool, error) {
		n, err := r.fs.stack.CountBucket(ctx, "log-*"+replaySuffix, r.f.Res.Bucket)
		return err == nil && n > 0, nil
	}); err != nil {
		t.Fatalf("nothing loaded: %v", err)
	}
	midway := faultMust[int64](t)(r.fs.stack.CountBucket(ctx, "log-*"+replaySuffix, r.f.Res.Bucket))
	r1.Kill()
	r1b := faultMust[*Proc](t)(r.f.Replay("r1", args...))
	r.waitExit0(ctx, r2, 2*time.Minute)
	r.waitExit0(ctx, r1b, 2*time.Minute)
	took := time.Since(start)
	got := r.checkExact(ctx, ds.Events)
	rows := faultMust[[]LeaseRow](t)(r.fs.stack.Leases(ctx, app))
	ends := 0
	for _, row := range rows {
		if row.ReplayEnd != nil {
			ends++
		}
	}
	if len(rows) != 4 || ends != 4 {
		t.Errorf("lease rows %d with %d end positions, want 4 and 4", len(rows), ends)
	}
	// A kill re-delivers at most what was read and not checkpointed: one
	// GetRecords batch (--max-records 2, ≤ 2500 events a record) per shard.
	if bound := int64(4 * 2 * 2500); got.ExtraWrites > bound {
		t.Errorf("%d extra writes, more than the un-checkpointed bound %d", got.ExtraWrites, bound)
	}
	t.Logf("killed worker: %d events, killed at %d docs, both exited 0 after %s, duplicates=%d extra_writes=%d",
		ds.Events, midway, took.Round(time.Millisecond), got.Duplicated, got.ExtraWrites)
}

// TestReplaySplitShard: shard 0 is split inside the window, and shard 1
// after it (its children are created after --to: nothing in range). The
// replay loads the parents' and the first children's records of the window
// exactly, parents before children, and exits 0.
func TestReplaySplitShard(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "rs", 2, false)
	sh := r.shards(ctx)
	t0 := time.Now().Add(-arrivalSlack)
	a := r.dataset(4, 1500)
	r.put(ctx, a, nil)
	r.split(ctx, sh[0])
	b := r.dataset(4, 1500)
	r.put(ctx, b, nil) // into the children of shard 0 and into shard 1
	t1 := settle(t, ctx)
	settle(t, ctx)
	r.split(ctx, sh[1])
	c := r.dataset(2, 1000)
	r.put(ctx, c, nil) // after --to
	all := r.shards(ctx)
	start := time.Now()
	p := faultMust[*Proc](t)(r.f.Replay("r1", replayArgs("--from", rfc(t0), "--to", rfc(t1))...))
	r.waitExit0(ctx, p, 2*time.Minute)
	took := time.Since(start)
	r.checkExact(ctx, a.Events+b.Events)
	why := finishedWhy(p.Output())
	if len(why) != len(all) {
		t.Errorf("finished %d shards %v, want all %d", len(why), why, len(all))
	}
	for _, s := range all {
		if aws.ToString(s.ParentShardId) == aws.ToString(sh[1].ShardId) && why[aws.ToString(s.ShardId)] != "nothing in range" {
			t.Errorf("child %s of the split after --to finished as %q, want \"nothing in range\"", aws.ToString(s.ShardId), why[aws.ToString(s.ShardId)])
		}
	}
	t.Logf("split: %d events in the window over %d shards, exited 0 after %s, finished %s", a.Events+b.Events, len(all), took.Round(time.Millisecond), fmt.Sprint(why))
}

// split splits s in the middle of its hash key range and waits until the
// stream is ACTIVE again (its children exist).
func (r *replayRig) split(ctx context.Context, s ktypes.Shard) {
	r.t.Helper()
	lo, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
	hi, _ := new(big.Int).SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
	mid := new(big.Int).Rsh(new(big.Int).Add(lo, hi), 1).String()
	if _, err := r.fs.stack.Kinesis.SplitShard(ctx, &kinesis.SplitShardInput{StreamName: &r.f.Res.Stream, ShardToSplit: s.ShardId, NewStartingHashKey: &mid}); err != nil {
		r.t.Fatalf("split %s: %v", aws.ToString(s.ShardId), err)
	}
	if err := WaitFor(ctx, 30*time.Second, func() (bool, error) {
		d, err := r.fs.stack.Kinesis.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: &r.f.Res.Stream})
		return err == nil && d.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive, nil
	}); err != nil {
		r.t.Fatal(err)
	}
}

// TestReplaySplitEmptyParent: the shard split inside the window holds
// nothing of the window, its children do. TestReplaySplitShard is this case
// whenever the producer's hashing puts none of its first set into shard 0
// (1 run in 16): then the replay waited forever with the children unread.
// The parent's lease starts AT_TIMESTAMP --from, which kinesalite never
// answers for a shard with nothing at or after it; the parent must still
// reach SHARD_END, the children be loaded and the replay exit 0.
func TestReplaySplitEmptyParent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r := newReplayRig(t, ctx, "rp", 2, false)
	sh := r.shards(ctx)
	t0 := time.Now().Add(-arrivalSlack)
	a := r.dataset(2, 1500)
	r.put(ctx, a, &sh[1]) // nothing into shard 0
	r.split(ctx, sh[0])
	parent := aws.ToString(sh[0].ShardId)
	var kids []ktypes.Shard
	for _, s := range r.shards(ctx) {
		if aws.ToString(s.ParentShardId) == parent {
			kids = append(kids, s)
		}
	}
	if len(kids) != 2 {
		t.Fatalf("children of %s: %d, want 2", parent, len(kids))
	}
	b0, b1 := r.dataset(1, 1500), r.dataset(1, 1500)
	r.put(ctx, b0, &kids[0])
	r.put(ctx, b1, &kids[1])
	t1 := settle(t, ctx)
	start := time.Now()
	p := faultMust[*Proc](t)(r.f.Replay("r1", replayArgs("--from", rfc(t0), "--to", rfc(t1))...))
	r.waitExit0(ctx, p, 2*time.Minute)
	took := time.Since(start)
	r.checkExact(ctx, a.Events+b0.Events+b1.Events)
	why := finishedWhy(p.Output())
	if why[parent] != "nothing in range" {
		t.Errorf("empty parent %s finished as %q, want \"nothing in range\" (all: %v)", parent, why[parent], why)
	}
	for _, k := range kids {
		if id := aws.ToString(k.ShardId); why[id] != "checkpoint reached the end" {
			t.Errorf("child %s finished as %q, want \"checkpoint reached the end\" (all: %v)", id, why[id], why)
		}
	}
	t.Logf("split of an empty parent: %d events in its children and shard 1, exited 0 after %s, finished %v", a.Events+b0.Events+b1.Events, took.Round(time.Millisecond), why)
}
