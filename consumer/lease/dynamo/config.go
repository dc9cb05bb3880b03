package dynamo

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/rs/zerolog"
)

// Config uses the names Java KCL users know (KinesisClientLibConfiguration /
// LeaseManagementConfig); a zero numeric field is invalid unless its comment
// says what zero means. Start from DefaultConfig.
type Config struct {
	// ApplicationName names the lease table (one table per application).
	ApplicationName string
	// TableName overrides the lease table name; "" = ApplicationName.
	TableName string
	// StreamName is the Kinesis stream to consume.
	StreamName string
	// WorkerIdentifier must be unique per process; "" = host-pid-random.
	WorkerIdentifier string
	// InitialPositionInStream is the checkpoint given to leases of shards
	// with no consumed ancestor: TRIM_HORIZON, LATEST or AT_TIMESTAMP (with
	// TimestampAtInitialPositionInStream). Children of consumed shards always
	// start at TRIM_HORIZON.
	InitialPositionInStream            string
	TimestampAtInitialPositionInStream time.Time
	// AtTimestampTimeoutMillis bounds a GetShardIterator AT_TIMESTAMP call.
	// Kinesis answers one at once, with an iterator at the tip when nothing
	// arrived at or after the timestamp; kinesalite never answers that case,
	// so a shard with nothing new would never be read (a closed one never
	// reaches SHARD_END, its children never start). A call not answered in
	// time is replaced by a TRIM_HORIZON read that drops the records that
	// arrived before the timestamp: the same records, at the cost of reading
	// the shard's older ones.
	AtTimestampTimeoutMillis int
	// KinesisCallTimeoutMillis bounds every other Kinesis call of the
	// coordinator (GetRecords, GetShardIterator, each ListShards page). A
	// server that accepts a request and never answers (a half-open
	// connection after a NAT or load-balancer drop) would otherwise stall
	// the shard for good; a call not answered in time is retried like any
	// transient error. Kinesis answers in well under a second.
	KinesisCallTimeoutMillis int
	// FailoverTimeMillis: a lease whose leaseCounter has not moved for this
	// long (on the observer's monotonic clock) is expired and may be taken.
	// Owners renew every FailoverTimeMillis/3 - EpsilonMillis.
	FailoverTimeMillis int
	// EpsilonMillis is the slack in the renew and taker intervals.
	EpsilonMillis int
	// MaxRecords is the GetRecords Limit (1..10000).
	MaxRecords int
	// IdleTimeBetweenReadsInMillis is the pause after a GetRecords that
	// returned nothing (calls are also never closer than 200ms: 5/s/shard).
	IdleTimeBetweenReadsInMillis int
	// ShardSyncIntervalMillis is how often ListShards runs to create leases
	// for new shards (shard end also triggers a sync at once).
	ShardSyncIntervalMillis int
	// ParentShardPollIntervalMillis is how often a child shard waiting for
	// its parents to reach SHARD_END re-reads their leases (a SHARD_END
	// written by this worker wakes it at once).
	ParentShardPollIntervalMillis int
	// MaxLeasesForWorker caps the leases one worker takes.
	MaxLeasesForWorker int
	// MaxLeasesToStealAtOneTime caps steals per taker pass; 0 = never steal
	// (no rebalancing of live leases).
	MaxLeasesToStealAtOneTime int
	// LeaseTakerIntervalMillis is the time between lease-taker passes;
	// 0 = (FailoverTimeMillis + EpsilonMillis) * 2 as in the Java KCL.
	LeaseTakerIntervalMillis int
	// ShutdownGraceMillis bounds how long in-flight ProcessRecords and
	// Shutdown(Requested) calls may run after Run's context is cancelled;
	// then their context is cancelled too. 0 = cancel at once.
	ShutdownGraceMillis int
	// TaskBackoffTimeMillis is the base of the jittered exponential backoff
	// after Kinesis/DynamoDB errors (throttling backs off from twice this).
	TaskBackoffTimeMillis int
	// CleanupLeasesUponShardCompletion deletes a SHARD_END lease once every
	// child lease exists and has checkpointed past its initial position.
	CleanupLeasesUponShardCompletion bool
	// ShardFilter, when not empty, restricts this worker to these shard ids
	// (replay of chosen shards): other leases are neither created, counted
	// nor taken.
	ShardFilter []string
	// KinesisEndpoint / DynamoDBEndpoint override the service endpoints;
	// "" = internal/awsconf (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL),
	// else the AWS default. Used by New only.
	KinesisEndpoint  string
	DynamoDBEndpoint string
	// Logger receives lease events (takes, steals, losses, evictions) and
	// per-shard lag.
	Logger zerolog.Logger
}

