package geoip

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/siemstream/siemstream/internal/reload"
)

// Defaults.
const (
	DefaultCacheSize      = 1 << 16
	DefaultReloadInterval = time.Hour
	DefaultMaxFileSize    = 512 << 20
)

// Database keys tried under Config.Source, in order: es-loader's bucket layout
// first, then the files directly in the directory.
var (
	CityKeys = []string{"GeoLite2/GeoLite2-City.mmdb", "GeoLite2-City.mmdb"}
	ASNKeys  = []string{"GeoLite2/GeoLite2-ASN.mmdb", "GeoLite2-ASN.mmdb"}
)

// Config configures the GeoIP stage. Source is required: without GeoIP the
// stage is left out of the chain.
type Config struct {
	// Source is where the databases are: a local directory or
	// s3://bucket/prefix holding GeoLite2/GeoLite2-City.mmdb and
	// GeoLite2/GeoLite2-ASN.mmdb (es-loader's GEOIP_BUCKET layout) or the two
	// files directly. Either may be missing.
	Source string `json:"source" yaml:"source"`
	// Entities maps a log type to the objects whose "<entity>.ip" is looked up,
	// i.e. the log type's `geoip` setting ("source destination" →
	// ["source", "destination"]). A log type not listed is passed through.
	Entities map[string][]string `json:"entities" yaml:"entities"`
	// ReloadInterval is how often Run polls the source for a newer database.
	// Zero means DefaultReloadInterval.
	ReloadInterval time.Duration `json:"reload_interval" yaml:"reload_interval"`
	// CacheSize bounds the per-database address cache (entries). Zero means
	// DefaultCacheSize; negative disables the cache.
	CacheSize int `json:"cache_size" yaml:"cache_size"`
	// MaxFileSize refuses a database file larger than this many bytes. Zero
	// means DefaultMaxFileSize.
	MaxFileSize int64 `json:"max_file_size" yaml:"max_file_size"`
	// SkipVerify skips the full integrity check of a candidate database.
	// The check reads the whole file once per reload; keep it on.
	SkipVerify bool `json:"skip_verify" yaml:"skip_verify"`
}

// DefaultConfig returns the documented defaults (Source is still to set).
func DefaultConfig() Config {
	return Config{ReloadInterval: DefaultReloadInterval, CacheSize: DefaultCacheSize, MaxFileSize: DefaultMaxFileSize}
}

// Validate checks the fields.
func (c Config) Validate() error {
	var errs []error
	if c.Source == "" {
		errs = append(errs, errors.New("source: required (leave the stage out of the chain instead)"))
	} else if _, err := reload.ParseLocation(c.Source); err != nil {
		errs = append(errs, fmt.Errorf("source: %w", err))
	}
	if c.ReloadInterval < 0 {
		errs = append(errs, errors.New("reload_interval: must not be negative"))
	}
	if c.MaxFileSize < 0 {
		errs = append(errs, errors.New("max_file_size: must not be negative"))
	}
	for lt, ents := range c.Entities {
		for _, e := range ents {
			if e == "" || strings.ContainsAny(e, " \t") {
				errs = append(errs, fmt.Errorf("entities[%s]: bad entity %q", lt, e))
			}
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ReloadInterval == 0 {
		c.ReloadInterval = DefaultReloadInterval
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	return c
}
