package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestReplayWhileLive (fault 6; named TestReplay… so `-run TestReplay` selects every replay test): `siemstream replay` re-reads the stream
// while the live consumers run, into suffixed indices, with its own lease
// table; the live consumers' lease rows do not change.
//
//  1. Two live consumers load set A, then set B; T1 lies between them.
//  2. Replay --from 1h --to T1 with two workers sharing the work; one is
//     killed -9 mid-way and restarted: the replay resumes from its own
//     checkpoints and loads exactly set A.
//  3. Replay --from 1h --shards 0,1 (to = the tip at start): exactly the
//     events of those two shards.
func TestReplayWhileLive(t *testing.T) {
	fs := faults(t)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	f := fs.newFleet(t, ctx, "replay", 4)
	setA := faultMust[Dataset](t)(Generate("vpcflowlogs", 12, 2500, 1000, time.Now().Add(-40*time.Minute)))
	setB := faultMust[Dataset](t)(Generate("vpcflowlogs", 8, 2500, 1100, time.Now().Add(-30*time.Minute)))

	startConsumers(t, ctx, fs, f, []string{"live1", "live2"})
	faultMust[*Proc](t)(f.Producer("p1", producerArgs()...))
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, setA); err != nil {
		t.Fatal(err)
	}
	live := "log-*,-*-replay-*"
	if _, err := fs.stack.WaitIndexed(ctx, live, f.Res.Bucket, setA.Events, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	if err := fs.stack.UploadAll(ctx, f.Res.Bucket, setB); err != nil {
		t.Fatal(err)
	}
	total := setA.Events + setB.Events
	if _, err := fs.stack.WaitIndexed(ctx, live, f.Res.Bucket, total, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	before := faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App))

	// Replay 1: two workers, one killed and restarted.
	sfx1 := fmt.Sprintf("-replay-a%04x", rand.N(1<<16))
	app1 := f.Res.App + "-replay"
	args1 := []string{"--from", "1h", "--to", t1.UTC().Format(time.RFC3339Nano), "--app-name", app1, "--index-suffix", sfx1,
		"--failover-time-ms", "5000", "--shard-sync-interval-ms", "1000", "--idle-time-between-reads-ms", "200",
		"--max-records", "5", "--batch-events", "2500", "--progress", "2s", "--probe-interval", "1s"}
	start := time.Now()
	r1 := faultMust[*Proc](t)(f.Replay("r1", args1...))
	r2 := faultMust[*Proc](t)(f.Replay("r2", args1...))
	replayIdx := "log-*" + sfx1
	err := WaitFor(ctx, 2*time.Minute, func() (bool, error) {
		n, err := fs.stack.CountBucket(ctx, replayIdx, f.Res.Bucket)
		return err == nil && n > 0, nil
	})
	if err != nil {
		t.Fatalf("replay loaded nothing: %v", err)
	}
	midway := faultMust[int64](t)(fs.stack.CountBucket(ctx, replayIdx, f.Res.Bucket))
	r1.Kill()
	r1b := faultMust[*Proc](t)(f.Replay("r1", args1...))
	for _, p := range []*Proc{r2, r1b} {
		if err := p.Wait(ctx); err != nil {
			t.Fatalf("replay %s: %v\n%s", p.Name, err, replayTail(p.Output(), 3000))
		}
	}
	took := time.Since(start)
	got := faultMust[Delivery](t)(fs.stack.Deliveries(ctx, replayIdx, f.Res.Bucket))
	after := faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App))
	liveNow := faultMust[int64](t)(fs.stack.CountBucket(ctx, live, f.Res.Bucket))
	changed := diffLeases(before, after)
	sc := faultMust[StreamContent](t)(fs.stack.ReadStream(ctx, f.Res.Stream))
	rep := FaultReport{
		Fault: "replay", Coordinator: fs.coord, In: setA.Events, Indexed: got.Docs, Delivery: got,
		Bound: batchBound(sc, shardIDs(sc), 5), Recovery: took,
		Extra: fmt.Sprintf("range=[1h ago,T1] workers=2 killed_one_at=%d live_docs=%d/%d live_lease_rows_changed=%d", midway, liveNow, total, len(changed)),
	}
	checkFault(t, rep)
	if liveNow != total {
		t.Errorf("live indices hold %d documents of the bucket, want %d", liveNow, total)
	}
	if len(changed) > 0 {
		t.Errorf("live lease rows changed during the replay: %v", changed)
	}

	// Replay 2: two shards, up to the tip at start.
	sfx2 := fmt.Sprintf("-replay-b%04x", rand.N(1<<16))
	scope := []string{"shardId-000000000000", "shardId-000000000001"}
	var want int64
	for _, id := range scope {
		want += sc.Shards[id].Events
	}
	start = time.Now()
	r3 := faultMust[*Proc](t)(f.Replay("r3", "--from", "1h", "--shards", "0,1", "--app-name", f.Res.App+"-replay2", "--index-suffix", sfx2,
		"--shard-sync-interval-ms", "1000", "--idle-time-between-reads-ms", "200", "--progress", "2s", "--probe-interval", "1s"))
	if err := r3.Wait(ctx); err != nil {
		t.Fatalf("replay r3: %v\n%s", err, replayTail(r3.Output(), 3000))
	}
	got2 := faultMust[Delivery](t)(fs.stack.Deliveries(ctx, "log-*"+sfx2, f.Res.Bucket))
	rep2 := FaultReport{Fault: "replay-shards", Coordinator: fs.coord, In: want, Indexed: got2.Docs, Delivery: got2, Bound: 0, Recovery: time.Since(start),
		Extra: fmt.Sprintf("range=[1h ago,start] shards=%v", scope)}
	checkFault(t, rep2)
	if a := faultMust[[]LeaseRow](t)(fs.stack.Leases(ctx, f.Res.App)); len(diffLeases(before, a)) > 0 {
		t.Errorf("live lease rows changed during the second replay: %v", diffLeases(before, a))
	}
}

// diffLeases lists rows whose shard or checkpoint differ (owners may move
// between live workers for reasons of their own).
func diffLeases(a, b []LeaseRow) []string {
	key := func(r LeaseRow) string {
		return fmt.Sprintf("%s checkpoint=%s/%d", r.Shard, r.Checkpoint, r.SubSequence)
	}
	var ka, kb []string
	for _, r := range a {
		ka = append(ka, key(r))
	}
	for _, r := range b {
		kb = append(kb, key(r))
	}
	var out []string
	for _, k := range ka {
		if !slices.Contains(kb, k) {
			out = append(out, "before: "+k)
		}
	}
	for _, k := range kb {
		if !slices.Contains(ka, k) {
			out = append(out, "after: "+k)
		}
	}
	return out
}

func replayTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
