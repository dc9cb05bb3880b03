#!/usr/bin/env bash
# Quick end-to-end check of a running stack with the aws CLI and curl:
#   S3 put into $SIEM_LOG_BUCKET -> the ObjectCreated event arrives on $SIEM_QUEUE_URL;
#   Kinesis put/get round trip (on a throw-away stream, so $SIEM_STREAM stays clean);
#   OpenSearch index + get of one document (throw-away index).
# Leaves no data behind except a receive count on moto's s3:TestEvent message.
set -euo pipefail
# shellcheck disable=SC2034 # read by lib.sh
LOG_TAG=smoke
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source=lib.sh
source "$here/lib.sh"
# shellcheck source=config.sh
source "$here/config.sh"

[[ -f "$SIEM_ENV_FILE" ]] || die "$SIEM_ENV_FILE missing; run: go tool task up"
# shellcheck disable=SC1090
source "$SIEM_ENV_FILE"
command -v aws >/dev/null || die "the aws CLI is missing (pip install awscli)"
command -v jq >/dev/null || die "jq is missing (apt-get install jq)"

# awscli v1 forces https://queue.amazonaws.com for `aws sqs` unless --endpoint-url is given
# (it ignores AWS_ENDPOINT_URL for sqs); the SDKs honour AWS_ENDPOINT_URL.
aws_sqs() { aws --endpoint-url "$SIEM_AWS_ENDPOINT" sqs "$@"; }

timer_start total
tag="smoke-$$-${EPOCHSECONDS}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- S3 -> SQS ------------------------------------------------------------------------------
timer_start s3-sqs
printf 'hello %s\n' "$tag" >"$tmp/obj"
aws s3api put-object --bucket "$SIEM_LOG_BUCKET" --key "$tag.log" --body "$tmp/obj" >/dev/null
found_event() {
  local out handle
  out=$(aws_sqs receive-message --queue-url "$SIEM_QUEUE_URL" --max-number-of-messages 10 \
    --visibility-timeout 2 --wait-time-seconds 1)
  handle=$(jq -r --arg k "$tag.log" '.Messages[]? | select((.Body | fromjson | .Records[0].s3.object.key?) == $k)
    | .ReceiptHandle' <<<"$out")
  [[ -n "$handle" ]] || return 1
  aws_sqs delete-message --queue-url "$SIEM_QUEUE_URL" --receipt-handle "$handle"
}
wait_until 30 "ObjectCreated event for s3://$SIEM_LOG_BUCKET/$tag.log on $SIEM_QUEUE_URL" -- found_event
aws s3api delete-object --bucket "$SIEM_LOG_BUCKET" --key "$tag.log" >/dev/null
timer_end s3-sqs "s3://$SIEM_LOG_BUCKET/$tag.log -> ObjectCreated on $SIEM_QUEUE_NAME"

# --- Kinesis ----------------------------------------------------------------------------------
timer_start kinesis
status=$(aws kinesis describe-stream-summary --stream-name "$SIEM_STREAM" |
  jq -r '.StreamDescriptionSummary | "\(.StreamStatus) \(.OpenShardCount)"')
[[ "$status" == "ACTIVE $SIEM_STREAM_SHARDS" ]] || die "stream $SIEM_STREAM: $status (want ACTIVE $SIEM_STREAM_SHARDS)"
aws kinesis create-stream --stream-name "$tag" --shard-count 1
stream_active() { [[ "$(aws kinesis describe-stream-summary --stream-name "$tag" |
  jq -r .StreamDescriptionSummary.StreamStatus)" == ACTIVE ]]; }
wait_until 30 "stream $tag ACTIVE" -- stream_active
put=$(aws kinesis put-record --stream-name "$tag" --partition-key pk --data "$tag")
shard=$(jq -r .ShardId <<<"$put")
it=$(aws kinesis get-shard-iterator --stream-name "$tag" --shard-id "$shard" \
  --shard-iterator-type TRIM_HORIZON | jq -r .ShardIterator)
data=$(aws kinesis get-records --shard-iterator "$it" | jq -r '.Records[0].Data' | base64 -d)
aws kinesis delete-stream --stream-name "$tag"
[[ "$data" == "$tag" ]] || die "Kinesis read back '$data', want '$tag'"
timer_end kinesis "$SIEM_STREAM ACTIVE x$SIEM_STREAM_SHARDS; put/get on $tag ok (seq $(jq -r .SequenceNumber <<<"$put"))"

# --- DynamoDB (moto) ------------------------------------------------------------------------
timer_start dynamodb
aws dynamodb list-tables >/dev/null
timer_end dynamodb "list-tables ok"

# --- OpenSearch -------------------------------------------------------------------------------
timer_start opensearch
idx="smoke-$$"
curl -fsS -X PUT "$OPENSEARCH_URL/$idx/_doc/1?refresh=true" -H 'Content-Type: application/json' \
  -d "{\"message\":\"$tag\",\"@timestamp\":\"$(date -u +%FT%TZ)\"}" >/dev/null
got=$(curl -fsS "$OPENSEARCH_URL/$idx/_doc/1" | jq -r ._source.message)
count=$(curl -fsS "$OPENSEARCH_URL/$idx/_count" | jq -r .count)
curl -fsS -X DELETE "$OPENSEARCH_URL/$idx" >/dev/null
[[ "$got" == "$tag" && "$count" == 1 ]] || die "OpenSearch read back '$got' (count $count)"
timer_end opensearch "indexed + read back 1 doc ($(curl -fsS "$OPENSEARCH_URL/_cluster/health" | jq -r .status))"

timer_end total "smoke OK"
