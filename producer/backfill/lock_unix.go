//go:build unix

package backfill

import (
	"os"
	"syscall"
)

// lockFile takes a non-blocking exclusive advisory lock, released when the
// file is closed or the process dies (no stale lock files).
func lockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}
