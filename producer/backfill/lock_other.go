//go:build !unix

package backfill

import "os"

// lockFile is a no-op where flock is not available.
func lockFile(*os.File) error { return nil }
