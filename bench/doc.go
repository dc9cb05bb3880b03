// Package bench holds siemstream's benchmarks: `go tool task bench` runs
// ./bench/cmd/benchrun, which runs the `go test -bench` benchmarks of this
// package at GOMAXPROCS=1 (and 2 for the consumer), times the real
// `siemstream normalize` binary on large objects, measures peak RSS of the
// producer and the consumer in child processes (./bench/cmd/benchmem), runs
// an end-to-end load on the local stack, and writes
// bench/results/<date>-<gitsha>.txt (benchstat input) and
// bench/results/latest.md (the summary table). See README.md.
//
// Benchmarks (op = one event unless noted):
//
//	BenchmarkHotPath/type=T/stages=S   decode → [exclude] → normalize → [geoip → ioc] → encode → bulk body
//	BenchmarkProducer/type=T           one gzip object → LoadObject (gunzip, split, pack, PutRecords); op = object
//	BenchmarkConsumer/type=T/stages=S  wire records → consumer processors (unpack, chain, bulk body, checkpoint)
//
// Inputs come from bench/gen (seeded), GeoIP/IoC data from bench/fixture.
package bench
