package e2e

// Helpers for the fault and replay tests: fleets of siemstream processes on
// one isolated pipeline, known data sets, the lease table as both
// coordinators write it, exact delivery accounting in OpenSearch (documents
// and _version), what the stream holds, a throttling Kinesis proxy and an
// OpenSearch pause. Nothing here sleeps to synchronise: callers wait on
// conditions with WaitFor.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/siemstream/siemstream/bench/gen"
	"github.com/siemstream/siemstream/consumer/lease"
	"github.com/siemstream/siemstream/internal/wire"
)

// Lease coordinators a fleet can run (`siemstream consumer --coordinator`).
const (
	// CoordinatorDynamo is siemstream's own coordinator on the Java KCL
	// lease schema (leaseKey, leaseOwner, leaseCounter, checkpoint).
	CoordinatorDynamo = "dynamo"
	// CoordinatorKCL is the vmware-go-kcl-v2 adapter (ShardID, AssignedTo,
	// LeaseTimeout, Checkpoint).
	CoordinatorKCL = "kcl"
)

// CoordinatorEnv names the environment variable that picks the coordinator
// under test.
const CoordinatorEnv = "SIEM_TEST_COORDINATOR"

// HasCoordinatorFlag reports whether `bin consumer -h` lists --coordinator.
func HasCoordinatorFlag(ctx context.Context, bin string) bool {
	out, _ := exec.CommandContext(ctx, bin, "consumer", "-h").CombinedOutput()
	return bytes.Contains(out, []byte("-coordinator"))
}

// ChooseCoordinator returns $SIEM_TEST_COORDINATOR, else dynamo when the
// binary has --coordinator, else kcl (the only one before it).
func ChooseCoordinator(ctx context.Context, bin string) (string, error) {
	switch v := os.Getenv(CoordinatorEnv); v {
	case CoordinatorDynamo, CoordinatorKCL:
		if v == CoordinatorDynamo && !HasCoordinatorFlag(ctx, bin) {
			return "", fmt.Errorf("%s=dynamo but `siemstream consumer` has no --coordinator flag yet", CoordinatorEnv)
		}
		return v, nil
	case "":
	default:
		return "", fmt.Errorf("%s=%q: want dynamo or kcl", CoordinatorEnv, v)
	}
	if HasCoordinatorFlag(ctx, bin) {
		return CoordinatorDynamo, nil
	}
	return CoordinatorKCL, nil
}

// NewName returns a resource name no other test or engineer uses: prefix,
// milliseconds and random bits; lower case, valid for S3, SQS, Kinesis and
// DynamoDB.
func NewName(prefix string) string {
	return fmt.Sprintf("%s-%d-%04x", prefix, time.Now().UnixMilli()%1e9, rand.N(1<<16))
}

// Fleet starts siemstream processes on one isolated pipeline.
type Fleet struct {
	Bin    string
	LogDir string
	Res    Resources
	// Coordinator is passed as --coordinator to consumers and replays
	// when CoordinatorFlag is set (binaries before the flag only run kcl).
	Coordinator     string
	CoordinatorFlag bool
	// Env is added to every process's environment (after Res.Env());
	// ProducerEnv to producers' only (after Env).
	Env, ProducerEnv []string

	mu    sync.Mutex
	procs []*Proc
	kinds map[*Proc]string // subcommand of each process
	names map[string]int
}

// WorkerID is the --worker-id a fleet gives the consumer called name.
func (f *Fleet) WorkerID(name string) string { return f.Res.App + "-" + name }

