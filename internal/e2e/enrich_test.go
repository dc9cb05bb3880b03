package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/siemstream/siemstream/internal/awsconf"
)

// writeMMDB writes a one-network City or ASN database.
func writeMMDB(t *testing.T, path, dbType, cidr string, rec mmdbtype.Map) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, Description: map[string]string{"en": "siemstream test " + dbType}, IncludeReservedNetworks: true, RecordSize: 28})
	if err != nil {
		t.Fatal(err)
	}
	_, n, _ := net.ParseCIDR(cidr)
	if err := w.Insert(n, rec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
}

// TestEnrichAndExclude runs the consumer with an exclusion CSV, SSM
// conditions (EXCLUDE and COUNT), a GeoIP database and an IoC feed, and
// checks the counts and the enriched fields in OpenSearch exactly, against
// expectations computed from the raw lines (not from our own code).
func TestEnrichAndExclude(t *testing.T) {
	ctx, s, bin, r := pipelineFor(t, "enrich", 2, 4*time.Minute)
	name := r.App
	dir := t.TempDir()
	t0 := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	obj := genObject(t, dir, "vpcflowlogs", 3000, 21, t0)

	// Exclusion CSV: drop flows to port 53 (raw field, before ECS).
	csvPath := filepath.Join(dir, "exclude_log_patterns.csv")
	os.WriteFile(csvPath, []byte("log_type,field,pattern,pattern_type,comment\nvpcflowlogs,dstport,53,text,DNS noise\n"), 0o644)
	// SSM conditions under a prefix of this test only (moto's SSM is shared).
	prefix := "/siem/" + name + "/"
	cfg, err := awsconf.Load(ctx, os.Getenv("AWS_REGION"))
	if err != nil {
		t.Fatal(err)
	}
	sc := ssm.NewFromConfig(cfg)
	for pname, val := range map[string]string{
		"vpcflowlogs/drop-reject": `{"action":"EXCLUDE","expression":"event.action == 'REJECT'"}`,
		"vpcflowlogs/count-ssh":   `{"action":"COUNT","expression":"destination.port == '22'"}`,
		"vpcflowlogs/disabled":    `{"action":"DISABLE","expression":"source.port == '443'"}`,
		"vpcflowlogs/broken":      `{"action":"EXCLUDE","expression":"source.ip ==== "}`,
	} {
		if _, err := sc.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(prefix + pname), Value: aws.String(val), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	// GeoIP: 198.51.100.0/24 is in Testville, NZ, AS64500. IoC: a TXT feed
	// listing 93.184.216.34.
	geoDir := filepath.Join(dir, "geo")
	os.MkdirAll(filepath.Join(geoDir, "GeoLite2"), 0o755)
	writeMMDB(t, filepath.Join(geoDir, "GeoLite2", "GeoLite2-City.mmdb"), "GeoLite2-City", "198.51.100.0/24", mmdbtype.Map{
		"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("Testville")}},
		"country":  mmdbtype.Map{"iso_code": mmdbtype.String("NZ"), "names": mmdbtype.Map{"en": mmdbtype.String("New Zealand")}},
		"location": mmdbtype.Map{"latitude": mmdbtype.Float64(-41.5), "longitude": mmdbtype.Float64(174.25)},
	})
	writeMMDB(t, filepath.Join(geoDir, "GeoLite2", "GeoLite2-ASN.mmdb"), "GeoLite2-ASN", "198.51.100.0/24", mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(64500),
		"autonomous_system_organization": mmdbtype.String("Example AS"),
	})
	os.MkdirAll(filepath.Join(geoDir, "IOC", "TXT", "acme"), 0o755)
	os.WriteFile(filepath.Join(geoDir, "IOC", "TXT", "acme", "bad-ips.txt"), []byte("# acme feed\n93.184.216.34\n"), 0o644)

	// Expectations from the raw lines.
	zr, _ := gzip.NewReader(bytes.NewReader(obj.body))
	sc2 := bufio.NewScanner(zr)
	sc2.Scan() // header
	var total, byCSV, bySSM, kept, ssh, geo, ioc int
	for sc2.Scan() {
		f := strings.Fields(sc2.Text())
		total++
		src, dst, dport, action := f[3], f[4], f[6], f[12]
		switch {
		case dport == "53":
			byCSV++
		case action == "REJECT":
			bySSM++
		default:
			kept++
			if dport == "22" {
				ssh++
			}
			if src == "198.51.100.23" || dst == "198.51.100.23" {
				geo++
			}
			if src == "93.184.216.34" || dst == "93.184.216.34" {
				ioc++
			}
		}
	}
	if byCSV == 0 || bySSM == 0 || geo == 0 || ioc == 0 || ssh == 0 {
		t.Fatalf("generated data does not exercise every rule: csv=%d ssm=%d geo=%d ioc=%d ssh=%d", byCSV, bySSM, geo, ioc, ssh)
	}

	logDir := t.TempDir()
	env := append(r.Env(), "SIEM_SHARD_SYNC_MS=500", "SIEM_IDLE_TIME_MS=200",
		"SIEM_EXCLUDE_CSV="+csvPath, "SIEM_EXCLUDE_SSM_PREFIX="+prefix, "SIEM_GEOIP="+geoDir, "SIEM_IOC="+geoDir)
	cons := startFor(t, bin, "consumer", logDir, env)
	startFor(t, bin, "producer", logDir, env)
	if err := s.Upload(ctx, r.Bucket, obj.key, obj.body); err != nil {
		t.Fatal(err)
	}
	// Wait for every event to be accounted for: delivered or excluded.
	var got int64
	err = WaitFor(ctx, 3*time.Minute, func() (bool, error) {
		if err := exited(cons); err != nil {
			return false, err
		}
		n, err := s.Count(ctx, "log-aws-vpcflowlogs-*", BucketQuery(r.Bucket))
		got = n
		return err == nil && n >= int64(kept) && strings.Contains(cons.Output(), `"excluded":`+itoa(byCSV+bySSM)), nil
	})
	if err != nil {
		t.Fatalf("indexed %d, want %d (excluded csv %d + ssm %d of %d): %v", got, kept, byCSV, bySSM, total, err)
	}
	if got != int64(kept) {
		t.Fatalf("indexed %d, want exactly %d", got, kept)
	}
	count := func(q map[string]any) int64 {
		n, err := s.Count(ctx, "log-aws-vpcflowlogs-*", map[string]any{"bool": map[string]any{"filter": []any{BucketQuery(r.Bucket), q}}})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(map[string]any{"term": map[string]any{"destination.port": 53}}); n != 0 {
		t.Errorf("%d port-53 flows indexed; the CSV excludes them", n)
	}
	if n := count(map[string]any{"term": map[string]any{"event.action": "REJECT"}}); n != 0 {
		t.Errorf("%d REJECT flows indexed; the SSM condition excludes them", n)
	}
	if n := count(map[string]any{"term": map[string]any{"destination.port": 22}}); n != int64(ssh) {
		t.Errorf("COUNT condition must keep the %d SSH flows, found %d", ssh, n)
	}
	geoQ := map[string]any{"bool": map[string]any{"should": []any{
		map[string]any{"match_phrase": map[string]any{"source.geo.city_name": "Testville"}},
		map[string]any{"match_phrase": map[string]any{"destination.geo.city_name": "Testville"}},
	}, "minimum_should_match": 1}}
	if n := count(geoQ); n != int64(geo) {
		t.Errorf("GeoIP-enriched docs %d, want %d", n, geo)
	}
	if n := count(map[string]any{"term": map[string]any{"threat.matched.providers": "acme"}}); n != int64(ioc) {
		t.Errorf("IoC-matched docs %d, want %d", n, ioc)
	}
	// One enriched document in full.
	b, err := s.Search(ctx, "log-aws-vpcflowlogs-*", map[string]any{"size": 1, "query": map[string]any{"bool": map[string]any{"filter": []any{BucketQuery(r.Bucket), map[string]any{"term": map[string]any{"source.ip": "198.51.100.23"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Hits struct {
			Hits []struct {
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	json.Unmarshal(b, &resp)
	if len(resp.Hits.Hits) == 1 {
		src := resp.Hits.Hits[0].Source["source"].(map[string]any)
		g, _ := json.Marshal(src["geo"])
		a, _ := json.Marshal(src["as"])
		if string(g) != `{"city_name":"Testville","country_iso_code":"NZ","country_name":"New Zealand","location":{"lat":-41.5,"lon":174.25}}` {
			t.Errorf("source.geo = %s", g)
		}
		if string(a) != `{"number":64500,"organization":{"name":"Example AS"}}` {
			t.Errorf("source.as = %s", a)
		}
	}
	// The broken expression is reported with its parameter name, and ignored.
	if !strings.Contains(cons.Output(), "vpcflowlogs/broken") {
		t.Errorf("the bad JMESPath expression is not reported by name")
	}
	t.Logf("ENRICH: %d events: %d excluded by CSV, %d by SSM, %d indexed (%d SSH counted, %d GeoIP, %d IoC)", total, byCSV, bySSM, kept, ssh, geo, ioc)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// exited returns an error if p has already stopped, so a test fails at once
// instead of waiting for its timeout.
func exited(p *Proc) error {
	select {
	case <-p.Done():
		return fmt.Errorf("%s exited early:\n%s", p.Name, tail(p.Output(), 3000))
	default:
		return nil
	}
}
