package e2e

// Helpers for the fault and replay tests, one file per concern: fleet.go
// (fleets of siemstream processes on one isolated pipeline; the lease
// table's rows as both coordinators write them), dataset.go (known data
// sets), accounting.go (exact delivery accounting in OpenSearch, documents
// and _version, and the fault report), stream.go (what the stream holds),
// throttle.go (a throttling Kinesis proxy) and ospause.go (an OpenSearch
// pause). Nothing here sleeps to synchronise: callers wait on conditions
// with WaitFor.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/siemstream/siemstream/consumer/lease"
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
