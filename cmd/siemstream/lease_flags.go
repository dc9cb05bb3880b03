package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/consumer/lease/dynamo"
	"github.com/siemstream/siemstream/consumer/lease/kcl"
	"github.com/siemstream/siemstream/internal/awsconf"
)

// leaseFlags are the lease-coordinator settings consumer and replay share,
// under the KCL's names.
type leaseFlags struct {
	coordinator                                               *string
	maxRecords, idle, failover, shardSync, maxLeases, takerMs *int
	stealing                                                  *bool
}

func newLeaseFlags(f *flags, coordHelp, stealHelp string) leaseFlags {
	kd := kcl.DefaultConfig()
	return leaseFlags{
		coordinator: f.str("coordinator", "SIEM_COORDINATOR", "dynamo", coordHelp),
		maxRecords:  f.integer("max-records", "SIEM_MAX_RECORDS", kd.MaxRecords, "maxRecords per GetRecords"),
		idle:        f.integer("idle-time-between-reads-ms", "SIEM_IDLE_TIME_MS", kd.IdleTimeBetweenReadsInMillis, "idleTimeBetweenReadsInMillis"),
		failover:    f.integer("failover-time-ms", "SIEM_FAILOVER_TIME_MS", kd.FailoverTimeMillis, "failoverTimeMillis: lease expiry"),
		shardSync:   f.integer("shard-sync-interval-ms", "SIEM_SHARD_SYNC_MS", kd.ShardSyncIntervalMillis, "shardSyncIntervalMillis"),
		maxLeases:   f.integer("max-leases-for-worker", "SIEM_MAX_LEASES", kd.MaxLeasesForWorker, "maxLeasesForWorker"),
		stealing:    f.boolean("lease-stealing", "SIEM_LEASE_STEALING", true, stealHelp),
		takerMs:     f.integer("lease-taker-interval-ms", "SIEM_LEASE_TAKER_MS", 0, "dynamo: leaseTakerIntervalMillis (0 = (failover-time-ms + 25) * 2)"),
	}
}

// dynamo is the configuration of our coordinator (the caller sets the
// initial position).
func (l leaseFlags) dynamo(app, stream, worker string, log zerolog.Logger) dynamo.Config {
	dc := dynamo.DefaultConfig()
	dc.ApplicationName, dc.StreamName, dc.WorkerIdentifier = app, stream, worker
	dc.MaxRecords, dc.IdleTimeBetweenReadsInMillis, dc.FailoverTimeMillis = *l.maxRecords, *l.idle, *l.failover
	dc.ShardSyncIntervalMillis, dc.MaxLeasesForWorker, dc.LeaseTakerIntervalMillis = *l.shardSync, *l.maxLeases, *l.takerMs
	if !*l.stealing {
		dc.MaxLeasesToStealAtOneTime = 0
	}
	dc.Logger = log.With().Str("component", "lease").Logger()
	return dc
}

// kcl is the configuration of the vmware-go-kcl-v2 adapter (the caller
// sets the initial position).
func (l leaseFlags) kcl(app, stream, region, worker string, log zerolog.Logger) kcl.Config {
	kc := kcl.DefaultConfig()
	kc.ApplicationName, kc.StreamName, kc.Region, kc.WorkerID = app, stream, region, worker
	kc.KinesisEndpoint, kc.DynamoDBEndpoint = awsconf.Endpoint("KINESIS"), awsconf.Endpoint("DYNAMODB")
	kc.MaxRecords, kc.IdleTimeBetweenReadsInMillis, kc.FailoverTimeMillis = *l.maxRecords, *l.idle, *l.failover
	kc.ShardSyncIntervalMillis, kc.MaxLeasesForWorker, kc.EnableLeaseStealing = *l.shardSync, *l.maxLeases, *l.stealing
	kc.Logger = log.With().Str("component", "kcl").Logger()
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		kc.Credentials = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	return kc
}
