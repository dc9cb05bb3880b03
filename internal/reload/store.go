package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrNotExist is returned (wrapped) by a Store for a missing object. It is
// fs.ErrNotExist, so errors.Is works with both.
var ErrNotExist = fs.ErrNotExist

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	// Key is the object's path relative to the store root, '/'-separated.
	Key     string
	Size    int64
	ModTime time.Time
	// ETag is the S3 entity tag ("" for local files).
	ETag string
}

// Store is a read-only view of a local directory or an S3 bucket/prefix.
// Implementations are safe for concurrent use.
type Store interface {
	// List returns every object whose key starts with prefix (recursively),
	// sorted by key. Directory markers are omitted. A prefix with no objects
	// gives an empty list, not an error.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Stat describes one object; a missing one gives an error wrapping
	// ErrNotExist.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// ReadAll returns the whole object, refusing one larger than limit bytes
	// when limit > 0.
	ReadAll(ctx context.Context, key string, limit int64) ([]byte, error)
	// String names the location for logs ("/dir", "s3://bucket/prefix").
	String() string
}

// Fingerprint summarises objects (key, size, modification time, ETag) into a
// version string for a Source. Missing objects can be passed as the zero
// ObjectInfo with only Key set.
func Fingerprint(objs ...ObjectInfo) string {
	h := sha256.New()
	var b []byte
	for _, o := range objs {
		b = b[:0]
		b = append(b, o.Key...)
		b = append(b, 0)
		b = strconv.AppendInt(b, o.Size, 10)
		b = append(b, 0)
		b = strconv.AppendInt(b, o.ModTime.UnixNano(), 10)
		b = append(b, 0)
		b = append(b, o.ETag...)
		b = append(b, '\n')
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// Location is a parsed "DIR", "FILE" or "s3://bucket/prefix".
type Location struct {
	// Bucket is set for S3 locations.
	Bucket string
	// Prefix is the S3 key prefix (no leading '/'), or for a local location the
	// cleaned path.
	Prefix string
}

// IsS3 tells an S3 location from a local one.
func (l Location) IsS3() bool { return l.Bucket != "" }

func (l Location) String() string {
	if l.IsS3() {
		return "s3://" + l.Bucket + "/" + l.Prefix
	}
	return l.Prefix
}

// ParseLocation parses "s3://bucket[/prefix]" or a local path. An empty
// string is an error.
func ParseLocation(loc string) (Location, error) {
	if loc == "" {
		return Location{}, errors.New("empty location")
	}
	if rest, ok := strings.CutPrefix(loc, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return Location{}, fmt.Errorf("location %q: no bucket", loc)
		}
		return Location{Bucket: bucket, Prefix: prefix}, nil
	}
	if strings.Contains(loc, "://") {
		return Location{}, fmt.Errorf("location %q: only local paths and s3:// are supported", loc)
	}
	return Location{Prefix: filepath.Clean(loc)}, nil
}

// S3Opener makes a Store for an S3 bucket and key prefix (the prefix ends
// with '/' or is empty). The lead wires s3src.Opener(client).
type S3Opener func(bucket, prefix string) Store

// OpenDir opens a location that names a directory or prefix. An S3 location
// needs s3; a local one must be an existing directory.
func OpenDir(loc string, s3 S3Opener) (Store, error) {
	l, err := ParseLocation(loc)
	if err != nil {
		return nil, err
	}
	if l.IsS3() {
		if s3 == nil {
			return nil, fmt.Errorf("location %s: S3 access is not configured", l)
		}
		p := l.Prefix
		if p != "" && !strings.HasSuffix(p, "/") {
			p += "/"
		}
		return s3(l.Bucket, p), nil
	}
	st, err := os.Stat(l.Prefix)
	if err != nil {
		return nil, fmt.Errorf("location %s: %w", l, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("location %s: not a directory", l)
	}
	return Dir(l.Prefix), nil
}

// OpenFile opens a location that names one object and returns the store
// holding it and its key. The file need not exist yet (it is polled).
func OpenFile(loc string, s3 S3Opener) (Store, string, error) {
	l, err := ParseLocation(loc)
	if err != nil {
		return nil, "", err
	}
	if l.IsS3() {
		if s3 == nil {
			return nil, "", fmt.Errorf("location %s: S3 access is not configured", l)
		}
		if l.Prefix == "" || strings.HasSuffix(l.Prefix, "/") {
			return nil, "", fmt.Errorf("location %s: names no object", l)
		}
		dir, key := path.Split(l.Prefix)
		return s3(l.Bucket, dir), key, nil
	}
	return Dir(filepath.Dir(l.Prefix)), filepath.Base(l.Prefix), nil
}

// Dir is a Store over a local directory.
type Dir string

func (d Dir) String() string { return string(d) }

func (d Dir) full(key string) (string, error) {
	if !fs.ValidPath(key) {
		return "", fmt.Errorf("invalid key %q", key)
	}
	return filepath.Join(string(d), filepath.FromSlash(key)), nil
}

// Stat implements Store.
func (d Dir) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := d.full(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	st, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, err
	}
	if st.IsDir() {
		return ObjectInfo{}, fmt.Errorf("stat %s: is a directory: %w", p, ErrNotExist)
	}
	return ObjectInfo{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// List implements Store.
func (d Dir) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var out []ObjectInfo
	root := string(d)
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if p == root {
				return err
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if e.IsDir() {
			if p == root {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			rel = filepath.ToSlash(rel) + "/"
			// Descend only where the prefix can still match.
			if !strings.HasPrefix(rel, prefix) && !strings.HasPrefix(prefix, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !strings.HasPrefix(rel, prefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		out = append(out, ObjectInfo{Key: rel, Size: info.Size(), ModTime: info.ModTime()})
		return ctx.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("list %s/%s: %w", root, prefix, err)
	}
	slices.SortFunc(out, func(a, b ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// ReadAll implements Store.
func (d Dir) ReadAll(ctx context.Context, key string, limit int64) ([]byte, error) {
	p, err := d.full(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadLimited(f, limit, p)
}

// ReadLimited reads r to the end, failing when it holds more than limit
// bytes (limit <= 0: no limit). name is used in the error.
func ReadLimited(r io.Reader, limit int64, name string) ([]byte, error) {
	if limit <= 0 {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		return b, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("read %s: larger than %d bytes", name, limit)
	}
	return b, nil
}