// Sentinel checkpoint values (the Java KCL's SentinelCheckpoint names).
const (
	TrimHorizon = "TRIM_HORIZON"
	Latest      = "LATEST"
	AtTimestamp = "AT_TIMESTAMP"
	ShardEnd    = "SHARD_END"
)

// DefaultConfig returns the Java KCL defaults, except: TRIM_HORIZON as the
// initial position (a SIEM must not skip logs), MaxRecords 1000 (our records
// are chunks of many events) and a 30s shutdown grace (a bulk write to a
// slow cluster takes longer than the KCL's 5s).
func DefaultConfig() Config {
	return Config{
		ApplicationName:                  "siemstream",
		InitialPositionInStream:          TrimHorizon,
		AtTimestampTimeoutMillis:         5000,
		KinesisCallTimeoutMillis:         30000,
		FailoverTimeMillis:               10000,
		EpsilonMillis:                    25,
		MaxRecords:                       1000,
		IdleTimeBetweenReadsInMillis:     1000,
		ShardSyncIntervalMillis:          60000,
		ParentShardPollIntervalMillis:    10000,
		MaxLeasesForWorker:               math.MaxInt32,
		MaxLeasesToStealAtOneTime:        1,
		ShutdownGraceMillis:              30000,
		TaskBackoffTimeMillis:            500,
		CleanupLeasesUponShardCompletion: true,
		Logger:                           zerolog.Nop(),
	}
}

