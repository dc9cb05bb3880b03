package schemas

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
)

//go:embed types/*.ini
var builtinFS embed.FS

// Options configures Load.
type Options struct {
	// UserINI is the path of a user.ini whose sections override built-in
	// types key by key or define new types (evaluated after the built-ins,
	// in file order). Empty: built-in types only.
	UserINI string
	// Types holds the built-in type files (*.ini at its root, read in name
	// order) in place of the ones embedded from schemas/types. Nil: the
	// embedded ones. Tests use it to load a types directory with a file
	// added (TestNewTypeFileIsEnough).
	Types fs.FS
}

// Registry is the set of log types in detection order. It is immutable
// after Load and safe for concurrent use.
type Registry struct {
	types    []*LogType
	byName   map[string]*LogType
	warnings []string
}

// Load reads the built-in type definitions (schemas/types/*.ini or
// opts.Types, in file name order, the DEFAULT section first) and then
// opts.UserINI, and
// validates every type. Syntax errors, broken interpolation, invalid
// regular expressions (including Python-only syntax Go cannot run) and
// invalid typed values are errors naming the section and key; unknown keys
// are warnings.
func Load(opts Options) (*Registry, error) {
	cfg := newINI()
	types, dir := opts.Types, "schemas/types/"
	if types == nil {
		sub, err := fs.Sub(builtinFS, "types")
		if err != nil {
			return nil, err
		}
		types = sub
	} else {
		dir = ""
	}
	names, err := fs.Glob(types, "*.ini")
	if err != nil {
		return nil, fmt.Errorf("built-in log types: %w", err)
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(types, n)
		if err != nil {
			return nil, fmt.Errorf("built-in log types: %w", err)
		}
		if err := cfg.read(dir+n, string(b)); err != nil {
			return nil, fmt.Errorf("built-in log types: %w", err)
		}
	}
	if opts.UserINI != "" {
		b, err := os.ReadFile(opts.UserINI)
		if err != nil {
			return nil, fmt.Errorf("read user.ini: %w", err)
		}
		if err := cfg.read(opts.UserINI, string(b)); err != nil {
			return nil, fmt.Errorf("user.ini: %w", err)
		}
	}
	return build(cfg)
}

// loadText builds a registry from INI texts (tests and tools).
func loadText(texts ...string) (*Registry, error) {
	cfg := newINI()
	for i, t := range texts {
		if err := cfg.read(fmt.Sprintf("text%d", i), t); err != nil {
			return nil, err
		}
	}
	return build(cfg)
}

func build(cfg *iniConfig) (*Registry, error) {
	if _, ok := cfg.defaults.vals["doc_id"]; !ok {
		return nil, errors.New("configuration has no [DEFAULT] doc_id: the built-in defaults are missing")
	}
	r := &Registry{byName: map[string]*LogType{}}
	var errs []error
	for _, k := range cfg.defaults.order {
		if !knownKeys[k] {
			r.warnings = append(r.warnings, fmt.Sprintf("[DEFAULT] unknown key %q (%s) is ignored", k, cfg.defaults.origin[k]))
		}
	}
	for i, s := range cfg.sections {
		lt, w, err := buildLogType(cfg, s, i)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.warnings = append(r.warnings, w...)
		r.types = append(r.types, lt)
		r.byName[lt.Name] = lt
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

// Detect returns the log type of a decoded S3 key: the first type (in
// detection order) whose s3_key regex matches anywhere in the key. lt is nil
// for an unknown type and for a key ending in "/" (a folder). ignored is
// true when the type's s3_key_ignored matches or the type is incomplete
// (LogType.Problem); the object is then skipped.
func (r *Registry) Detect(key string) (lt *LogType, ignored bool) {
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, false
	}
	for _, t := range r.types {
		if t.S3Key.MatchString(key) {
			if t.Problem != "" {
				return t, true
			}
			if t.S3KeyIgnored != nil && t.S3KeyIgnored.MatchString(key) {
				return t, true
			}
			if t.S3KeyIncluded != nil && !t.S3KeyIncluded.MatchString(key) {
				return t, true
			}
			return t, false
		}
	}
	return nil, false
}

// Lookup returns the type named name, or nil.
func (r *Registry) Lookup(name string) *LogType { return r.byName[name] }

// Types returns the types in detection order. The slice must not be changed.
func (r *Registry) Types() []*LogType { return r.types }

// Warnings lists non-fatal configuration findings (unknown keys, missing
// transforms, incomplete types).
func (r *Registry) Warnings() []string { return r.warnings }