func (f *Fleet) start(name, cmd string, coord bool, args []string) (*Proc, error) {
	all := []string{cmd}
	if coord && f.CoordinatorFlag {
		all = append(all, "--coordinator", f.Coordinator)
	}
	all = append(all, args...)
	env := append(f.Res.Env(), f.Env...)
	if cmd == "producer" {
		env = append(env, f.ProducerEnv...)
	}
	// A restarted process (same name, same worker id) gets its own log.
	f.mu.Lock()
	if f.names == nil {
		f.names = map[string]int{}
	}
	f.names[name]++
	logName := name
	if n := f.names[name]; n > 1 {
		logName = fmt.Sprintf("%s.%d", name, n)
	}
	f.mu.Unlock()
	p, err := Start(f.Bin, logName, f.LogDir, env, all...)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.procs = append(f.procs, p)
	if f.kinds == nil {
		f.kinds = map[*Proc]string{}
	}
	f.kinds[p] = cmd
	f.mu.Unlock()
	return p, nil
}

// Consumer starts `siemstream consumer` with --worker-id WorkerID(name).
func (f *Fleet) Consumer(name string, args ...string) (*Proc, error) {
	return f.start(name, "consumer", true, append([]string{"--worker-id", f.WorkerID(name)}, args...))
}

// Producer starts `siemstream producer`.
func (f *Fleet) Producer(name string, args ...string) (*Proc, error) {
	return f.start(name, "producer", false, args)
}

// Replay starts `siemstream replay` with --worker-id WorkerID(name).
func (f *Fleet) Replay(name string, args ...string) (*Proc, error) {
	return f.start(name, "replay", true, append([]string{"--worker-id", f.WorkerID(name)}, args...))
}

// StopAll sends SIGTERM to every process still running and waits (then
// kills) each; it returns the processes that did not exit cleanly.
func (f *Fleet) StopAll(timeout time.Duration) []error {
	f.mu.Lock()
	procs := slices.Clone(f.procs)
	f.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(procs))
	for i, p := range procs {
		select {
		case <-p.Done():
			continue
		default:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Stop(timeout); err != nil {
				errs[i] = fmt.Errorf("%s: %w", p.Name, err)
			}
		}()
	}
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// LeaseTakes counts, per shard and worker, how often a consumer of the
// fleet started a processor for the shard ("shard lease taken", logged by
// every coordinator's processor at Initialize, killed processes included).
// Every start after a shard's first is a handover: the new processor resumes
// from the last checkpoint and may re-deliver one un-checkpointed batch.
func (f *Fleet) LeaseTakes() map[string]map[string]int {
	f.mu.Lock()
	var procs []*Proc
	for _, p := range f.procs {
		if f.kinds[p] == "consumer" {
			procs = append(procs, p)
		}
	}
	f.mu.Unlock()
	takes := map[string]map[string]int{}
	for _, p := range procs {
		for _, line := range strings.Split(p.Output(), "\n") {
			if !strings.Contains(line, `"message":"shard lease taken"`) {
				continue
			}
			var l struct {
				Shard  string `json:"shard"`
				Worker string `json:"worker"`
			}
			if json.Unmarshal([]byte(line), &l) != nil || l.Shard == "" {
				continue
			}
			if takes[l.Shard] == nil {
				takes[l.Shard] = map[string]int{}
			}
			takes[l.Shard][l.Worker]++
		}
	}
	return takes
}

// Handovers is the number of starts after the first, per shard.
func Handovers(takes map[string]map[string]int) map[string]int {
	out := map[string]int{}
	for shard, by := range takes {
		n := 0
		for _, c := range by {
			n += c
		}
		if n > 1 {
			out[shard] = n - 1
		}
	}
	return out
}

// Logs returns the tail of every process's output, for a failing test.
func (f *Fleet) Logs(tailBytes int) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for _, p := range f.procs {
		out := p.Output()
		if len(out) > tailBytes {
			out = "…" + out[len(out)-tailBytes:]
		}
		fmt.Fprintf(&b, "==== %s ====\n%s\n", p.Name, out)
	}
	return b.String()
}

// ---- data sets ----

// Object is one generated S3 object.
type Object struct {
	Key    string
	Body   []byte // gzip
	Events int
}

