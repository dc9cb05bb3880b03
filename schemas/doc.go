// Package schemas is the log-type registry: which S3 objects are which log
// type, how their records are read, and how they map to ECS documents.
//
// Consumes: the built-in type definitions embedded from schemas/types/*.ini
// and, optionally, a user.ini (Options.UserINI). Produces: a *Registry of
// validated *LogType values in detection order, used by the producer
// (Detect, FileFormat, JSONDelimiter, TextHeaderLineNumber, MaxLogCount ...)
// and by the stages (decode, normalize, geoip, ioc). Registry and LogType
// are immutable after Load and safe for concurrent use.
//
// # Files and order
//
// Every built-in type is one INI file in types/, named NNN-<type>.ini. Files
// are read in name order, so NNN is the type's position in detection (the
// first type whose s3_key regular expression is found in the decoded key
// wins, exactly as es-loader tests its aws.ini sections in order).
// 000-defaults.ini holds the [DEFAULT] section every type inherits. The
// numbers follow es-loader's aws.ini order, in steps of 10. The files are
// the list of types: `siemstream logtypes` prints it (the README's
// "Supported log types" table is that output, kept in step by a test in
// cmd/siemstream) and the tests derive every list of type names from the
// files (types_test.go).
//
// Adding a type = adding its file NNN-<type>.ini holding the one section
// [<type>] (and, if it sets script_ecs, a Go transform in
// transform_<type>.go, "-" written "_", registered under the type's name
// with RegisterTransform from an init function; helpers used by several
// transforms are in transform_helpers.go). A section may name another
// transform with the siemstream-only key `transform = <name>`.
// TestNewTypeFileIsEnough checks that a new file needs no other edit.
//
// # Configuration language
//
// The files and user.ini use es-loader's vocabulary and Python configparser
// semantics (see ini.go): "key = value" or "key: value", "#"/";" full-line
// comments, continuation lines indented deeper than the key, ${key} and
// ${section:key} interpolation, $$ for a literal $, case-sensitive keys,
// DEFAULT inherited. A user.ini section with a built-in name overrides that
// type key by key; a new section defines a new type tested after all
// built-in ones, in file order. A section or key repeated within one file is
// an error, as in configparser's strict mode.
//
// Keys (as es-loader; typed and validated at Load): s3_key, s3_key_ignored,
// file_format (json csv text multiline xml winevtxml parquet cef),
// json_delimiter, csv_delimiter, text_header_line_number,
// ignore_header_line_number, log_pattern, multiline_firstline,
// xml_firstline, via_cwl, via_firelens, ignore_container_stderr,
// max_log_count, index_name, index_suffix, index_rotation (auto yearly
// monthly weekly daily aoss), index_time (@timestamp or event_ingested),
// index_tz, doc_id, doc_id_suffix, timestamp_key, timestamp_key_list,
// timestamp_format (iso8601 epoch syslog or a strptime pattern),
// timestamp_format_list (JSON list), timestamp_tz, timestamp_nano,
// file_timestamp_format, ecs_version, cloud_provider, renamed_newfields,
// field_prefix, ecs (+ one key per target), static_ecs (+ one key per
// target), script_ecs, json_to_text, clientip_xff, geoip, ioc_ip,
// ioc_domain, user_agent_enrichment_field; informational: bump_version,
// custom_user_agent, ignore_own_logs, exclude_log_patterns_filename,
// loggroup. Other keys are reported by Registry.Warnings (keys used as ECS
// targets, renamed fields or ${...} references are not unknown).
//
// Regular expressions are Python's: they are compiled as Go RE2 after
// rewriting \d \w \s (and negations) to their Unicode meaning and \Z to \z.
// Constructs RE2 cannot run (look-ahead/behind, backreferences, atomic
// groups) are load errors naming the section and key, with a hint.
//
// Deliberate differences from es-loader: "-HH:MM" time zones mean minus HH
// hours and MM minutes (es-loader computes -HH + MM/60); invalid values are
// rejected at Load rather than when the first object of the type arrives.
package schemas
