package main

import (
	"github.com/siemstream/siemstream/producer"
)

// addLimitFlags registers the hostile-input budget (README "Limits
// (hostile input)") shared by producer and normalize; the function it
// returns reads the parsed values.
func addLimitFlags(f *flags) func() producer.Limits {
	d := producer.DefaultLimits()
	depth := f.integer("max-json-depth", "SIEM_MAX_JSON_DEPTH", d.MaxJSONDepth, "deepest JSON nesting of a record; deeper records are quarantined")
	bytes := f.integer("max-decompressed-bytes", "SIEM_MAX_DECOMPRESSED_BYTES", int(d.MaxDecompressedBytes), "decompressed size of one compressed object; beyond it the rest is quarantined")
	ratio := f.integer("max-decompression-ratio", "SIEM_MAX_DECOMPRESSION_RATIO", int(d.MaxDecompressionRatio), "decompressed/compressed ratio of one object, checked past 64 MiB; beyond it the rest is quarantined")
	dtime := f.duration("max-decompress-time", "SIEM_MAX_DECOMPRESS_TIME", d.MaxDecompressTime, "time spent decompressing one object; beyond it the rest is quarantined")
	spool := f.integer("max-spool-bytes", "SIEM_MAX_SPOOL_BYTES", int(d.MaxSpoolBytes), "largest zip or parquet object (spooled for random access); larger ones are quarantined")
	return func() producer.Limits {
		return producer.Limits{MaxJSONDepth: *depth, MaxDecompressedBytes: int64(*bytes), MaxDecompressionRatio: int64(*ratio),
			MaxDecompressTime: *dtime, MaxSpoolBytes: int64(*spool)}
	}
}
