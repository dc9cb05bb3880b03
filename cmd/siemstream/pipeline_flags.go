package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/reload/s3src"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
	"github.com/siemstream/siemstream/stages/chain"
	"github.com/siemstream/siemstream/stages/exclude"
	"github.com/siemstream/siemstream/stages/exclude/ssmparam"
)

// pipelineFlagValues are the stage options shared by consumer and normalize.
type pipelineFlagValues struct {
	userINI, geoip, ioc, excludeCSV, ssmPrefix, ssmJSON *string
	ownLogs                                             *bool
	reload                                              *time.Duration
}

// pipelineFlags registers them; service=true for long-running commands
// (SSM conditions on by default), false for the offline dry run.
func pipelineFlags(f *flags, service bool) *pipelineFlagValues {
	ssmDefault := ""
	if service {
		ssmDefault = exclude.DefaultSSMPrefix
	}
	return &pipelineFlagValues{
		userINI:    f.str("user-ini", "SIEM_USER_INI", "", "es-loader user.ini to honour (overrides built-in log types key by key)"),
		geoip:      f.str("geoip", "SIEM_GEOIP", "", "GeoIP databases: directory or s3://bucket/prefix with GeoLite2/GeoLite2-{City,ASN}.mmdb"),
		ioc:        f.str("ioc", "SIEM_IOC", "", "threat-intel feeds: directory or s3://bucket/prefix with IOC/TXT/<provider>/, IOC/STIX2/<provider>/"),
		excludeCSV: f.str("exclude-csv", "SIEM_EXCLUDE_CSV", "", "exclude_log_patterns.csv: path or s3://bucket/key"),
		ssmPrefix:  f.str("exclude-ssm-prefix", "SIEM_EXCLUDE_SSM_PREFIX", ssmDefault, "SSM Parameter Store path of exclusion conditions (empty = off)"),
		ssmJSON:    f.str("exclude-ssm-json", "SIEM_EXCLUDE_SSM_JSON", "", "exclusion conditions from a JSON file {\"/siem/exclude-logs/<type>/<name>\": {...}} instead of SSM"),
		ownLogs:    f.boolean("own-log-exclusion", "SIEM_OWN_LOG_EXCLUSION", true, "drop the loader's own CloudTrail/S3 access records (es-loader ignore_own_logs)"),
		reload:     f.duration("reload-interval", "SIEM_RELOAD_INTERVAL", 0, "how often GeoIP/IoC/exclusion sources are checked for a new version (0 = default 1m)"),
	}
}

// assemble builds the stage chain the flags describe, building AWS clients
// only when a source needs them. now is the clock for event.ingested (nil =
// time.Now).
func (v *pipelineFlagValues) assemble(ctx context.Context, reg *schemas.Registry, log zerolog.Logger, now func() time.Time) (*chain.Assembly, error) {
	cfg := chain.Config{
		GeoIP: *v.geoip, IOC: *v.ioc, ExcludeCSV: *v.excludeCSV, OwnLogExclusion: *v.ownLogs,
		ReloadInterval: *v.reload, Now: now,
	}
	deps := chain.Deps{Deps: stages.Deps{Registry: reg, Logger: slogTo(log)}}
	needS3 := strings.HasPrefix(cfg.GeoIP, "s3://") || strings.HasPrefix(cfg.IOC, "s3://") || strings.HasPrefix(cfg.ExcludeCSV, "s3://")
	if needS3 || (*v.ssmPrefix != "" && *v.ssmJSON == "") {
		awsCfg, err := awsconf.Load(ctx, os.Getenv("AWS_REGION"))
		if err != nil {
			return nil, err
		}
		if needS3 {
			deps.S3 = s3src.Opener(s3.NewFromConfig(awsCfg, awsconf.S3Options))
		}
		if *v.ssmPrefix != "" && *v.ssmJSON == "" {
			deps.Conditions = ssmparam.New(ssm.NewFromConfig(awsCfg), *v.ssmPrefix)
		}
	}
	if *v.ssmJSON != "" {
		b, err := os.ReadFile(*v.ssmJSON)
		if err != nil {
			return nil, fmt.Errorf("--exclude-ssm-json: %w", err)
		}
		params, err := exclude.ParamsFromJSON(b)
		if err != nil {
			return nil, fmt.Errorf("--exclude-ssm-json %s: %w", *v.ssmJSON, err)
		}
		deps.Conditions = params
	}
	return chain.New(ctx, cfg, deps)
}
