package dynamo

import (
	"math/rand/v2"
	"slices"
)

// leaseView is what the taker knows of one lease at a pass.
type leaseView struct {
	Key   string
	Owner string
	// Expired: unowned, or its counter has not moved for failoverTime on
	// this worker's monotonic clock. Never true for a lease this worker
	// holds.
	Expired bool
}

// takePlan is the outcome of one taker pass's computation.
type takePlan struct {
	Take    []string // lease keys to take, in order
	Steal   bool     // Take are live leases of Victim
	Victim  string
	Target  int
	Workers int
}

// planTakes is the KCL 1.x/2.x count-based algorithm
// (DynamoDBLeaseTaker.computeLeasesToTake):
//
//   - workers = owners of non-expired leases, plus me;
//   - target = 1 if workers >= leases, else ceil(leases/workers), capped at
//     maxForWorker;
//   - needed = target - (my non-expired leases); nothing if <= 0;
//   - if any lease is expired, take up to needed of them at random;
//   - else steal from the single most-loaded worker min(needed, its excess
//     over target) leases (1 if needed > 1 and it is exactly at target), at
//     most maxSteal.
//
// Once every worker is within one lease of the others nobody steals, so a
// balanced fleet stays put.
func planTakes(me string, leases []leaseView, maxForWorker, maxSteal int, rng *rand.Rand) takePlan {
	counts := map[string]int{me: 0}
	var expired []string
	for _, l := range leases {
		if l.Expired {
			expired = append(expired, l.Key)
			continue
		}
		counts[l.Owner]++
	}
	p := takePlan{Workers: len(counts)}
	if len(leases) == 0 {
		return p
	}
	if p.Workers >= len(leases) {
		p.Target = 1
	} else {
		p.Target = (len(leases) + p.Workers - 1) / p.Workers
	}
	p.Target = min(p.Target, maxForWorker)
	needed := p.Target - counts[me]
	if needed <= 0 {
		return p
	}
	if len(expired) > 0 {
		shuffle(rng, expired)
		p.Take = expired[:min(needed, len(expired))]
		return p
	}
	// Most-loaded worker; ties broken by id so the choice is stable.
	victim, most := "", -1
	for w, c := range counts {
		if w != me && (c > most || c == most && w < victim) {
			victim, most = w, c
		}
	}
	if most < p.Target {
		return p
	}
	over := most - p.Target
	steal := min(needed, over)
	if needed > 1 && over == 0 {
		steal = 1
	}
	steal = min(steal, maxSteal)
	if steal <= 0 {
		return p
	}
	var cands []string
	for _, l := range leases {
		if !l.Expired && l.Owner == victim {
			cands = append(cands, l.Key)
		}
	}
	shuffle(rng, cands)
	p.Take, p.Steal, p.Victim = cands[:steal], true, victim
	return p
}

func shuffle(rng *rand.Rand, keys []string) {
	slices.Sort(keys) // deterministic for a seeded rng
	if rng == nil {
		rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		return
	}
	rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
}
