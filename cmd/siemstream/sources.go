package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/awsconf"
	"github.com/siemstream/siemstream/internal/s3access"
)

// sourcesHelp is the --sources flag's help, shared by producer, backfill and
// redrive.
const sourcesHelp = "per-bucket read roles (Control Tower, Security Lake, other accounts): a JSON file, or inline JSON; " +
	"es-loader's CONTROL_TOWER_* and SECURITY_LAKE_* variables are read after it [SIEM_SOURCES]"

// sourcesFlag registers --sources. SIEM_SOURCES is read by s3Router, not
// shown as the flag's default: inline JSON may hold an external ID, and
// secrets never appear in -h output.
func sourcesFlag(f *flags) *string { return f.String("sources", "", sourcesHelp) }

// s3Router builds the S3 client every command reads objects with: each call
// goes to its bucket's client (the process's credentials, or an assumed
// role's, see internal/s3access).
func s3Router(awsCfg aws.Config, setting string, log zerolog.Logger) (*s3access.Router, error) {
	if setting == "" {
		setting = os.Getenv("SIEM_SOURCES")
	}
	cfg, err := s3access.Load(setting)
	if err != nil {
		return nil, err
	}
	cfg.AddEnv(os.Getenv)
	return s3access.New(cfg, awsCfg, log, awsconf.S3Options)
}
