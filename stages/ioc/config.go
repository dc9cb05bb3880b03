package ioc

import (
	"errors"
	"fmt"
	"time"

	"github.com/siemstream/siemstream/internal/reload"
)

// Defaults (es-loader's IoC builder reads at most the 5000 newest objects per
// format and skips objects over 100 MB).
const (
	DefaultReloadInterval = 15 * time.Minute
	DefaultMaxFiles       = 5000
	DefaultMaxFileSize    = 100 << 20
)

// Fields are the document fields looked up for one log type.
type Fields struct {
	// IP is the log type's `ioc_ip` (e.g. source.ip destination.ip
	// related.ip); each field may hold a string or a list of strings.
	IP []string `json:"ioc_ip" yaml:"ioc_ip"`
	// Domain is the log type's `ioc_domain` (e.g. dns.question.name).
	Domain []string `json:"ioc_domain" yaml:"ioc_domain"`
}

// Config configures the IoC stage. Source is required: without threat intel
// the stage is left out of the chain.
type Config struct {
	// Source is a local directory or s3://bucket/prefix holding es-loader's
	// layout IOC/TXT/<provider>/* and IOC/STIX2/<provider>/* (or TXT/ and
	// STIX2/ directly).
	Source string `json:"source" yaml:"source"`
	// LogTypes maps a log type to its looked-up fields. A log type not listed
	// is passed through.
	LogTypes map[string]Fields `json:"log_types" yaml:"log_types"`
	// MatchParentDomains also matches the parent domains of a looked-up name
	// (off: exact match, as es-loader).
	MatchParentDomains bool `json:"match_parent_domains" yaml:"match_parent_domains"`
	// DisableBuiltIn leaves out es-loader's two built-in rows (IMDS, TEST).
	// False (the default) keeps them, as es-loader always does.
	DisableBuiltIn bool `json:"disable_built_in" yaml:"disable_built_in"`
	// ReloadInterval is how often Run polls the feeds. Zero means
	// DefaultReloadInterval.
	ReloadInterval time.Duration `json:"reload_interval" yaml:"reload_interval"`
	// MaxFiles reads at most this many newest objects per format. Zero means
	// DefaultMaxFiles.
	MaxFiles int `json:"max_files" yaml:"max_files"`
	// MaxFileSize skips larger objects. Zero means DefaultMaxFileSize.
	MaxFileSize int64 `json:"max_file_size" yaml:"max_file_size"`
}

// DefaultConfig returns the documented defaults (Source is still to set).
func DefaultConfig() Config {
	return Config{ReloadInterval: DefaultReloadInterval, MaxFiles: DefaultMaxFiles, MaxFileSize: DefaultMaxFileSize}
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
	if c.MaxFiles < 0 {
		errs = append(errs, errors.New("max_files: must not be negative"))
	}
	if c.MaxFileSize < 0 {
		errs = append(errs, errors.New("max_file_size: must not be negative"))
	}
	for lt, f := range c.LogTypes {
		for _, p := range append(append([]string{}, f.IP...), f.Domain...) {
			if p == "" {
				errs = append(errs, fmt.Errorf("log_types[%s]: empty field", lt))
			}
		}
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.ReloadInterval == 0 {
		c.ReloadInterval = DefaultReloadInterval
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = DefaultMaxFileSize
	}
	return c
}
