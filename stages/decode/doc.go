// Package decode is the first stage of the chain: it parses each event's raw
// record (Event.Raw) according to the file_format of its log type
// (Event.Src.LogType, looked up in the schemas registry) into Event.Doc, the
// parsed original record, exactly as es-loader's FileFormat* classes would.
//
// Consumes: Event.Raw (one raw record, already split out of its S3 object by
// the producer), Event.Src (log type, and for csv the object's header line in
// Src.Context). Produces: Event.Doc (taken from the doc pool, or reset if
// already set) and Event.Env, the record's envelope (CloudWatch Logs,
// FireLens or EventBridge metadata, internal/wire), parsed here once for
// normalize. A record that cannot be
// parsed is marked Failed with a reason naming the format and the problem;
// the rest of the batch goes on. Events not in status Keep are skipped.
//
// Formats:
//   - json: one JSON object (for types with json_delimiter, one element of
//     the array, e.g. one CloudTrail Records element). Keys keep their order;
//     a repeated key keeps its first position and takes the last value; an
//     EventBridge envelope (top-level "detail-type" and "resources") is
//     replaced by its "detail" and its id/account/region/time kept in
//     Doc.Meta. Invalid JSON: es-loader aborts the whole object (an exception
//     in its JSON reader); we fail only that record. For via_cwl and
//     via_firelens types es-loader's convert_lograw_to_dict first repairs
//     "Invalid \escape" (doubles the backslash of `\x`, parses again with
//     control characters allowed), else indexes the message un-normalised
//     with error.message "invalid json file: " + Python's error text; we
//     reproduce both (repairJSON, pyjsonerr.go) with
//     Doc.Meta.SkipNormalization. Valid JSON never takes that path.
//   - csv: one data line; the header is Src.Context (first line of the
//     object); with csv_delimiter empty both are split on whitespace,
//     otherwise parsed as Python's csv module does; "-" in header names
//     becomes "_"; fields are paired up to the shorter of header and values.
//   - text: one line, stripped (a via_cwl or via_firelens message is not:
//     es-loader matches those as they are); log_pattern must match at its start; named
//     groups become fields (null when a group did not take part). No match:
//     the record fails (es-loader drops it and counts an error). The match
//     is regexp's FindSubmatchIndex, computed by fastRE (rematch.go, a
//     backtracking matcher of closures) whose stretches with one way to
//     match run as byte-scanning programs (detscan.go); patterns outside
//     fastRE's subset use the regexp.
//   - multiline: one record (its lines joined by the producer), right-stripped
//     (not a via_cwl message), then as text.
//   - cef: one line, as es-loader's FileFormatCef: cef_version,
//     cef_device_vendor, cef_device_product, cef_device_version,
//     cef_device_event_class_id, cef_name, cef_severity from the header,
//     then the extension's key=value pairs (escapes kept, as es-loader), with
//     xxxLabel folding (cs1Label=Tenant cs1=Primary → Tenant: Primary). Not
//     CEF: indexed un-normalised with error.message "invalid cef file".
//   - winevtxml: one <Event xmlns=…>…</Event> record, parsed like
//     xmltodict.parse with an empty attr_prefix and strip_whitespace=None, then folded as
//     es-loader does (EventData.Data → {Name: text}, EventID Qualifiers
//     flattened, AccessList/PrivilegeList split). The shape is checked
//     against es-loader's own output (testdata/formats/decode-golden.txt).
//   - xml: one record (xml_firstline), parsed like xmltodict.parse with its
//     defaults: attributes as "@name", text as "#text" (or the value itself
//     for an element without attributes and children), repeated elements
//     as lists, whitespace-only text dropped.
//   - parquet: one row as a JSON object (split.Open makes them), then as
//     json.
//   - via_cwl (any file_format): CloudWatch Logs records (metadata line,
//     then the message: wire.AppendCWLRecord); the message is parsed by the
//     log type's file_format; Doc.Meta.RecordStart/RecordEnd point at the
//     message in Event.Raw; Event.Env.CWL gives normalize the metadata (owner →
//     cloud.account.id, logGroup → @log_group, logStream → @log_stream, id →
//     additional id of _id, timestamp → cwl_timestamp).
//   - via_firelens: FireLens records (wire.AppendFirelensRecord); the log is parsed by
//     file_format, the container metadata added to the document as
//     es-loader merges it; stderr records are Dropped with
//     ignore_container_stderr; Doc.Meta.RecordStart/RecordEnd point at the
//     log; Event.Env.Firelens gives normalize the metadata.
//
// Decode never modifies Event.Raw (it may be decoded again on a retry).
//
// Invalid UTF-8 bytes are dropped from text and csv records before parsing
// (es-loader decodes objects with errors='ignore').
//
// Flat records (Config.Flat, flat.go): for the log types stages/chain names
// (those whose documents normalize's output plans write), a text record or
// a whitespace-split csv record that is valid UTF-8 gets Event.Flat instead
// of Event.Doc: its fields as offsets into Event.Raw, from the same split
// or log_pattern match, for the plan to read without a tree. Normalize
// builds the tree (stages.Flat.Tree, the same members in the same order)
// for a record its plan does not take. Failures are the tree path's.
//
// Config keys used (per log type): file_format, csv_delimiter, log_pattern,
// via_cwl, via_firelens, ignore_container_stderr. The stage's one option is
// Config.Flat.
package decode
