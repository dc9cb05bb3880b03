package bench

import (
	"crypto/md5"
	"testing"
)

// BenchmarkCalibrate is a yardstick for the machine: MD5 of 1 MiB does
// not change with siemstream, so comparing its MB/s between two result
// files says how much of a difference is the machine (or its load).
func BenchmarkCalibrate(b *testing.B) {
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		_ = md5.Sum(buf)
	}
}
