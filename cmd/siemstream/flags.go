package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// flags wraps a FlagSet whose defaults come from environment variables.
type flags struct {
	*flag.FlagSet
	logFormat, logLevel *string
}

func newFlags(name, usageLine string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	f := &flags{FlagSet: fs}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: siemstream %s %s\n\nflags (environment variable in brackets):\n", name, usageLine)
		fs.PrintDefaults()
	}
	f.logFormat = f.str("log-format", "SIEM_LOG_FORMAT", "", "log format: json or console (default: console on a terminal)")
	f.logLevel = f.str("log-level", "SIEM_LOG_LEVEL", "info", "log level: debug, info, warn, error")
	return f
}

func (f *flags) str(name, env, def, help string) *string {
	if v, ok := os.LookupEnv(env); ok && env != "" {
		def = v
	}
	if env != "" {
		help += " [" + env + "]"
	}
	return f.String(name, def, help)
}

func (f *flags) integer(name, env string, def int, help string) *int {
	if v, ok := os.LookupEnv(env); ok && env != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			def = n
		}
	}
	if env != "" {
		help += " [" + env + "]"
	}
	return f.Int(name, def, help)
}

func (f *flags) duration(name, env string, def time.Duration, help string) *time.Duration {
	if v, ok := os.LookupEnv(env); ok && env != "" {
		if d, err := time.ParseDuration(strings.TrimSpace(v)); err == nil {
			def = d
		}
	}
	if env != "" {
		help += " [" + env + "]"
	}
	return f.Duration(name, def, help)
}

func (f *flags) boolean(name, env string, def bool, help string) *bool {
	if v, ok := os.LookupEnv(env); ok && env != "" {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			def = b
		}
	}
	if env != "" {
		help += " [" + env + "]"
	}
	return f.Bool(name, def, help)
}