// Dataset is a known set of objects with a known total of events.
type Dataset struct {
	Objects []Object
	Events  int64
}

// Generate makes objects objects of logType with perObject events each,
// seeded (same arguments, same bytes), event times from t0.
func Generate(logType string, objects, perObject int, seed uint64, t0 time.Time) (Dataset, error) {
	var ds Dataset
	for i := range objects {
		g, err := gen.New(logType, seed+uint64(i))
		if err != nil {
			return ds, err
		}
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := g.Write(zw, perObject, t0); err != nil {
			return ds, err
		}
		if err := zw.Close(); err != nil {
			return ds, err
		}
		ds.Objects = append(ds.Objects, Object{Key: g.Key(t0, int(seed)*1000+i), Body: buf.Bytes(), Events: perObject})
		ds.Events += int64(perObject)
	}
	return ds, nil
}

// UploadAll puts every object of ds into bucket.
func (s *Stack) UploadAll(ctx context.Context, bucket string, ds Dataset) error {
	for _, o := range ds.Objects {
		if err := s.Upload(ctx, bucket, o.Key, o.Body); err != nil {
			return err
		}
	}
	return nil
}

// QueueDepth returns the visible and in-flight message counts of a queue.
func (s *Stack) QueueDepth(ctx context.Context, url string) (visible, inFlight int, err error) {
	out, err := s.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: &url, AttributeNames: []sqstypes.QueueAttributeName{
		sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		return 0, 0, fmt.Errorf("queue attributes %s: %w", url, err)
	}
	visible, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight, nil
}

// ---- OpenSearch accounting ----

// BucketFilter matches the documents loaded from bucket whether
// @log_s3bucket is mapped as keyword or (dynamic mapping) as text with a
// .keyword sub-field.
func BucketFilter(bucket string) map[string]any {
	return map[string]any{"bool": map[string]any{"minimum_should_match": 1, "should": []any{
		map[string]any{"term": map[string]any{"@log_s3bucket": bucket}},
		map[string]any{"term": map[string]any{"@log_s3bucket.keyword": bucket}},
	}}}
}

// CountBucket counts the documents of bucket in index (a pattern).
func (s *Stack) CountBucket(ctx context.Context, index, bucket string) (int64, error) {
	return s.Count(ctx, index, BucketFilter(bucket))
}

// Delivery is what OpenSearch holds for one bucket.
type Delivery struct {
	// Docs is the number of distinct documents.
	Docs int64
	// Duplicated counts documents written more than once (_version > 1):
	// a duplicate delivery made harmless by deterministic _ids.
	Duplicated int64
	// ExtraWrites is the sum of _version-1: index operations beyond the
	// first, i.e. duplicate deliveries of events.
	ExtraWrites int64
	MaxVersion  int64
}

