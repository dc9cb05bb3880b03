// Command demo runs the main job end to end on the local stack: it starts a
// producer and a consumer, uploads the sample logs under testdata/demo with
// their AWS-style keys, waits until every event is searchable, and prints
// per index the expected and actual counts and one sample document. It exits
// non-zero if a count differs. Run it with `go tool task demo`.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/siemstream/siemstream/internal/e2e"
)

func main() {
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	keep := flag.Bool("keep-running", false, "leave producer and consumer running after the check")
	flag.Parse()
	if err := run(*timeout, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type sample struct {
	key, file string
	docs      int
	index     map[string]int
}

func run(timeout time.Duration, keep bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	root, err := e2e.RepoRoot()
	if err != nil {
		return err
	}
	ok, err := e2e.LoadEnv(root)
	if err != nil {
		return err
	}
	if !ok {
		return errors.New(".local/env missing: run `go tool task up` first (`go tool task demo` does)")
	}
	s, err := e2e.Connect(ctx)
	if err != nil {
		return err
	}
	binDir := filepath.Join(root, ".local", "bin")
	os.MkdirAll(binDir, 0o755)
	fmt.Println("• building siemstream")
	bin, err := e2e.Build(ctx, root, binDir)
	if err != nil {
		return err
	}
	bucket := os.Getenv("SIEM_LOG_BUCKET")

	// What the pipeline must produce: the dry run over the same files.
	var samples []sample
	demoDir := filepath.Join(root, "testdata", "demo")
	err = filepath.WalkDir(demoDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		rel, _ := filepath.Rel(demoDir, p)
		smp := sample{key: filepath.ToSlash(rel), file: p, index: map[string]int{}}
		out, err := exec.CommandContext(ctx, bin, "normalize", "--quiet=false", "--bucket", bucket, "--key", smp.key, "--log-format", "json", p).Output()
		if err != nil {
			return fmt.Errorf("normalize %s: %w", rel, err)
		}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var d struct {
				Index string `json:"_index"`
			}
			if len(line) > 0 && json.Unmarshal(line, &d) == nil {
				smp.index[d.Index]++
				smp.docs++
			}
		}
		samples = append(samples, smp)
		return nil
	})
	if err != nil {
		return err
	}
	expected := map[string]int{}
	var keys []any
	for _, smp := range samples {
		for ix, n := range smp.index {
			expected[ix] += n
		}
		keys = append(keys, map[string]any{"match_phrase": map[string]any{"@log_s3key": smp.key}})
	}
	query := map[string]any{"bool": map[string]any{"filter": []any{e2e.BucketQuery(bucket)}, "should": keys, "minimum_should_match": 1}}

	logDir := filepath.Join(root, ".local", "logs")
	env := append(os.Environ(), "SIEM_LOG_FORMAT=json", "SIEM_SHARD_SYNC_MS=500", "SIEM_WAIT_TIME=2s")
	fmt.Printf("• starting consumer and producer (logs: %s/demo-*.log)\n", logDir)
	cons, err := e2e.Start(bin, "demo-consumer", logDir, env, "consumer")
	if err != nil {
		return err
	}
	prod, err := e2e.Start(bin, "demo-producer", logDir, env, "producer")
	if err != nil {
		return err
	}
	if !keep {
		defer func() {
			prod.Stop(30 * time.Second)
			cons.Stop(60 * time.Second)
		}()
	}
	start := time.Now()
	fmt.Printf("• uploading %d sample objects to s3://%s\n", len(samples), bucket)
	for _, smp := range samples {
		body, err := os.ReadFile(smp.file)
		if err != nil {
			return err
		}
		if err := s.Upload(ctx, bucket, smp.key, body); err != nil {
			return err
		}
		fmt.Printf("    %s (%d events)\n", smp.key, smp.docs)
	}
	total := 0
	for _, n := range expected {
		total += n
	}
	fmt.Printf("• waiting until all %d events are searchable\n", total)
	actual := map[string]int{}
	lastPrint := time.Time{}
	err = e2e.WaitFor(ctx, timeout, func() (bool, error) {
		sum := 0
		for ix := range expected {
			n, err := s.Count(ctx, ix, query)
			if err != nil {
				return false, nil
			}
			actual[ix] = int(n)
			sum += int(n)
		}
		if time.Since(lastPrint) > 3*time.Second {
			fmt.Printf("    %d/%d searchable after %s\n", sum, total, time.Since(start).Round(time.Second))
			lastPrint = time.Now()
		}
		done := true
		for ix, n := range expected {
			done = done && actual[ix] >= n
		}
		return done, nil
	})
	elapsed := time.Since(start)
	fmt.Println()
	fmt.Printf("%-34s %10s %10s\n", "index", "expected", "actual")
	var names []string
	for ix := range expected {
		names = append(names, ix)
	}
	sort.Strings(names)
	mismatch := false
	for _, ix := range names {
		mark := "ok"
		if actual[ix] != expected[ix] {
			mark, mismatch = "MISMATCH", true
		}
		fmt.Printf("%-34s %10d %10d  %s\n", ix, expected[ix], actual[ix], mark)
	}
	fmt.Printf("\n%d events searchable %s after the first upload\n", total, elapsed.Round(time.Millisecond))
	for _, ix := range names {
		b, err := s.Search(ctx, ix, map[string]any{"size": 1, "query": query})
		if err != nil {
			continue
		}
		var r struct {
			Hits struct {
				Hits []struct {
					ID     string          `json:"_id"`
					Source json.RawMessage `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		if json.Unmarshal(b, &r) == nil && len(r.Hits.Hits) > 0 {
			var pretty bytes.Buffer
			json.Indent(&pretty, r.Hits.Hits[0].Source, "  ", "  ")
			fmt.Printf("\nsample document from %s (_id %s):\n  %s\n", ix, r.Hits.Hits[0].ID, pretty.String())
		}
	}
	if err != nil {
		return fmt.Errorf("not every event became searchable: %w", err)
	}
	if mismatch {
		return errors.New("counts differ")
	}
	fmt.Println("\ndemo: every sample event is searchable; counts match")
	return nil
}
