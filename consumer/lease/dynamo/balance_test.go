package dynamo

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// views builds leases from "owner" letters: "AAB-" = 2 owned by A, 1 by B,
// one expired/unowned ('-'); a lowercase owner means its lease is expired.
func views(spec string) []leaseView {
	out := make([]leaseView, len(spec))
	for i, ch := range spec {
		k := "shardId-" + string(rune('0'+i))
		switch {
		case ch == '-':
			out[i] = leaseView{Key: k, Expired: true}
		case ch >= 'a' && ch <= 'z':
			out[i] = leaseView{Key: k, Owner: strings.ToUpper(string(ch)), Expired: true}
		default:
			out[i] = leaseView{Key: k, Owner: string(ch)}
		}
	}
	return out
}

func TestPlanTakes(t *testing.T) {
	for _, tc := range []struct {
		name      string
		me, spec  string
		maxFor    int
		maxSteal  int
		wantN     int
		wantSteal bool
		victim    string
		target    int
	}{
		{"empty table", "A", "", 100, 1, 0, false, "", 0},
		{"fresh table, alone: take all", "A", "------", 100, 1, 6, false, "", 6},
		{"fresh table capped by maxLeasesForWorker", "A", "------", 4, 1, 4, false, "", 4},
		{"second worker steals one", "B", "AAAAAA", 100, 1, 1, true, "A", 3},
		{"steal limit 2", "B", "AAAAAA", 100, 2, 2, true, "A", 3},
		{"no stealing when maxSteal 0", "B", "AAAAAA", 100, 0, 0, false, "", 3},
		{"third worker: target 2, steal from the most loaded", "C", "AAABBB", 100, 1, 1, true, "A", 2},
		{"balanced 2/2/2 stays", "C", "AABBCC", 100, 1, 0, false, "", 2},
		{"balanced seen by A", "A", "AABBCC", 100, 1, 0, false, "", 2},
		{"expired before stealing", "C", "AAbbC-", 100, 1, 2, false, "", 3},
		{"dead worker's leases go to survivors", "A", "AAbbCC", 100, 1, 1, false, "", 3},
		{"needed>1 and victim at target: steal 1", "D", "AABBCC", 100, 5, 1, true, "A", 2},
		{"4 workers on 6 at 2/2/1/1: no ping-pong", "D", "AABBCD", 100, 1, 0, false, "", 2},
		{"7 leases 3 workers 3/3/1: steal one", "C", "AAABBBC", 100, 1, 1, true, "A", 3},
		{"7 leases 3 workers 2/3/2: stable", "A", "AABBBCC", 100, 1, 0, false, "", 3},
		{"more workers than leases: target 1", "D", "ABC", 100, 1, 0, false, "", 1},
		{"more workers than leases, one owns 2", "C", "AAB", 100, 1, 1, true, "A", 1},
		{"at target: nothing even with expired", "A", "AA--", 2, 1, 0, false, "", 2},
		{"target capped, steal respects cap", "B", "AAAAAAAA", 2, 1, 1, true, "A", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := planTakes(tc.me, views(tc.spec), tc.maxFor, tc.maxSteal, rand.New(rand.NewPCG(1, 2)))
			if len(p.Take) != tc.wantN || p.Steal != tc.wantSteal || p.Victim != tc.victim || p.Target != tc.target {
				t.Fatalf("plan = %+v, want %d takes steal=%v victim=%q target=%d", p, tc.wantN, tc.wantSteal, tc.victim, tc.target)
			}
			vs := views(tc.spec)
			for _, k := range p.Take {
				i := slices.IndexFunc(vs, func(v leaseView) bool { return v.Key == k })
				if i < 0 {
					t.Fatalf("took unknown lease %s", k)
				}
				if tc.wantSteal && (vs[i].Expired || vs[i].Owner != p.Victim) || !tc.wantSteal && !vs[i].Expired {
					t.Fatalf("took %s = %+v, not allowed by the plan", k, vs[i])
				}
			}
		})
	}
}

// TestPlanTakesConverges simulates workers running passes in random order
// (each seeing the table as left by the previous pass) and checks that any
// start converges to a balanced state and then never moves a lease.
func TestPlanTakesConverges(t *testing.T) {
	for _, tc := range []struct {
		workers, leases int
	}{{3, 6}, {2, 4}, {4, 6}, {3, 7}, {5, 3}, {3, 32}} {
		for seed := range uint64(20) {
			rng := rand.New(rand.NewPCG(seed, 7))
			workers := make([]string, tc.workers)
			for i := range workers {
				workers[i] = string(rune('A' + i))
			}
			owners := make([]string, tc.leases) // "" = unowned
			moves, balancedAt, lastMove := 0, -1, -1
			for pass := range 400 {
				me := workers[rng.IntN(len(workers))]
				vs := make([]leaseView, len(owners))
				idx := map[string]int{}
				for i, o := range owners {
					k := "shardId-" + strconv.Itoa(i)
					idx[k] = i
					vs[i] = leaseView{Key: k, Owner: o, Expired: o == ""}
				}
				p := planTakes(me, vs, 1<<30, 1, rng)
				for _, k := range p.Take {
					owners[idx[k]] = me
					moves++
					lastMove = pass
				}
				if balancedAt < 0 && balanced(owners, workers) {
					balancedAt = pass
				}
			}
			if !balanced(owners, workers) {
				t.Fatalf("%d workers/%d leases seed %d: not balanced after 400 passes: %v", tc.workers, tc.leases, seed, owners)
			}
			if lastMove > balancedAt {
				t.Fatalf("%d workers/%d leases seed %d: a lease moved at pass %d after balance at %d", tc.workers, tc.leases, seed, lastMove, balancedAt)
			}
		}
	}
}

// balanced: every lease owned and counts differ by at most one among
// workers that could hold one.
func balanced(owners, workers []string) bool {
	counts := map[string]int{}
	for _, o := range owners {
		if o == "" {
			return false
		}
		counts[o]++
	}
	lo, hi := 1<<30, 0
	for _, w := range workers {
		lo, hi = min(lo, counts[w]), max(hi, counts[w])
	}
	if len(owners) < len(workers) {
		return hi <= 1
	}
	return hi-lo <= 1
}
