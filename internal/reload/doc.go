// Package reload keeps a hot-reloadable value (a GeoIP database, an IoC index,
// a set of exclusion rules) behind an atomic pointer.
//
// A Holder reads lock-free: Load returns the value in use and never waits for
// a reload. A watcher (Run, or an explicit Check) asks the Source for a
// version fingerprint (file size and modification time, S3 ETag and
// LastModified); only when it changed is a candidate loaded and validated off
// the hot path, then swapped in. A candidate that fails to load or validate is
// refused with an error log and the previous value stays in use; the same
// broken version is not retried until the source changes again.
//
// Store is the read-only view of where the data lives: a local directory
// (Dir) or an S3 bucket/prefix (package s3src). Locations are written
// "DIR", "FILE" or "s3://bucket/prefix".
//
// No goroutine is started by a constructor: the owner runs Run(ctx) and stops
// it by cancelling ctx.
package reload
