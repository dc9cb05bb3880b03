package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/siemstream/siemstream/schemas"
)

// runLogtypes prints, as Markdown, the table of supported log types (in
// detection order) and, with --keys, the user.ini keys. The README's tables
// are this output.
func runLogtypes(_ context.Context, args []string) error {
	f := newFlags("logtypes", "[--keys] [--user-ini FILE]")
	keys := f.boolean("keys", "", false, "also print the supported user.ini keys")
	userINI := f.str("user-ini", "SIEM_USER_INI", "", "user.ini whose sections override or add log types")
	if err := f.Parse(args); err != nil {
		return err
	}
	reg, err := schemas.Load(schemas.Options{UserINI: *userINI})
	if err != nil {
		return err
	}
	writeLogtypes(os.Stdout, reg)
	if *keys {
		fmt.Fprintln(os.Stdout)
		writeUserINIKeys(os.Stdout)
	}
	return nil
}

// mdCell escapes a value for a Markdown table cell (in a code span when
// code is set).
func mdCell(s string, code bool) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return "–"
	}
	if code {
		return "`" + s + "`"
	}
	return s
}

func writeLogtypes(w io.Writer, reg *schemas.Registry) {
	fmt.Fprintln(w, "| # | type | S3 key pattern (searched) | format | index | rotation |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for i, lt := range reg.Types() {
		format := string(lt.FileFormat)
		var via []string
		if lt.ViaCWL {
			via = append(via, "via CloudWatch Logs")
		}
		if lt.ViaFirelens {
			via = append(via, "via FireLens")
		}
		if lt.JSONDelimiter != "" {
			via = append(via, "records in `"+lt.JSONDelimiter+"`")
		}
		if len(via) > 0 {
			format += " (" + strings.Join(via, ", ") + ")"
		}
		index := mdCell(lt.IndexName, true)
		if lt.Raw("script_ecs") != "" && lt.Name == "linux-os-syslog" {
			index += " (auth programs: `log-linux-secure`)"
		}
		// the real s3_key text; "$$" in the INI is one "$"
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", i+1, lt.Name,
			mdCell(lt.Raw("s3_key"), true), format, index, lt.IndexRotation)
	}
}

// userINIKey documents one user.ini key; def is its [DEFAULT] value
// (checked against schemas/types/000-defaults.ini by a test).
type userINIKey struct {
	name, def, meaning string
}

var userINIKeys = []userINIKey{
	{"s3_key", "", "regular expression searched in the object key; the first type (in order) that matches wins"},
	{"s3_key_ignored", "", "regular expression: matching objects of this type are skipped (a leading negative look-ahead `^(?!A)B`, as in es-loader's docs, is supported)"},
	{"s3_key_included", "", "siemstream only: regular expression: objects of this type whose key does not match are skipped (RE2-friendly \"load only these\")"},
	{"file_format", "", "json, csv, text, multiline, xml, winevtxml, parquet or cef"},
	{"via_cwl", "False", "objects are CloudWatch Logs subscription payloads (Firehose); each log event is one record"},
	{"via_firelens", "False", "records are FireLens (Fluent Bit) JSON envelopes around the log line"},
	{"ignore_container_stderr", "True", "FireLens: drop records from stderr"},
	{"json_delimiter", "", "JSON: records are the elements of this array field"},
	{"csv_delimiter", "", "CSV: field separator (empty: white space)"},
	{"text_header_line_number", "0", "text/csv: header lines at the start of the object"},
	{"ignore_header_line_number", "", "text/csv: lines to skip before the header"},
	{"log_pattern", "", "text/multiline: regular expression with named groups (the field names)"},
	{"multiline_firstline", "", "multiline: regular expression matching the first line of a record"},
	{"xml_firstline", "", "xml: regular expression matching the first line of a record"},
	{"max_log_count", "100000", "records per object above which the object is split"},
	{"index_name", "", "index (alias) name"},
	{"index_suffix", "", "text appended to the index name"},
	{"index_rotation", "monthly", "auto, yearly, monthly, weekly, daily or aoss"},
	{"index_time", "@timestamp", "@timestamp or event_ingested: which time dates the index"},
	{"index_tz", "+00:00", "time zone of the index date"},
	{"doc_id", "", "field used as _id (default: MD5 of the record)"},
	{"doc_id_suffix", "", "field whose value is appended to the _id"},
	{"timestamp_key", "", "field holding the event time"},
	{"timestamp_key_list", "", "fields tried in order for the event time"},
	{"timestamp_format", "iso8601", "iso8601, epoch, syslog or a strptime pattern"},
	{"timestamp_format_list", "", "JSON list of formats tried in order"},
	{"timestamp_tz", "+00:00", "time zone of times without one"},
	{"timestamp_nano", "False", "keep nanosecond digits in @timestamp"},
	{"file_timestamp_format", "", "regular expression (year month day hour minute second groups) taking the time from the key"},
	{"ecs_version", "1.10.0", "ECS version recorded in ecs.version"},
	{"cloud_provider", "aws", "cloud.provider"},
	{"renamed_newfields", "", "fields renamed: one key per new name, its value the original name"},
	{"field_prefix", "", "original fields are moved under this object"},
	{"ecs", "", "ECS fields mapped; one key per field lists the source field(s): first non-empty, or [a, b] to collect all"},
	{"static_ecs", "", "ECS fields with a constant value; one key per field holds it"},
	{"script_ecs", "", "fields set by the type's Go transform (its presence enables the transform)"},
	{"transform", "", "siemstream: name of the Go transform to run (default: the section name)"},
	{"json_to_text", "", "fields whose value is indexed as JSON text"},
	{"clientip_xff", "", "client address field and X-Forwarded-For field: the first XFF address becomes the client"},
	{"geoip", "", "ECS objects (source destination ...) enriched with GeoIP"},
	{"ioc_ip", "", "fields checked against the IP threat intelligence"},
	{"ioc_domain", "", "fields checked against the domain threat intelligence"},
	{"user_agent_enrichment_field", "", "ECS object that receives the parsed user agent"},
	{"loggroup", "dummy", "informational (es-loader metrics)"},
	{"bump_version", "2.10.4", "informational"},
	{"custom_user_agent", "siem-es-loader", "informational"},
	{"ignore_own_logs", "True", "informational"},
	{"exclude_log_patterns_filename", "exclude_log_patterns.csv", "informational (exclusions come from --exclude-csv)"},
}

func writeUserINIKeys(w io.Writer) {
	fmt.Fprintln(w, "| key | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, k := range userINIKeys {
		fmt.Fprintf(w, "| `%s` | %s | %s |\n", k.name, mdCell(k.def, true), mdCell(k.meaning, false))
	}
}
