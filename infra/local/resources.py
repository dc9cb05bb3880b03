#!/usr/bin/env python3
"""Create (idempotently) or reset the AWS resources of the local stack.

    resources.py create   buckets, queue + DLQ, S3->SQS notification, Kinesis stream (ACTIVE)
    resources.py reset    recreate the stream, purge both queues, empty the log bucket,
                          delete the KCL lease table (the consumer recreates it)

Settings come from the environment (infra/local/config.sh exports them). `create` prints
KEY=VALUE lines (queue URLs, ARNs) on stdout for .local/env; progress goes to stderr.
Runs against moto (S3/SQS/DynamoDB) and kinesalite (Kinesis); uses only boto3.
"""

import json
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ENV = os.environ
REGION = ENV.get("AWS_REGION", "us-east-1")
AWS_ENDPOINT = ENV["SIEM_AWS_ENDPOINT"]
KINESIS_ENDPOINT = ENV["SIEM_KINESIS_ENDPOINT"]
LOG_BUCKET = ENV["SIEM_LOG_BUCKET"]
GEO_BUCKET = ENV["SIEM_GEO_BUCKET"]
QUEUE = ENV["SIEM_QUEUE_NAME"]
DLQ = ENV["SIEM_DLQ_NAME"]
VISIBILITY = ENV.get("SIEM_QUEUE_VISIBILITY", "60")
MAX_RECEIVE = ENV.get("SIEM_QUEUE_MAX_RECEIVE", "5")
STREAM = ENV["SIEM_STREAM"]
SHARDS = int(ENV.get("SIEM_STREAM_SHARDS", "4"))
LEASE_TABLE = ENV["SIEM_LEASE_TABLE"]
TIMEOUT = float(ENV.get("SIEM_RESOURCE_TIMEOUT", "30"))
NOTIFICATION_ID = "siem-s3-events"


def log(msg):
    print(f"[resources] {msg}", file=sys.stderr, flush=True)


def client(service, endpoint):
    cfg = Config(
        region_name=REGION,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        connect_timeout=2,
        read_timeout=30,
    )
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=cfg,
    )


def code(err):
    return err.response.get("Error", {}).get("Code", "")


