package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Range is a replay's time range of arrival times (ApproximateArrivalTimestamp),
// both ends included.
type Range struct{ From, To time.Time }

// ParseRange resolves --from and --to against now. --to defaults to now
// (the stream's tip when the replay starts) and may not be in the future:
// end positions are fixed at start from what the stream holds.
func ParseRange(from, to string, now time.Time) (Range, error) {
	var r Range
	if from == "" {
		return r, errors.New("--from is required")
	}
	var err error
	if r.From, err = ParseTime(from, now); err != nil {
		return r, fmt.Errorf("--from: %w", err)
	}
	r.To = now
	if to != "" {
		if r.To, err = ParseTime(to, now); err != nil {
			return r, fmt.Errorf("--to: %w", err)
		}
	}
	if r.From.After(now) {
		return r, fmt.Errorf("--from %s is in the future", r.From.Format(time.RFC3339))
	}
	if r.To.After(now) {
		return r, fmt.Errorf("--to %s is in the future: a replay fixes where each shard ends when it starts; omit --to to replay up to the tip", r.To.Format(time.RFC3339Nano))
	}
	if !r.From.Before(r.To) {
		return r, fmt.Errorf("--from %s is not before --to %s", r.From.Format(time.RFC3339Nano), r.To.Format(time.RFC3339Nano))
	}
	return r, nil
}

// ParseTime accepts RFC 3339, 2006-01-02T15:04[:05] and 2006-01-02 (UTC),
// unix seconds, "now", and a duration meaning that long ago ("1h", "-1h",
// "90m").
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "now" {
		return now, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return time.Time{}, fmt.Errorf("%q: negative unix time", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if d, err := time.ParseDuration(strings.TrimPrefix(s, "-")); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q: want RFC 3339, 2006-01-02T15:04, unix seconds or a duration ago (1h)", s)
}

// AppName is the default application name of a replay from a time.
func AppName(live string, from time.Time) string {
	return live + "-replay-" + from.UTC().Format("20060102T150405Z")
}

// ShardLister is the part of the Kinesis client ListShards needs.
type ShardLister interface {
	ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
}

// ListShards returns every shard of the stream the API lists (closed ones
// within the retention too). callTimeout bounds each page's call (0 =
// DefaultCallTimeout): one not answered in time fails the listing instead
// of holding it for good.
func ListShards(ctx context.Context, kc ShardLister, stream string, callTimeout time.Duration) ([]ktypes.Shard, error) {
	var shards []ktypes.Shard
	in := &kinesis.ListShardsInput{StreamName: &stream}
	for {
		out, err := bounded(ctx, callTimeout, func(ctx context.Context) (*kinesis.ListShardsOutput, error) {
			return kc.ListShards(ctx, in)
		})
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		shards = append(shards, out.Shards...)
		if aws.ToString(out.NextToken) == "" {
			return shards, nil
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
}

// Scope returns the shard ids to replay: all, or those named in spec
// ("shardId-000000000003" or "3"), which must exist; sorted.
func Scope(all []ktypes.Shard, spec string) ([]string, error) {
	var ids []string
	for _, s := range all {
		ids = append(ids, aws.ToString(s.ShardId))
	}
	if strings.TrimSpace(spec) == "" {
		slices.Sort(ids)
		return ids, nil
	}
	var out []string
	for _, p := range strings.Split(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if n, err := strconv.Atoi(p); err == nil && n >= 0 {
			p = fmt.Sprintf("shardId-%012d", n)
		}
		if !slices.Contains(ids, p) {
			return nil, fmt.Errorf("--shards: %s is not a shard of the stream (have %s)", p, strings.Join(ids, ","))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--shards: no shard named")
	}
	slices.Sort(out)
	return out, nil
}
