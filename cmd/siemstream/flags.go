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

// secretValue is a string flag whose value -h never prints: with the
// environment variable as the default, flag.PrintDefaults would otherwise
// show `(default "<the password>")`.
type secretValue struct{ p *string }

func (s secretValue) String() string { return "" }

func (s secretValue) Set(v string) error { *s.p = v; return nil }

// secret registers a secret string flag (a password): its default comes
// from env and is never shown.
func (f *flags) secret(name, env, help string) *string {
	p := new(string)
	if v, ok := os.LookupEnv(env); ok && env != "" {
		*p = v
	}
	if env != "" {
		help += " [" + env + "]"
	}
	f.Var(secretValue{p}, name, help)
	return p
}

// shownValue is a string flag that -h prints through a redaction (a URL
// whose user info may hold a password).
type shownValue struct {
	p    *string
	show func(string) string
}

func (s shownValue) String() string {
	if s.p == nil {
		return ""
	}
	return s.show(*s.p)
}

func (s shownValue) Set(v string) error { *s.p = v; return nil }

// strRedacted is str, with -h showing the default through show.
func (f *flags) strRedacted(name, env, def, help string, show func(string) string) *string {
	p := new(string)
	*p = def
	if v, ok := os.LookupEnv(env); ok && env != "" {
		*p = v
	}
	if env != "" {
		help += " [" + env + "]"
	}
	f.Var(shownValue{p, show}, name, help)
	return p
}

// autoBool is a boolean flag that can be left unset ("auto"): the program
// decides. `--name` alone means true.
type autoBool struct {
	set, v bool
}

func (a *autoBool) String() string {
	if a == nil || !a.set {
		return "auto"
	}
	return strconv.FormatBool(a.v)
}

func (a *autoBool) Set(s string) error {
	if strings.EqualFold(strings.TrimSpace(s), "auto") {
		a.set = false
		return nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want true, false or auto")
	}
	a.set, a.v = true, b
	return nil
}

func (a *autoBool) IsBoolFlag() bool { return true }

// Value returns nil when unset (auto), else the value.
func (a *autoBool) Value() *bool {
	if !a.set {
		return nil
	}
	v := a.v
	return &v
}

// optBool registers an autoBool flag; an unparseable env value is ignored
// like the other kinds do.
func (f *flags) optBool(name, env, help string) *autoBool {
	a := &autoBool{}
	if v, ok := os.LookupEnv(env); ok && env != "" {
		_ = a.Set(v)
	}
	if env != "" {
		help += " [" + env + "]"
	}
	f.Var(a, name, help)
	return a
}
