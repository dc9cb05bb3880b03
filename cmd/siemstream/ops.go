package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/internal/metrics"
	"github.com/siemstream/siemstream/internal/obs"
)

// Set by the build: go build -ldflags "-X main.version=… -X main.commit=… -X main.date=…".
var (
	version = "dev"
	commit  = "unknown"
	date    = "unknown"
)

func build() metrics.Build { return metrics.Build{Version: version, Commit: commit, Date: date} }

func printVersion() {
	fmt.Printf("siemstream %s (commit %s, built %s, %s)\n", version, commit, date, runtime.Version())
}

// opsFlagValues are the operations flags of every long-running command.
type opsFlagValues struct {
	addr        *string
	emf         *bool
	emfInterval *time.Duration
	role        metrics.Role
}

func opsFlags(f *flags, role metrics.Role) *opsFlagValues {
	return &opsFlagValues{
		addr: f.str("metrics-addr", "SIEM_METRICS_ADDR", metrics.DefaultAddr,
			"serve /metrics (Prometheus), /healthz and /readyz on this address; empty = off; port 0 picks a free port (logged); an address in use is a warning, not an error"),
		emf:         f.boolean("emf", "SIEM_EMF", false, "write es-loader's CloudWatch metrics (namespace SIEM, dimension logtype) as Embedded Metric Format lines on stdout"),
		emfInterval: f.duration("emf-interval", "SIEM_EMF_INTERVAL", time.Minute, "how often EMF lines are written (one per log type with activity)"),
		role:        role,
	}
}

// ops is the running operations side of a command.
type ops struct {
	m    *metrics.Metrics
	h    *metrics.Health
	addr string // bound metrics address, "" when off

	stop context.CancelFunc
	wg   sync.WaitGroup
}

// start builds the registry and health state, serves them and starts EMF.
// Call close when the command's work is done: it writes the last EMF
// interval and stops the endpoint.
func (v *opsFlagValues) start(ctx context.Context, log zerolog.Logger) *ops {
	o := &ops{m: metrics.New(build()), h: metrics.NewHealth()}
	ctx, o.stop = context.WithCancel(context.WithoutCancel(ctx))
	o.addr = metrics.Serve(ctx, *v.addr, o.m, o.h, log)
	if *v.emf {
		e := metrics.NewEMF(o.m, v.role, os.Stdout)
		o.wg.Go(func() { e.Run(ctx, *v.emfInterval) })
	}
	return o
}

// opsOff is the operations side of a one-off command that serves nothing
// (no endpoint, no EMF): its components still get working observers.
func opsOff(ctx context.Context, log zerolog.Logger) *ops {
	off, emf := "", false
	return (&opsFlagValues{addr: &off, emf: &emf}).start(ctx, log)
}

// aws adds the AWS call metrics to cfg.
func (o *ops) aws(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, o.m.AWSMiddleware(o.h))
}

// counts exposes per-log-type totals.
func (o *ops) counts(r *obs.Registry) { o.m.RegisterCounts(r) }

func (o *ops) close() {
	o.stop()
	o.wg.Wait()
}

// Readiness checks: each makes one cheap call that proves the dependency
// answers and this process may use it.

// leaseStatus adapts the dynamo coordinator's status for the metrics.
func leaseStatus(c *dynamo.Coordinator) func() metrics.LeaseStatus {
	return func() metrics.LeaseStatus {
		st := c.Status()
		ls := metrics.LeaseStatus{Takes: st.Takes, Steals: st.Steals, Losses: st.Losses, Evictions: st.Evictions, Behind: map[string]int64{}}
		for _, h := range st.Held {
			ls.Behind[h.ShardID] = h.MillisBehindLatest
		}
		return ls
	}
}
