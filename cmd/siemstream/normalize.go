package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/siemstream/siemstream/internal/pyjson"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/split"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

func runNormalize(ctx context.Context, args []string) error {
	f := newFlags("normalize", "--key S3_KEY [flags] FILE... (- reads stdin)")
	key := f.str("key", "", "", "S3 key the file would have (decides the log type, account, region)")
	bucket := f.str("bucket", "", "local", "S3 bucket name to record in @log_s3bucket")
	logType := f.str("log-type", "", "", "force a log type instead of detecting it from --key")
	now := f.str("now", "", "", "fix event.ingested to this RFC 3339 time (reproducible output)")
	batchSize := f.integer("batch", "", 2000, "events per batch")
	quiet := f.boolean("quiet", "", false, "do not print documents (for timing)")
	popts := pipelineFlags(f, false)
	limits := addLimitFlags(f)
	if err := f.Parse(args); err != nil {
		return err
	}
	if err := limits().Validate(); err != nil {
		return err
	}
	if *key == "" || f.NArg() == 0 {
		f.Usage()
		return exitError(2)
	}
	log, err := newLogger(*f.logFormat, *f.logLevel)
	if err != nil {
		return err
	}
	reg, err := schemas.Load(schemas.Options{UserINI: *popts.userINI})
	if err != nil {
		return err
	}
	for _, w := range reg.Warnings() {
		log.Warn().Msg(w)
	}
	var lt *schemas.LogType
	if *logType != "" {
		if lt = reg.Lookup(*logType); lt == nil {
			return fmt.Errorf("unknown log type %q", *logType)
		}
	} else {
		var ignored bool
		lt, ignored = reg.Detect(*key)
		if lt == nil {
			return fmt.Errorf("no log type matches key %q (use --log-type to force one)", *key)
		}
		if ignored {
			fmt.Fprintf(os.Stderr, "note: key %q matches s3_key_ignored of %s; the producer would skip it\n", *key, lt.Name)
		}
	}
	format, err := producer.FormatFor(lt)
	if err != nil {
		return err
	}
	var clock func() time.Time // nil: time.Now
	if *now != "" {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		clock = func() time.Time { return t }
	}
	asm, err := popts.assemble(ctx, reg, log, clock)
	if err != nil {
		return err
	}
	defer asm.Close()
	chain, err := asm.Stages()
	if err != nil {
		return err
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	n := &normalizer{chain: chain, out: out, quiet: *quiet, batch: *batchSize,
		open: limits().OpenOptions(lt.FileFormat, *key), split: limits().SplitOptions(split.DefaultMaxRecordBytes)}
	for _, name := range f.Args() {
		if err := n.file(ctx, name, stages.Source{LogType: lt.Name, Bucket: *bucket, Key: *key}, format); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			n.failed++
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "normalize: %d documents, %d excluded, %d failed\n", n.docs, n.dropped, n.failed)
	if n.failed > 0 {
		return exitError(1)
	}
	return nil
}

type normalizer struct {
	chain         stages.Chain
	out           *bufio.Writer
	quiet         bool
	batch         int
	docs, dropped int64
	failed        int64
	b             stages.Batch
	arena         []byte
	line          []byte
	ords          []int64
	offs          []int
	srcName       string
	src           *stages.Source
	open          split.OpenOptions // hostile-input limits
	split         split.Options
}

func (n *normalizer) file(ctx context.Context, name string, src stages.Source, format split.Format) error {
	var r io.Reader = os.Stdin
	if name != "-" {
		fh, err := os.Open(name)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	body, _, err := split.OpenContext(ctx, r, n.open)
	if err != nil {
		return err
	}
	defer body.Close()
	sp, err := split.New(body, format, n.split)
	if err != nil {
		return err
	}
	n.srcName = name
	n.src = &src
	n.arena, n.ords, n.offs = n.arena[:0], n.ords[:0], n.offs[:0]
	for {
		rec, ord, err := sp.Next()
		if err == io.EOF {
			break
		}
		var re *split.RecordError
		if errors.As(err, &re) {
			fmt.Fprintf(os.Stderr, "%s:%d: %v\n", name, re.Ordinal, re.Err)
			n.failed++
			continue
		}
		if err != nil {
			n.flush(ctx)
			return fmt.Errorf("after record %d: %w", sp.Ordinal(), err)
		}
		if n.src.Context == nil && sp.Context() != nil {
			n.src.Context = append([]byte(nil), sp.Context()...)
		}
		// The splitter reuses its buffer: keep records in an arena.
		n.offs = append(n.offs, len(n.arena))
		n.arena = append(n.arena, rec...)
		n.ords = append(n.ords, ord)
		if len(n.ords) >= n.batch {
			if err := n.flush(ctx); err != nil {
				return err
			}
		}
	}
	return n.flush(ctx)
}

func (n *normalizer) flush(ctx context.Context) error {
	if len(n.ords) == 0 {
		return nil
	}
	n.b.Reset()
	for i, ord := range n.ords {
		end := len(n.arena)
		if i+1 < len(n.offs) {
			end = n.offs[i+1]
		}
		n.b.Events = append(n.b.Events, stages.Event{Src: n.src, Ordinal: ord, Raw: n.arena[n.offs[i]:end]})
	}
	n.arena, n.ords, n.offs = n.arena[:0], n.ords[:0], n.offs[:0]
	if err := n.chain.Process(ctx, &n.b); err != nil {
		return err
	}
	for i := range n.b.Events {
		e := &n.b.Events[i]
		switch e.Status {
		case stages.Keep:
			n.docs++
			if n.quiet {
				continue
			}
			n.line = appendDocLine(n.line[:0], e.Index, e.ID, e.Out)
			n.out.Write(n.line)
		case stages.Dropped:
			n.dropped++
		case stages.Failed:
			n.failed++
			fmt.Fprintf(os.Stderr, "%s:%d: %v\n", n.srcName, e.Ordinal, e.Err)
		}
	}
	return nil
}

// appendDocLine appends one output line {"_index","_id","_source"}. The
// names are quoted as JSON, exactly as the bulk sink quotes them (Go's
// strconv quoting writes \x00 for a NUL, which is not JSON).
func appendDocLine(dst []byte, index, id string, source []byte) []byte {
	dst = append(dst, `{"_index":`...)
	dst = pyjson.AppendQuotedString(dst, index)
	dst = append(dst, `,"_id":`...)
	dst = pyjson.AppendQuotedString(dst, id)
	dst = append(dst, `,"_source":`...)
	dst = append(dst, source...)
	return append(dst, "}\n"...)
}