// DynamoDB table names: 3..255 of [a-zA-Z0-9_.-] (moto checks it too);
// Kinesis stream names: 1..128 of the same.
var (
	tableNameRE  = regexp.MustCompile(`^[a-zA-Z0-9_.-]{3,255}$`)
	streamNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,128}$`)
)

// Validate checks fields and how they relate.
func (c Config) Validate() error {
	var errs []error
	if c.ApplicationName == "" && c.TableName == "" {
		errs = append(errs, errors.New("applicationName (or tableName) is required"))
	} else if !tableNameRE.MatchString(c.tableName()) {
		errs = append(errs, fmt.Errorf("lease table name %q: want 3..255 of [a-zA-Z0-9_.-]", c.tableName()))
	}
	if !streamNameRE.MatchString(c.StreamName) {
		errs = append(errs, fmt.Errorf("streamName %q: want 1..128 of [a-zA-Z0-9_.-]", c.StreamName))
	}
	switch c.InitialPositionInStream {
	case TrimHorizon, Latest:
	case AtTimestamp:
		if c.TimestampAtInitialPositionInStream.IsZero() {
			errs = append(errs, errors.New("initialPositionInStream AT_TIMESTAMP needs timestampAtInitialPositionInStream"))
		}
	default:
		errs = append(errs, fmt.Errorf("initialPositionInStream %q: want TRIM_HORIZON, LATEST or AT_TIMESTAMP", c.InitialPositionInStream))
	}
	if c.AtTimestampTimeoutMillis < 100 {
		errs = append(errs, fmt.Errorf("atTimestampTimeoutMillis %d: must be >= 100", c.AtTimestampTimeoutMillis))
	}
	if c.KinesisCallTimeoutMillis < 100 {
		errs = append(errs, fmt.Errorf("kinesisCallTimeoutMillis %d: must be >= 100", c.KinesisCallTimeoutMillis))
	}
	if c.EpsilonMillis < 0 {
		errs = append(errs, fmt.Errorf("epsilonMillis %d: must be >= 0", c.EpsilonMillis))
	}
	if c.FailoverTimeMillis < 300 {
		errs = append(errs, fmt.Errorf("failoverTimeMillis %d: must be >= 300", c.FailoverTimeMillis))
	} else if c.renewInterval() < 50*time.Millisecond {
		errs = append(errs, fmt.Errorf("failoverTimeMillis/3 - epsilonMillis = %s: the renew interval must be >= 50ms", c.renewInterval()))
	}
	if c.MaxRecords < 1 || c.MaxRecords > 10000 {
		errs = append(errs, fmt.Errorf("maxRecords %d: must be 1..10000", c.MaxRecords))
	}
	if c.IdleTimeBetweenReadsInMillis < 0 {
		errs = append(errs, fmt.Errorf("idleTimeBetweenReadsInMillis %d: must be >= 0", c.IdleTimeBetweenReadsInMillis))
	}
	if c.ShardSyncIntervalMillis < 100 {
		errs = append(errs, fmt.Errorf("shardSyncIntervalMillis %d: must be >= 100", c.ShardSyncIntervalMillis))
	}
	if c.ParentShardPollIntervalMillis < 10 {
		errs = append(errs, fmt.Errorf("parentShardPollIntervalMillis %d: must be >= 10", c.ParentShardPollIntervalMillis))
	}
	if c.MaxLeasesForWorker < 1 {
		errs = append(errs, fmt.Errorf("maxLeasesForWorker %d: must be >= 1", c.MaxLeasesForWorker))
	}
	if c.MaxLeasesToStealAtOneTime < 0 {
		errs = append(errs, fmt.Errorf("maxLeasesToStealAtOneTime %d: must be >= 0", c.MaxLeasesToStealAtOneTime))
	}
	if c.LeaseTakerIntervalMillis != 0 && c.LeaseTakerIntervalMillis < 50 {
		errs = append(errs, fmt.Errorf("leaseTakerIntervalMillis %d: must be 0 (derived) or >= 50", c.LeaseTakerIntervalMillis))
	}
	if c.ShutdownGraceMillis < 0 {
		errs = append(errs, fmt.Errorf("shutdownGraceMillis %d: must be >= 0", c.ShutdownGraceMillis))
	}
	if c.TaskBackoffTimeMillis < 1 {
		errs = append(errs, fmt.Errorf("taskBackoffTimeMillis %d: must be >= 1", c.TaskBackoffTimeMillis))
	}
	for _, s := range c.ShardFilter {
		if s == "" {
			errs = append(errs, errors.New("shardFilter: empty shard id"))
			break
		}
	}
	return errors.Join(errs...)
}

func (c Config) tableName() string {
	if c.TableName != "" {
		return c.TableName
	}
	return c.ApplicationName
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func (c Config) failover() time.Duration { return ms(c.FailoverTimeMillis) }

// renewInterval is the Java KCL's failoverTime/3 - epsilon.
func (c Config) renewInterval() time.Duration {
	return ms(c.FailoverTimeMillis)/3 - ms(c.EpsilonMillis)
}

// takerInterval is LeaseTakerIntervalMillis or the Java KCL's
// (failoverTime + epsilon) * 2.
func (c Config) takerInterval() time.Duration {
	if c.LeaseTakerIntervalMillis > 0 {
		return ms(c.LeaseTakerIntervalMillis)
	}
	return 2 * ms(c.FailoverTimeMillis+c.EpsilonMillis)
}

// writeTimeout bounds one lease-table write so that a stuck call never
// holds a lease's write lock past a renew interval.
func (c Config) writeTimeout() time.Duration { return c.renewInterval() }
