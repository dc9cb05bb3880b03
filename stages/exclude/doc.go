// Package exclude implements es-loader's record exclusion, as two stages.
//
// Stage (New) runs after decode and before normalize, on the raw parsed
// record in Event.Doc:
//   - exclude_log_patterns.csv (Config.CSV, a local file or s3://bucket/key):
//     header log_type,field,pattern,pattern_type,comment; field is a dotted
//     path; pattern_type "text" is a literal, anything else a regular
//     expression; the value's Python str() (True, None, 1000.0, ...) must
//     match as es-loader's re.match(pattern + '$') does — anchored at the
//     start, '$' binding to the last alternative ("80|443" is "starts with 80,
//     or is 443") and allowing one trailing newline — translated to RE2. A
//     bad row (empty field or pattern, empty path segment, a regex RE2 cannot
//     compile, an unknown log type when Config.KnownLogTypes is set, missing
//     columns) is reported with its line number and ignored; a file without
//     the header columns is refused and the rules in use stay. A missing file
//     means no CSV rules.
//   - es-loader's built-in own-log patterns (Config.OwnLogs, on in
//     DefaultConfig as ignore_own_logs is in aws.ini) for cloudtrail,
//     s3accesslog and securitylake.
//
// Conditions (NewConditions) runs on the final document, after normalize,
// geoip and ioc and before encode: Parameter Store parameters
// /siem/exclude-logs/<log_type>/<name> holding {"action": "EXCLUDE" | "COUNT"
// | "DISABLE", "expression": JMESPath}. They are evaluated in name order with
// Python truthiness (0, "", [], {} and null are false); the first EXCLUDE
// match drops the event, a COUNT match keeps it, counts it and logs it (a few
// per log type per minute, es-loader's message), DISABLE is skipped. A bad
// parameter is reported with its name and ignored; an expression that fails
// on a document is logged and skipped. Documents are converted for JMESPath
// only for log types that have conditions. The SSM loader is package
// ssmparam; the conditions are re-read every ReloadInterval.
//
// Dropped events get Status stages.Dropped and an Err wrapping ErrExcluded;
// Stats reports ExcludedLogCount and CountedLogCount per log type. A stage
// that is not configured is left out of the chain. es-loader's s3_key_ignored is
// applied at log type detection (package schemas), not here.
//
// Deliberate differences from es-loader:
//   - Its defect 8 is fixed: every element of a list on the path is tested
//     (es-loader returns after the first element, and compares a list at the
//     end of the path as str(list)), and every key of a nested pattern is
//     evaluated. Objects at the end of a path never match.
//   - An empty pattern is an error (es-loader would drop every record whose
//     field is ""; write pattern_type regex with pattern "()" for that).
//   - Regular expressions are RE2: no look-around or back-references (such a
//     row is reported and ignored; es-loader would fail to start), \d and \w
//     are ASCII.
//   - Conditions see nested threat.enrichments / threat.matched (es-loader's
//     documents have literal dotted keys there).
//   - The CSV, the conditions, and their absence are hot-reloaded instead of
//     read once per Lambda container; COUNT samples are logged per time
//     window instead of the first 3 per S3 object.
package exclude