def poll(desc, fn, timeout=TIMEOUT):
    """Call fn every 0.05 s until it returns a truthy value; raise after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        val = fn()
        if val:
            return val
        if time.monotonic() > deadline:
            raise TimeoutError(f"{desc}: not done after {timeout:.0f}s")
        time.sleep(0.05)


# --- S3 -------------------------------------------------------------------------------------


def ensure_bucket(s3, name):
    try:
        s3.head_bucket(Bucket=name)
        return
    except ClientError as e:
        if code(e) not in ("404", "NoSuchBucket", "NotFound"):
            raise
    try:
        s3.create_bucket(Bucket=name)
        log(f"bucket {name}: created")
    except ClientError as e:
        if code(e) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def empty_bucket(s3, name):
    n = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            objs = [
                {"Key": o["Key"], "VersionId": o["VersionId"]}
                for o in page.get("Versions", []) + page.get("DeleteMarkers", [])
            ]
            for i in range(0, len(objs), 1000):
                s3.delete_objects(Bucket=name, Delete={"Objects": objs[i : i + 1000], "Quiet": True})
                n += len(objs[i : i + 1000])
    except ClientError as e:
        if code(e) != "NoSuchBucket":
            raise
    log(f"bucket {name}: deleted {n} object versions")


def ensure_notification(s3, bucket, queue_arn):
    want = [{"Id": NOTIFICATION_ID, "QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
    cur = s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", [])
    norm = [{"Id": c.get("Id"), "QueueArn": c["QueueArn"], "Events": sorted(c["Events"])} for c in cur]
    if norm == want:
        return
    # moto sends one s3:TestEvent to the queue when the configuration is put.
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"QueueConfigurations": want}
    )
    log(f"bucket {bucket}: ObjectCreated notification -> {queue_arn}")


# --- SQS ------------------------------------------------------------------------------------


def queue_url(sqs, name):
    try:
        return sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except ClientError as e:
        if code(e) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            return None
        raise


def ensure_queue(sqs, name, attrs):
    url = queue_url(sqs, name)
    if url is None:
        url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
        log(f"queue {name}: created")
    else:
        cur = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        diff = {k: v for k, v in attrs.items() if not same_attr(cur.get(k), v)}
        if diff:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=diff)
            log(f"queue {name}: updated {sorted(diff)}")
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def same_attr(cur, want):
    """Compare attribute values; JSON ones structurally, with scalars as strings (moto returns
    RedrivePolicy.maxReceiveCount as a number)."""
    if cur is None:
        return False

    def norm(v):
        if isinstance(v, dict):
            return {k: norm(x) for k, x in v.items()}
        if isinstance(v, list):
            return [norm(x) for x in v]
        return str(v)

    try:
        return norm(json.loads(cur)) == norm(json.loads(want))
    except ValueError:
        return cur == want


# --- Kinesis --------------------------------------------------------------------------------


def stream_status(kin):
    try:
        return kin.describe_stream(StreamName=STREAM)["StreamDescription"]
    except ClientError as e:
        if code(e) == "ResourceNotFoundException":
            return None
        raise


def ensure_stream(kin):
    desc = stream_status(kin)
    if desc is None:
        try:
            kin.create_stream(StreamName=STREAM, ShardCount=SHARDS)
            log(f"stream {STREAM}: created with {SHARDS} shards")
        except ClientError as e:
            if code(e) != "ResourceInUseException":
                raise
    desc = poll(
        f"stream {STREAM} ACTIVE",
        lambda: (d := stream_status(kin)) and d["StreamStatus"] == "ACTIVE" and d,
    )
    open_shards = [s for s in desc["Shards"] if "EndingSequenceNumber" not in s["SequenceNumberRange"]]
    if len(open_shards) != SHARDS:
        log(f"WARN stream {STREAM} has {len(open_shards)} open shards (want {SHARDS}); run reset to recreate it")
    return desc["StreamARN"]


def delete_stream(kin):
    if stream_status(kin) is None:
        return
    kin.delete_stream(StreamName=STREAM)
    poll(f"stream {STREAM} deleted", lambda: stream_status(kin) is None)
    log(f"stream {STREAM}: deleted")


# --- commands -------------------------------------------------------------------------------


def create():
    s3, sqs = client("s3", AWS_ENDPOINT), client("sqs", AWS_ENDPOINT)
    kin = client("kinesis", KINESIS_ENDPOINT)
    ensure_bucket(s3, LOG_BUCKET)
    ensure_bucket(s3, GEO_BUCKET)
    dlq_url, dlq_arn = ensure_queue(sqs, DLQ, {"MessageRetentionPeriod": "1209600"})
    bucket_arn = f"arn:aws:s3:::{LOG_BUCKET}"
    q_arn_want = dlq_arn.rsplit(":", 1)[0] + ":" + QUEUE
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "s3-notifications",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": q_arn_want,
                "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn}},
            }
        ],
    }
    q_attrs = {
        "VisibilityTimeout": str(VISIBILITY),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVE)}),
        "Policy": json.dumps(policy),
    }
    q_url, q_arn = ensure_queue(sqs, QUEUE, q_attrs)
    ensure_notification(s3, LOG_BUCKET, q_arn)
    stream_arn = ensure_stream(kin)
    for k, v in (
        ("SIEM_QUEUE_URL", q_url),
        ("SIEM_QUEUE_ARN", q_arn),
        ("SIEM_DLQ_URL", dlq_url),
        ("SIEM_DLQ_ARN", dlq_arn),
        ("SIEM_STREAM_ARN", stream_arn),
    ):
        print(f"{k}={v}")


def reset():
    s3, sqs = client("s3", AWS_ENDPOINT), client("sqs", AWS_ENDPOINT)
    kin, ddb = client("kinesis", KINESIS_ENDPOINT), client("dynamodb", AWS_ENDPOINT)
    delete_stream(kin)
    try:
        ddb.delete_table(TableName=LEASE_TABLE)
        poll(f"table {LEASE_TABLE} deleted", lambda: LEASE_TABLE not in ddb.list_tables()["TableNames"])
        log(f"lease table {LEASE_TABLE}: deleted")
    except ClientError as e:
        if code(e) != "ResourceNotFoundException":
            raise
    for name in (QUEUE, DLQ):
        url = queue_url(sqs, name)
        if url:
            sqs.purge_queue(QueueUrl=url)
            log(f"queue {name}: purged")
    empty_bucket(s3, LOG_BUCKET)
    create()


def main(argv):
    cmds = {"create": create, "reset": reset}
    if len(argv) != 2 or argv[1] not in cmds:
        print(f"usage: {argv[0]} {'|'.join(cmds)}", file=sys.stderr)
        return 2
    try:
        cmds[argv[1]]()
    except (BotoCoreError, ClientError, TimeoutError) as e:
        log(f"ERROR {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
