// Package useragent is the user-agent enrichment stage: for log types whose
// user_agent_enrichment_field is set (ALB, CLB, CloudTrail, …) it parses
// <field>.original with the uap-core rules and writes <field>.name, .version,
// .os.name, .os.full, .os.version and .device.name as es-loader's
// siem/user_agent.py does.
//
// It runs after normalize. The parser (hundreds of regexes) is built on
// first use, and results are cached per distinct user-agent string, because
// real logs repeat a few agents millions of times (es-loader caches too).
package useragent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/ua-parser/uap-go/uaparser"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/stages"
)

// Result is what one user-agent string enriches to.
type Result struct {
	Original                          string
	Name, Version                     string
	OSName, OSFull, OSVersion, Device string
}

// Stage enriches documents. Safe for concurrent use.
type Stage struct {
	fields map[string]string // log type → field
	once   sync.Once
	parser *uaparser.Parser
	cache  cache
}

// DefaultCacheSize is how many distinct user-agent strings are cached (the
// cache is emptied when full).
const DefaultCacheSize = 1 << 16

// Config configures the stage. The zero Config enriches nothing; the chain
// leaves the stage out then.
type Config struct {
	// Fields maps a log type to the object whose .original is parsed (the
	// log type's user_agent_enrichment_field, e.g. "user_agent"). A log
	// type not listed is passed through.
	Fields map[string]string `json:"fields" yaml:"fields"`
}

// DefaultConfig returns the defaults: no log type enriched.
func DefaultConfig() Config { return Config{} }

// Validate checks the fields.
func (c Config) Validate() error {
	var errs []error
	for lt, f := range c.Fields {
		if f == "" {
			errs = append(errs, fmt.Errorf("fields[%s]: empty field", lt))
		}
	}
	return errors.Join(errs...)
}

// New returns the stage. It uses none of deps.
func New(cfg Config, _ stages.Deps) (*Stage, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("useragent: %w", err)
	}
	return &Stage{fields: maps.Clone(cfg.Fields), cache: newCache(DefaultCacheSize)}, nil
}

// Name implements stages.Stage.
func (s *Stage) Name() string { return "useragent" }

// Process implements stages.Stage.
func (s *Stage) Process(ctx context.Context, b *stages.Batch) error {
	var m memo
	var src *stages.Source
	var field string
	var ok bool
	for i := range b.Events {
		e := &b.Events[i]
		if e.Status != stages.Keep || e.Doc == nil || e.Src == nil {
			continue
		}
		if e.Src != src { // a batch's events mostly share their source
			src = e.Src
			field, ok = s.fields[src.LogType]
		}
		if !ok {
			continue
		}
		s.enrich(e.Doc, field, &m)
	}
	return ctx.Err()
}

// memo is the last user-agent string of a batch and its result: agents
// repeat from one event to the next (a CloudTrail object holds one
// caller's calls), and the memo skips the shared cache's lock and hash.
// raw aliases the document it came from, which lives until the batch is
// reset (a Doc's strings are never overwritten).
type memo struct {
	raw []byte
	r   *Result
}

func (s *Stage) enrich(d *doc.Doc, field string, m *memo) {
	obj := d.Child(d.Root(), field)
	if obj == doc.Nil || d.Kind(obj) != doc.Object {
		return
	}
	orig := d.Child(obj, "original")
	member := orig
	if orig != doc.Nil && d.Kind(orig) == doc.Array {
		orig = d.Index(orig, 0)
	}
	if orig == doc.Nil || d.Kind(orig) != doc.String {
		return
	}
	raw := d.Bytes(orig)
	if string(raw) == "-" {
		return
	}
	r := m.r
	if r == nil || string(raw) != string(m.raw) {
		r = s.lookup(raw)
		m.raw, m.r = raw, r
	}
	set := func(parent doc.Node, key, val string) {
		if val != "" {
			d.SetString(parent, key, val)
		}
	}
	// the member already holds r.Original unless it was a list or had
	// "%20" unescaped
	if orig != member || r.Original != string(raw) {
		d.SetString(obj, "original", r.Original)
	}
	d.SetString(obj, "name", r.Name)
	set(obj, "version", r.Version)
	osn := d.SetObject(obj, "os")
	d.SetString(osn, "name", r.OSName)
	d.SetString(osn, "full", r.OSFull)
	set(osn, "version", r.OSVersion)
	d.SetString(d.SetObject(obj, "device"), "name", r.Device)
}

// Lookup returns what raw (a <field>.original value) enriches to, from the
// stage's cache; normalize's output plans write it as enrich would.
func (s *Stage) Lookup(raw []byte) *Result { return s.lookup(raw) }

func (s *Stage) lookup(raw []byte) *Result {
	if r := s.cache.get(raw); r != nil {
		return r
	}
	s.once.Do(func() { s.parser = uaparser.NewFromSaved() })
	r := Parse(s.parser, string(raw))
	s.cache.put(string(raw), r)
	return r
}

var awsAgent = regexp.MustCompile(`^(AWS Internal|[\w.-]+?\.amazonaws.com)$`)

// Parse applies es-loader's rules to one user-agent string.
func Parse(p *uaparser.Parser, original string) *Result {
	if strings.Contains(original, "%20") {
		if u, err := url.PathUnescape(original); err == nil {
			original = u
		}
	}
	c := p.Parse(original)
	r := &Result{Original: original, Name: c.UserAgent.Family, Device: c.Device.Family}
	r.Version = joinTruthy(c.UserAgent.Major, c.UserAgent.Minor, c.UserAgent.Patch)
	if r.Name == "Other" && awsAgent.MatchString(original) {
		r.Name = original
	}
	r.OSName = c.Os.Family
	r.OSFull = r.OSName
	r.OSVersion = joinTruthy(c.Os.Major, c.Os.Minor, c.Os.Patch, c.Os.PatchMinor)
	if r.OSName != "" && r.OSVersion != "" {
		r.OSFull = r.OSName + " " + r.OSVersion
	}
	return r
}

// joinTruthy joins the non-empty parts with dots, as es-loader's
// '.'.join(str(v) for v in parts if v) does.
func joinTruthy(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// cache is a bounded map from user-agent string to result: when full it is
// emptied (agents repeat, so it refills with the hot ones at once).
type cache struct {
	mu  sync.RWMutex
	m   map[string]*Result
	max int
}

func newCache(max int) cache { return cache{m: make(map[string]*Result), max: max} }

func (c *cache) get(k []byte) *Result {
	c.mu.RLock()
	r := c.m[string(k)]
	c.mu.RUnlock()
	return r
}

func (c *cache) put(k string, r *Result) {
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = r
	c.mu.Unlock()
}
