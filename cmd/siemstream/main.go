// Command siemstream loads AWS security logs from S3 through Kinesis into
// OpenSearch, normalized to ECS. One binary, one subcommand per role:
//
//	siemstream producer   SQS notifications → S3 objects → Kinesis
//	siemstream consumer   Kinesis (KCL lease table) → stages → OpenSearch
//	siemstream normalize  dry run of the consumer's stages on local files
//	siemstream deadletters list|redrive  what could not be loaded: list it, load it again
//
// Every flag can also be set through the environment variable named in its
// help text, so `. .local/env && siemstream consumer` works on the local
// stack.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/metrics"
)

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"producer", "long-poll SQS for S3 notifications and write the objects' records to Kinesis", runProducer},
		{"consumer", "read Kinesis as a KCL worker and load documents into OpenSearch", runConsumer},
		{"replay", "re-read a time range of the stream into OpenSearch with its own lease table", runReplay},
		{"normalize", "run the consumer's stages on local files and print the documents (dry run)", runNormalize},
		{"backfill", "load existing S3 objects (a prefix or an `aws s3 ls` list) through the producer path, resumably", runBackfill},
		{"redrive", "drain a dead-letter queue: load the objects of its notifications, or move them back", runRedrive},
		{"deadletters", "list the quarantined records (S3 and the dead-letter index) with their exact bytes, or re-drive them through the stream", runDeadletters},
		{"templates", "install (or show) the OpenSearch index templates, ISM policy and rollover aliases of every log type", runTemplates},
		{"logtypes", "print the supported log types (and, with --keys, user.ini keys) as Markdown tables", runLogtypes},
		{"healthcheck", "exit 0 if this container's /healthz answers 200 (ECS health check; the image has no shell)", runHealthcheck},
		{"metrics", "print the Prometheus metrics the commands export (--metrics-addr) as a Markdown table", func(context.Context, []string) error { return metrics.WriteTable(os.Stdout) }},
		{"version", "print the version, commit and build date", func(context.Context, []string) error { printVersion(); return nil }},
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "usage: siemstream <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'siemstream <command> -h' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name := os.Args[1]
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := c.run(ctx, os.Args[2:])
		stop()
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				os.Exit(0)
			}
			var ee exitError
			if errors.As(err, &ee) {
				os.Exit(int(ee))
			}
			fmt.Fprintf(os.Stderr, "siemstream %s: %v\n", name, err)
			os.Exit(1)
		}
		return
	}
	if name == "--version" || name == "-version" || name == "-v" {
		printVersion()
		return
	}
	if name == "-h" || name == "--help" || name == "help" {
		usage()
		return
	}
	fmt.Fprintf(os.Stderr, "siemstream: unknown command %q\n\n", name)
	usage()
	os.Exit(2)
}

// exitError ends the process with a status without printing more.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// newLogger logs JSON lines to stderr, or readable lines with --log-format
// console (the default on a terminal).
func newLogger(format, level string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Logger{}, fmt.Errorf("log level %q: %w", level, err)
	}
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "console"
		}
	}
	var l zerolog.Logger
	switch format {
	case "json":
		l = zerolog.New(os.Stderr)
	case "console":
		l = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.TimeOnly})
	default:
		return zerolog.Logger{}, fmt.Errorf("log format %q: want json or console", format)
	}
	return l.Level(lvl).With().Timestamp().Logger(), nil
}
