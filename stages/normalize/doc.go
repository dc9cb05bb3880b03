// Package normalize maps each decoded record (Event.Doc) to the document
// es-loader would index, and sets the bulk action's index and _id.
//
// Consumes: events in status Keep whose Doc was filled by the decode stage
// (Event.Src gives the log type, bucket and key). Produces: Event.Doc edited
// in place into the ECS document (before del_none, which the encode stage
// applies), Event.Index and Event.ID. A record whose timestamp or doc_id
// field is missing or unparsable is marked Failed (es-loader aborts the whole
// object there: its known defect #4, fixed on purpose); the rest of the
// batch goes on.
//
// Steps per record, in es-loader's order (siem.LogParser.__call__):
//  1. renamed_newfields;
//  2. @timestamp from timestamp_key / timestamp_key_list with
//     timestamp_format / timestamp_format_list (iso8601 with Python
//     fromisoformat semantics, epoch with the s/ms/µs heuristic, syslog with
//     the year guessed from Config.Now, or a strptime pattern), timestamp_tz
//     for naive times, timestamp_nano; without a key: the record's own
//     @timestamp field, else Config.Now;
//  3. basic fields: @message (the stripped line, or Python's json.dumps of a
//     JSON record), @timestamp (isoformat), @log_type, @log_s3bucket,
//     @log_s3key, event.module, event.ingested, @id (doc_id's value, else MD5
//     of @message [+ EventBridge id]). A JSON record parsed as is has its
//     json.dumps printed from the tree, with the escaped form the encoder
//     copies, in one walk (pristineJSON; doc.AppendPyDumpQuoted); others
//     are re-serialised from the raw bytes (pyjson);
//  4. json_to_text: listed fields become strings (ints via str, values with
//     "{" via Python repr); paths sharing a parent are resolved in one pass
//     over its members (jsontext.go);
//  5. ECS mapping (ecs), cloud.provider / cloud.account.id / cloud.region
//     (from the record, else from the S3 key, else "unknown"), ecs.version,
//     static_ecs, merged into the record with es-loader's merge_dicts; scalar
//     values become strings as Python's str() prints them; list-typed targets
//     collect, de-duplicate and sort; ".ip" targets keep valid IPs only
//     (when no entry reads under a key the mapping writes, the fields are
//     written into the record directly with the same merge semantics:
//     ecsPlan.direct, compared with the merge by slowDirect);
//  6. the log type's Go transform (schemas.RegisterTransform), when
//     script_ecs is set;
//  7. field_prefix;
//  8. index name (index_name or the transform's, index_suffix, rotation
//     daily/weekly %W/monthly/yearly/auto/aoss in index_tz, dated from
//     @timestamp, the transform's date, or event.ingested per index_time) and
//     _id (@id + "_" + doc_id_suffix value / transform suffix).
//
// Enrichment hooks: geoip/ioc/user-agent stages run after this one. They read
// <entity>.ip (e.g. doc.Doc.FindDotted("source.ip")) for the entities listed
// in LogType.Geoip / IOCIP / IOCDomain / UserAgentEnrichmentField and write
// with doc.Doc.SetObject / SetString (<entity>.geo, <entity>.as, threat.*).
// es-loader applies field_prefix after enrichment; since enrichment writes
// new ECS objects (not original fields) the order makes no difference unless
// a record has an original top-level field named like an ECS object.
//
// Output plans (plan_out.go): for a log type whose mapping a plan can
// express — CSV or text records (a flat object of strings and nulls), no
// renamed_newfields, json_to_text, field_prefix or doc_id, ECS targets that
// do not collide, no transform or one the plan replays (vpcflowlogs,
// alb/clb) — the steps above are compiled once per record key list (CSV
// header, log_pattern groups) and the _source is written straight into the
// batch's Arena as Event.Out, byte for byte what this stage and encode would
// write (FuzzPlanEqualsTree and the golden differential tests hold it to
// that). Event.Doc is then given back and left nil, so encode skips the
// event. Records a plan cannot express (a parse error to report, a wrapper
// envelope, a value long enough for the truncation rule, unexpected keys)
// take the tree path. Plans are used only for the types Config.Plan names
// (stages/chain: every type, unless exclusion conditions run, which read
// the tree). The user-agent stage's fields are written by the plan itself
// when Config.UserAgent gives its lookup. When GeoIP or IoC run after
// normalize (Config.GeoIP, Config.IOC), a plan records in Event.Marks where
// in Out those stages find the values they look up and where what they add
// goes (plan_marks.go, stages.PlanMarks), so they enrich Out without a tree.
// Before the per-record loop, the window's planned records whose @message
// is a sub-slice of the raw record (valid UTF-8) get their _id's MD5
// computed 16 at a time (id_batch.go, internal/md5x); the plan takes
// @message and the digest from there.
//
// Config: Now (clock for event.ingested and the syslog year), Plan (which
// log types may use output plans; nil: none), UserAgent (the user-agent
// stage's lookup, for plans of types it enriches), GeoIP and IOC (which
// enrichment stages follow, for the marks). Per log type it uses the
// schemas.LogType fields listed above.
package normalize
