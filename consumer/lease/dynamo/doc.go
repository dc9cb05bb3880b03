// Package dynamo is siemstream's own lease coordinator: a lease.Coordinator
// that speaks the Java KCL lease-table schema in DynamoDB and reads Kinesis
// with GetRecords.
//
// It consumes a Kinesis stream (ListShards, GetShardIterator, GetRecords)
// and a lease table (one per applicationName, created on demand,
// PAY_PER_REQUEST, hash key leaseKey). It produces lease.Records —
// KPL aggregates de-aggregated with internal/wire, each user record with its
// sub-sequence number — to one lease.Processor per held shard, and stores
// the processor's checkpoints as checkpoint + checkpointSubSequenceNumber.
//
// Fencing: every write on a lease row is an UpdateItem conditioned on the
// leaseCounter this worker holds (renew, checkpoint) or saw (take), or on
// leaseOwner (evict), and bumps the counter. A checkpoint is also refused in
// memory when it comes from an older tenure (a processor made before the
// lease was lost and re-taken) or after the lease was not renewed for
// failoverTimeMillis. A worker that lost a lease cancels the context of the
// processor's ProcessRecords, calls Shutdown(LeaseLost), and its
// Checkpointer returns ErrLeaseLost: a checkpoint can never move backwards.
//
// Liveness is judged as the Java KCL does: a lease is expired when its
// counter has not been seen to change for failoverTimeMillis on the
// observer's monotonic clock, never by comparing wall clocks. Leases are
// balanced with the KCL 2.x count-based algorithm (take expired leases up to
// ceil(leases/workers), else steal at most maxLeasesToStealAtOneTime from
// the most-loaded worker). Shards are synced hierarchically: a child shard
// starts only after its parents' SHARD_END.
//
// Config keys (Java KCL names): applicationName, tableName, streamName,
// workerIdentifier, initialPositionInStream, failoverTimeMillis,
// epsilonMillis, maxRecords, idleTimeBetweenReadsInMillis,
// shardSyncIntervalMillis, parentShardPollIntervalMillis,
// maxLeasesForWorker, maxLeasesToStealAtOneTime, leaseTakerIntervalMillis,
// shutdownGraceMillis, taskBackoffTimeMillis,
// cleanupLeasesUponShardCompletion, plus shardFilter. See README.md for the
// table and the comparison with vmware-go-kcl-v2.
package dynamo