// Deliveries reads the _version of every document of bucket in index
// (scroll, no _source) and sums them up.
func (s *Stack) Deliveries(ctx context.Context, index, bucket string) (Delivery, error) {
	var d Delivery
	if err := s.Refresh(ctx, index); err != nil {
		return d, err
	}
	body := map[string]any{"size": 10000, "version": true, "_source": false, "sort": []string{"_doc"}, "query": BucketFilter(bucket)}
	b, err := s.do(ctx, http.MethodPost, "/"+index+"/_search?scroll=1m&ignore_unavailable=true&allow_no_indices=true", body)
	for {
		if err != nil {
			return d, err
		}
		var r struct {
			ScrollID string `json:"_scroll_id"`
			Hits     struct {
				Hits []struct {
					Version int64 `json:"_version"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return d, fmt.Errorf("scroll response: %w", err)
		}
		if len(r.Hits.Hits) == 0 {
			if r.ScrollID != "" {
				_, _ = s.do(ctx, http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": r.ScrollID})
			}
			return d, nil
		}
		for _, h := range r.Hits.Hits {
			d.Docs++
			if h.Version > 1 {
				d.Duplicated++
				d.ExtraWrites += h.Version - 1
			}
			d.MaxVersion = max(d.MaxVersion, h.Version)
		}
		b, err = s.do(ctx, http.MethodPost, "/_search/scroll", map[string]any{"scroll": "1m", "scroll_id": r.ScrollID})
	}
}

// WaitIndexed waits until index holds exactly want documents of bucket and
// returns how long that took. It fails at once if there are more (an _id
// that should not exist).
func (s *Stack) WaitIndexed(ctx context.Context, index, bucket string, want int64, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var got int64
	err := WaitFor(ctx, timeout, func() (bool, error) {
		n, err := s.CountBucket(ctx, index, bucket)
		if err != nil {
			return false, nil // OpenSearch may be paused or busy: keep polling
		}
		got = n
		if n > want {
			return false, fmt.Errorf("%d documents of %s in %s, more than the %d events loaded", n, bucket, index, want)
		}
		return n == want, nil
	})
	if err != nil {
		return time.Since(start), fmt.Errorf("indexed %d of %d: %w", got, want, err)
	}
	return time.Since(start), nil
}

// ---- lease table ----

// LeaseRow is one row of a lease table in either schema (read by
// Stack.Leases, in leases_test.go: through the coordinators' own readers,
// which this package cannot import since their tests use it).
type LeaseRow struct {
	Shard       string
	Owner       string
	Checkpoint  string
	SubSequence int64
	// Counter is leaseCounter (Java schema); 0 for vmware.
	Counter int64
	// Parents: parentShardId (SS, Java) or ParentShardId (S, vmware).
	Parents []string
	// ReplayEnd: where a replay stops on this shard (replay tables only).
	ReplayEnd *lease.ReplayEnd
}

// Owners maps owner → shards held (unowned shards under "").
func Owners(rows []LeaseRow) map[string][]string {
	m := map[string][]string{}
	for _, r := range rows {
		m[r.Owner] = append(m[r.Owner], r.Shard)
	}
	return m
}

// ---- stream content ----

// ShardContent is what one shard holds.
type ShardContent struct {
	Records int64 // Kinesis records (KPL aggregates)
	Events  int64 // raw log records inside their chunks
	// PerRecord is the events of each Kinesis record, in stream order.
	PerRecord []int64
	Closed    bool
	Parents   []string
}

// StreamContent is what a stream holds, per shard.
type StreamContent struct {
	Records, Events int64
	Shards          map[string]*ShardContent
}

// ReadStream reads every shard (closed ones too) from TRIM_HORIZON to its
// end or tip and counts records and the events inside them. Tests use it to
// tell producer-side re-sends (an object sent twice) from consumer-side
// duplicates.
func (s *Stack) ReadStream(ctx context.Context, stream string) (StreamContent, error) {
	sc := StreamContent{Shards: map[string]*ShardContent{}}
	shards, err := s.ListAllShards(ctx, stream)
	if err != nil {
		return sc, err
	}
	var dec wire.Decoder
	var chunk wire.Chunk
	var users [][]byte
	for _, sh := range shards {
		c := &ShardContent{Closed: sh.SequenceNumberRange.EndingSequenceNumber != nil}
		for _, p := range []*string{sh.ParentShardId, sh.AdjacentParentShardId} {
			if p != nil {
				c.Parents = append(c.Parents, *p)
			}
		}
		sc.Shards[*sh.ShardId] = c
		it, err := s.Kinesis.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: &stream, ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return sc, fmt.Errorf("iterator %s/%s: %w", stream, *sh.ShardId, err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := s.Kinesis.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				return sc, fmt.Errorf("get records %s/%s: %w", stream, *sh.ShardId, err)
			}
			for _, r := range out.Records {
				users, _, err = wire.AppendUserRecords(users[:0], r.Data)
				if err != nil {
					return sc, fmt.Errorf("record %s: %w", aws.ToString(r.SequenceNumber), err)
				}
				var n int64
				for _, u := range users {
					if err := dec.Decode(u, &chunk); err != nil {
						return sc, fmt.Errorf("chunk in record %s: %w", aws.ToString(r.SequenceNumber), err)
					}
					n += int64(len(chunk.Records))
				}
				c.Records++
				c.Events += n
				c.PerRecord = append(c.PerRecord, n)
			}
			iter = out.NextShardIterator
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
		}
		sc.Records += c.Records
		sc.Events += c.Events
	}
	return sc, nil
}

// ListAllShards lists every shard of a stream, closed ones included.
func (s *Stack) ListAllShards(ctx context.Context, stream string) ([]ktypes.Shard, error) {
	var shards []ktypes.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := s.Kinesis.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if out.NextToken == nil {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// MaxWindow is the largest sum of w consecutive values: the most events one
// GetRecords call of w records can carry.
func MaxWindow(perRecord []int64, w int) int64 {
	var best, sum int64
	for i, v := range perRecord {
		sum += v
		if i >= w {
			sum -= perRecord[i-w]
		}
		best = max(best, sum)
	}
	return best
}

// ---- fault report ----

// FaultReport is the one line a fault test logs (fixed format, grep FAULT).
type FaultReport struct {
	Fault       string
	Coordinator string
	In          int64 // events loaded
	Indexed     int64 // distinct documents at the end
	Delivery    Delivery
	// Resent is the events sent to Kinesis more than once by producers
	// (stream events - loaded events): duplicates that are expected.
	Resent int64
	// Bound is the most consumer-side duplicate deliveries the fault can
	// explain (in-flight, un-checkpointed work); -1 = not computed.
	Bound    int64
	Recovery time.Duration
	Extra    string
}

// ConsumerDuplicates is the duplicate deliveries not explained by producer
// re-sends.
func (r FaultReport) ConsumerDuplicates() int64 { return r.Delivery.ExtraWrites - r.Resent }

func (r FaultReport) String() string {
	bound := "n/a"
	if r.Bound >= 0 {
		bound = strconv.FormatInt(r.Bound, 10)
	}
	s := fmt.Sprintf("FAULT %s: coordinator=%s in=%d indexed=%d lost=%d duplicates=%d extra_writes=%d resent=%d consumer_dups=%d bound=%s recovery=%s",
		r.Fault, r.Coordinator, r.In, r.Indexed, r.In-r.Indexed, r.Delivery.Duplicated, r.Delivery.ExtraWrites, r.Resent,
		r.ConsumerDuplicates(), bound, r.Recovery.Round(10*time.Millisecond))
	if r.Extra != "" {
		s += " " + r.Extra
	}
	return s
}

// ---- OpenSearch pause ----

// PauseOpenSearch stops the local OpenSearch node with SIGSTOP (a frozen
// node looks unreachable to clients: connections hang). It also starts a
// detached watchdog that sends SIGCONT after maxPause even if the test
// binary dies, so the shared stack is never left frozen. Call resume
// (idempotent) to continue it.
func PauseOpenSearch(root string, maxPause time.Duration) (resume func() error, err error) {
	pidDir := os.Getenv("SIEM_PIDS_DIR")
	if pidDir == "" {
		pidDir = filepath.Join(root, ".local", "pids")
	}
	b, err := os.ReadFile(filepath.Join(pidDir, "opensearch.pid"))
	if err != nil {
		return nil, fmt.Errorf("opensearch pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil, fmt.Errorf("opensearch pid %q: not a pid", b)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("org.opensearch.bootstrap.OpenSearch")) {
		return nil, fmt.Errorf("pid %d is not the OpenSearch node", pid)
	}
	// The watchdog is its own session so a killed test binary does not
	// take it down with it.
	wd := exec.Command("/bin/sh", "-c", fmt.Sprintf("sleep %d; kill -CONT %d", int(maxPause.Seconds())+1, pid))
	wd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := wd.Start(); err != nil {
		return nil, fmt.Errorf("start SIGCONT watchdog: %w", err)
	}
	go func() { _ = wd.Wait() }()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		_ = wd.Process.Kill()
		return nil, fmt.Errorf("SIGSTOP opensearch %d: %w", pid, err)
	}
	var once sync.Once
	var resumeErr error
	return func() error {
		once.Do(func() {
			resumeErr = syscall.Kill(pid, syscall.SIGCONT)
			_ = wd.Process.Kill()
		})
		return resumeErr
	}, nil
}

// ---- throttling Kinesis proxy ----

// ThrottleLimits are per-shard rates (the Kinesis Data Streams limits by
// default).
type ThrottleLimits struct {
	PutRecordsPerSec float64 // 1000
	PutBytesPerSec   float64 // 1 MiB
	GetCallsPerSec   float64 // 5
	GetBytesPerSec   float64 // 2 MiB
}

// KinesisLimits are the real per-shard limits.
func KinesisLimits() ThrottleLimits {
	return ThrottleLimits{PutRecordsPerSec: 1000, PutBytesPerSec: 1 << 20, GetCallsPerSec: 5, GetBytesPerSec: 2 << 20}
}

// ThrottleStats counts what the proxy refused.
type ThrottleStats struct {
	// PutAccepted is entries passed on to Kinesis and accepted there.
	PutAccepted              int64
	PutEntries, PutThrottled int64 // PutRecords entries seen / failed with ProvisionedThroughputExceededException
	GetCalls, GetThrottled   int64 // GetRecords calls seen / refused
}

// KinesisThrottle is an HTTP proxy in front of a Kinesis endpoint that
// enforces per-shard limits the way Kinesis does: PutRecords entries over the
// write budget fail with ErrorCode ProvisionedThroughputExceededException
// (the rest of the request succeeds), and GetRecords calls over the call or
// byte budget get a ProvisionedThroughputExceededException error. Local
// emulators (kinesalite, kinesis-mock) never throttle.
type KinesisThrottle struct {
	target string
	limits ThrottleLimits
	kc     *kinesis.Client
	srv    *http.Server
	ln     net.Listener
	client *http.Client

	mu      sync.Mutex
	buckets map[string]*shardBuckets // stream/shard
	ranges  map[string][]shardRange  // stream
	iters   map[string]string        // shard iterator → stream/shard
	stats   ThrottleStats
}

type shardRange struct {
	id       string
	from, to *big.Int
}

type bucket struct {
	tokens, rate, capacity float64
	last                   time.Time
}

func newBucket(rate, smallestFull float64, now time.Time) bucket {
	// One second's worth, but never less than one whole request (a 1 MiB
	// record must fit, as in Kinesis).
	c := max(rate, smallestFull)
	return bucket{tokens: c, rate: rate, capacity: c, last: now}
}

// refill adds what accrued since the last call, up to the capacity.
func (b *bucket) refill(now time.Time) {
	b.tokens = min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// take takes n if there are that many.
func (b *bucket) take(now time.Time, n float64) bool {
	b.refill(now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// inDebt reports whether an earlier overdraw is still being paid off.
func (b *bucket) inDebt(now time.Time) bool {
	b.refill(now)
	return b.tokens < 0
}

type shardBuckets struct{ putRecs, putBytes, getCalls, getBytes bucket }

// NewKinesisThrottle starts a proxy to target (a Kinesis endpoint URL); kc
// must reach target directly (it lists shards to map hash keys).
func NewKinesisThrottle(target string, limits ThrottleLimits, kc *kinesis.Client) (*KinesisThrottle, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &KinesisThrottle{
		target: strings.TrimRight(target, "/"), limits: limits, kc: kc, ln: ln,
		client:  &http.Client{Timeout: 60 * time.Second},
		buckets: map[string]*shardBuckets{}, ranges: map[string][]shardRange{}, iters: map[string]string{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's endpoint (for AWS_ENDPOINT_URL_KINESIS).
func (p *KinesisThrottle) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy.
func (p *KinesisThrottle) Close() error { return p.srv.Close() }

// Stats returns the counters so far.
func (p *KinesisThrottle) Stats() ThrottleStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *KinesisThrottle) shard(key string) *shardBuckets {
	b := p.buckets[key]
	if b == nil {
		now := time.Now()
		l := p.limits
		b = &shardBuckets{
			putRecs: newBucket(l.PutRecordsPerSec, 1, now), putBytes: newBucket(l.PutBytesPerSec, wire.MaxKinesisRecordBytes+256, now),
			getCalls: newBucket(l.GetCallsPerSec, 1, now), getBytes: newBucket(l.GetBytesPerSec, 1, now),
		}
		p.buckets[key] = b
	}
	return b
}

func (p *KinesisThrottle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.") {
	case "PutRecords":
		p.putRecords(w, r, body)
	case "GetRecords":
		p.getRecords(w, r, body)
	case "GetShardIterator":
		p.getShardIterator(w, r, body)
	default:
		p.pass(w, r, body)
	}
}

// forward sends body to the target and returns status, headers and body.
func (p *KinesisThrottle) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

func (p *KinesisThrottle) pass(w http.ResponseWriter, r *http.Request, body []byte) {
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeResp(w, st, h, out)
}

func writeResp(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, v := range h {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func throttled(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "ProvisionedThroughputExceededException", "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", "ProvisionedThroughputExceededException")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}

// shardOf maps a hash key to its open shard ("" if unknown).
func (p *KinesisThrottle) shardOf(ctx context.Context, stream string, hash *big.Int) string {
	p.mu.Lock()
	rs, ok := p.ranges[stream]
	p.mu.Unlock()
	if !ok {
		shards, err := (&Stack{Kinesis: p.kc}).ListAllShards(ctx, stream)
		if err != nil {
			return ""
		}
		for _, sh := range shards {
			if sh.SequenceNumberRange.EndingSequenceNumber != nil {
				continue
			}
			from, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
			to, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
			rs = append(rs, shardRange{id: *sh.ShardId, from: from, to: to})
		}
		p.mu.Lock()
		p.ranges[stream] = rs
		p.mu.Unlock()
	}
	for _, sr := range rs {
		if hash.Cmp(sr.from) >= 0 && hash.Cmp(sr.to) <= 0 {
			return sr.id
		}
	}
	return ""
}

func (p *KinesisThrottle) putRecords(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		StreamName string
		StreamARN  string
		Records    []json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil {
		p.pass(w, r, body)
		return
	}
	stream := in.StreamName
	if stream == "" {
		stream = in.StreamARN[strings.LastIndex(in.StreamARN, "/")+1:]
	}
	type entry struct {
		Data            string
		PartitionKey    string
		ExplicitHashKey string
	}
	keep := make([]bool, len(in.Records))
	var fwd []json.RawMessage
	now := time.Now()
	for i, raw := range in.Records {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.pass(w, r, body)
			return
		}
		hash, ok := new(big.Int).SetString(e.ExplicitHashKey, 10)
		if !ok {
			h := md5.Sum([]byte(e.PartitionKey))
			hash = new(big.Int).SetBytes(h[:])
		}
		size := float64(base64.StdEncoding.DecodedLen(len(e.Data)) + len(e.PartitionKey))
		sh := p.shardOf(r.Context(), stream, hash)
		p.mu.Lock()
		b := p.shard(stream + "/" + sh)
		p.stats.PutEntries++
		// Both budgets must have room; a refused entry takes nothing.
		okRecs := b.putRecs.take(now, 1)
		okBytes := okRecs && b.putBytes.take(now, size)
		if okRecs && !okBytes {
			b.putRecs.tokens++
		}
		keep[i] = okRecs && okBytes
		if !keep[i] {
			p.stats.PutThrottled++
		}
		p.mu.Unlock()
		if keep[i] {
			fwd = append(fwd, raw)
		}
	}
	type result struct {
		SequenceNumber string `json:",omitempty"`
		ShardId        string `json:",omitempty"`
		ErrorCode      string `json:",omitempty"`
		ErrorMessage   string `json:",omitempty"`
	}
	var got struct {
		FailedRecordCount int
		Records           []result
		EncryptionType    string `json:",omitempty"`
	}
	status, hdr := http.StatusOK, http.Header{"Content-Type": {"application/x-amz-json-1.1"}}
	if len(fwd) > 0 {
		in2 := map[string]any{"Records": fwd}
		if in.StreamName != "" {
			in2["StreamName"] = in.StreamName
		} else {
			in2["StreamARN"] = in.StreamARN
		}
		b2, _ := json.Marshal(in2)
		st, h, out, err := p.forward(r, b2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if st != http.StatusOK {
			writeResp(w, st, h, out)
			return
		}
		if err := json.Unmarshal(out, &got); err != nil || len(got.Records) != len(fwd) {
			http.Error(w, "bad PutRecords response from target", http.StatusBadGateway)
			return
		}
		hdr = h
	}
	res := make([]result, len(in.Records))
	failed, k := 0, 0
	for i := range in.Records {
		if keep[i] {
			res[i] = got.Records[k]
			k++
			if res[i].ErrorCode != "" {
				failed++
			} else {
				p.mu.Lock()
				p.stats.PutAccepted++
				p.mu.Unlock()
			}
			continue
		}
		failed++
		res[i] = result{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard in stream " + stream + " (siemstream throttle proxy)"}
	}
	out, _ := json.Marshal(map[string]any{"FailedRecordCount": failed, "Records": res})
	writeResp(w, status, hdr, out)
}

func (p *KinesisThrottle) getShardIterator(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct{ StreamName, StreamARN, ShardId string }
	_ = json.Unmarshal(body, &in)
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var res struct{ ShardIterator string }
	if st == http.StatusOK && json.Unmarshal(out, &res) == nil && res.ShardIterator != "" {
		stream := in.StreamName
		if stream == "" {
			stream = in.StreamARN[strings.LastIndex(in.StreamARN, "/")+1:]
		}
		p.mu.Lock()
		p.iters[res.ShardIterator] = stream + "/" + in.ShardId
		p.mu.Unlock()
	}
	writeResp(w, st, h, out)
}

func (p *KinesisThrottle) getRecords(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct{ ShardIterator string }
	_ = json.Unmarshal(body, &in)
	now := time.Now()
	p.mu.Lock()
	key, known := p.iters[in.ShardIterator]
	p.stats.GetCalls++
	var b *shardBuckets
	if known {
		b = p.shard(key)
		// A call is refused while the shard is over its call rate or still
		// paying off an earlier large read.
		if b.getBytes.inDebt(now) || !b.getCalls.take(now, 1) {
			p.stats.GetThrottled++
			p.mu.Unlock()
			throttled(w, "Rate exceeded for shard "+key+" (siemstream throttle proxy)")
			return
		}
	}
	p.mu.Unlock()
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if st == http.StatusOK && known {
		var res struct{ NextShardIterator *string }
		_ = json.Unmarshal(out, &res)
		p.mu.Lock()
		delete(p.iters, in.ShardIterator)
		if res.NextShardIterator != nil {
			p.iters[*res.NextShardIterator] = key
		}
		// Data read counts after the fact, so one big read throttles the
		// calls after it, as in Kinesis (approximate: JSON body size).
		b.getBytes.tokens -= float64(len(out)) * 3 / 4
		p.mu.Unlock()
	}
	writeResp(w, st, h, out)
}
