// Package templates installs the OpenSearch index templates, component
// templates, ISM rollover policy and rollover write aliases that the log
// indices need, derived from the log-type registry (schemas.Registry), so a
// user.ini type gets its template too.
//
// Consumes: a *schemas.Registry (each type's index_name and index_rotation),
// Options, and an *opensearch.Client for Install/Show. Produces: a Set of
// request bodies (Build, no I/O) and a Report of what Install created,
// updated, left unchanged, skipped or failed.
//
// # What is installed
//
// The data files describe the same facts as the templates SIEM on Amazon
// OpenSearch Service installs (deploy_es data.ini v2.10.4), in our own
// format (see data/indices.conf and parseComponent):
//
//   - component templates component_template_<name>, one per
//     data/components/<name>.mapping: "log" is the ECS base every log index
//     composes (settings: 3 shards, refresh 2s, ignore_malformed; mappings:
//     @timestamp date, @message text, source/destination/… .ip ip,
//     .geo.location geo_point, event.ingested date, related.ip ip, keyword
//     for every other string through a dynamic template, …); "log-aws" adds
//     the AWS envelope fields; log-aws-<service> the raw fields of one
//     service; siemstream-deadletter the dead-letter documents;
//   - one composable index template per index family, <family>_aws matching
//     <family>-*, composed of the family's components: every index_name of
//     the registry belongs to the longest family it starts with
//     (log-aws-rds-mysql → log-aws-rds_aws); one no family covers gets a
//     template of its own composed of component_template_log;
//     log-aws_aws (log-aws-*) is the catch-all for AWS indices; the dead
//     letters get <prefix>_siemstream (<prefix>-*);
//   - when the ISM plugin answers: for every index_rotation = auto index
//     name, <index>_rollover (<index>-0*, priority +5) setting
//     plugins.index_state_management.rollover_alias, and the policy
//     rollover100gb (rollover at 100gb, optional age and retention) attached
//     to log-*-00* indices. Without the plugin (the OpenSearch min
//     distribution) these are skipped and the Report says so;
//   - for every index_rotation = auto index name without an alias,
//     <index>-000001 with the write alias <index> (es-loader does this at
//     start).
//
// # Names and priorities
//
// The names are es-loader's reserved ones (log…_aws, log…_rollover,
// component_template_log…), so installing over an es-loader deployment
// replaces its objects rather than colliding with them (two templates with
// overlapping patterns and the same priority are refused), and a user's
// template that composes component_template_log-aws-cloudtrail keeps
// working. Priorities are es-loader's (catch-all 1, families 2, rollover 5)
// plus Options.Priority; es-loader's documentation tells users to create
// their own templates with priority 10 or more, which therefore win.
//
// # Idempotency
//
// Every body carries "version": a 31-bit hash of the rest of the body.
// Install skips an object whose installed version equals ours, and PUTs
// (create or replace) otherwise, so changing a data file or an option
// updates exactly the objects that changed. The ISM policy has no version
// field; its description carries "(rev <hash>)" instead, and an update uses
// the policy's seq_no/primary_term as the ISM API requires.
//
// # Deliberate differences from es-loader
//
//   - network.bytes, and VPC flow logs bytes/packets, are long (ECS) rather
//     than integer: flow aggregates exceed 2^31 bytes.
//   - No composable log_aws template for log-*: es-loader installs that one
//     as a legacy template on managed OpenSearch; a composable log-* at
//     priority 0 would shadow users' legacy templates and collide with
//     their priority-0 composable ones. Indices of user.ini types get a
//     template of their own instead.
//   - Rollover templates exist only for index_rotation = auto index names
//     (es-loader installs one for every index), and use the plugins.*
//     rollover_alias setting instead of the deprecated opendistro.* one.
//   - The legacy templates, the ISM/alerting housekeeping templates and the
//     serverless (AOSS) variants are not installed.
//   - OCSF objects are reused through [object] sections instead of text
//     interpolation; the resulting mapping is the same.
package templates
