package schemas

import (
	"strings"
	"sync"

	"github.com/siemstream/siemstream/internal/doc"
)

// TransformContext is what a per-type Go transform works on: the
// normalised document (original fields, basic fields, ECS fields) and the
// outputs es-loader's sf_ scripts pass back through special fields.
type TransformContext struct {
	Doc     *doc.Doc
	LogType *LogType

	// IndexName replaces index_name for this document when not empty
	// (es-loader __index_name).
	IndexName string
	// DocIDSuffix is appended to the _id as "_<suffix>" when not empty
	// (es-loader __doc_id_suffix).
	DocIDSuffix string
	// IndexTime, when HasIndexTime, dates the index instead of @timestamp
	// (es-loader __index_dt).
	IndexTime    Time
	HasIndexTime bool
}

// TransformFunc is the Go counterpart of es-loader's siem/sf_<type>.py
// transform(): it edits tc.Doc in place. An error is reported and counted by
// normalize but the document is kept with whatever changes were made before
// the error, as es-loader does when a script raises.
type TransformFunc func(tc *TransformContext) error

var (
	transformsMu sync.RWMutex
	transforms   = map[string]TransformFunc{}
)

// RegisterTransform makes fn the transform of log types named name (or
// whose `transform` key names it). Call it from init(); registering a name
// twice panics.
func RegisterTransform(name string, fn TransformFunc) {
	transformsMu.Lock()
	defer transformsMu.Unlock()
	if _, dup := transforms[name]; dup {
		panic("schemas: transform " + name + " registered twice")
	}
	transforms[name] = fn
}

func lookupTransform(name string) TransformFunc {
	transformsMu.RLock()
	defer transformsMu.RUnlock()
	if fn := transforms[name]; fn != nil {
		return fn
	}
	// es-loader imports sf_<name with - replaced by _>
	return transforms[strings.ReplaceAll(name, "-", "_")]
}
