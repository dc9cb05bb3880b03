package e2e

// A Kinesis proxy that throttles as the service does.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/siemstream/siemstream/internal/wire"
)

// ---- throttling Kinesis proxy ----

// ThrottleLimits are per-shard rates (the Kinesis Data Streams limits by
// default).
type ThrottleLimits struct {
	PutRecordsPerSec float64 // 1000
	PutBytesPerSec   float64 // 1 MiB
	GetCallsPerSec   float64 // 5
	GetBytesPerSec   float64 // 2 MiB
}

// KinesisLimits are the real per-shard limits.
func KinesisLimits() ThrottleLimits {
	return ThrottleLimits{PutRecordsPerSec: 1000, PutBytesPerSec: 1 << 20, GetCallsPerSec: 5, GetBytesPerSec: 2 << 20}
}

// ThrottleStats counts what the proxy refused.
type ThrottleStats struct {
	// PutAccepted is entries passed on to Kinesis and accepted there.
	PutAccepted              int64
	PutEntries, PutThrottled int64 // PutRecords entries seen / failed with ProvisionedThroughputExceededException
	GetCalls, GetThrottled   int64 // GetRecords calls seen / refused
}

// KinesisThrottle is an HTTP proxy in front of a Kinesis endpoint that
// enforces per-shard limits the way Kinesis does: PutRecords entries over the
// write budget fail with ErrorCode ProvisionedThroughputExceededException
// (the rest of the request succeeds), and GetRecords calls over the call or
// byte budget get a ProvisionedThroughputExceededException error. Local
// emulators (kinesalite, kinesis-mock) never throttle.
type KinesisThrottle struct {
	target string
	limits ThrottleLimits
	kc     *kinesis.Client
	srv    *http.Server
	ln     net.Listener
	client *http.Client

	mu      sync.Mutex
	buckets map[string]*shardBuckets // stream/shard
	ranges  map[string][]shardRange  // stream
	iters   map[string]string        // shard iterator → stream/shard
	stats   ThrottleStats
}

type shardRange struct {
	id       string
	from, to *big.Int
}

type bucket struct {
	tokens, rate, capacity float64
	last                   time.Time
}

func newBucket(rate, smallestFull float64, now time.Time) bucket {
	// One second's worth, but never less than one whole request (a 1 MiB
	// record must fit, as in Kinesis).
	c := max(rate, smallestFull)
	return bucket{tokens: c, rate: rate, capacity: c, last: now}
}

// refill adds what accrued since the last call, up to the capacity.
func (b *bucket) refill(now time.Time) {
	b.tokens = min(b.capacity, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
}

// take takes n if there are that many.
func (b *bucket) take(now time.Time, n float64) bool {
	b.refill(now)
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// inDebt reports whether an earlier overdraw is still being paid off.
func (b *bucket) inDebt(now time.Time) bool {
	b.refill(now)
	return b.tokens < 0
}

type shardBuckets struct{ putRecs, putBytes, getCalls, getBytes bucket }

// NewKinesisThrottle starts a proxy to target (a Kinesis endpoint URL); kc
// must reach target directly (it lists shards to map hash keys).
func NewKinesisThrottle(target string, limits ThrottleLimits, kc *kinesis.Client) (*KinesisThrottle, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &KinesisThrottle{
		target: strings.TrimRight(target, "/"), limits: limits, kc: kc, ln: ln,
		client:  &http.Client{Timeout: 60 * time.Second},
		buckets: map[string]*shardBuckets{}, ranges: map[string][]shardRange{}, iters: map[string]string{},
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxy's endpoint (for AWS_ENDPOINT_URL_KINESIS).
func (p *KinesisThrottle) URL() string { return "http://" + p.ln.Addr().String() }

// Close stops the proxy.
func (p *KinesisThrottle) Close() error { return p.srv.Close() }

// Stats returns the counters so far.
func (p *KinesisThrottle) Stats() ThrottleStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

func (p *KinesisThrottle) shard(key string) *shardBuckets {
	b := p.buckets[key]
	if b == nil {
		now := time.Now()
		l := p.limits
		b = &shardBuckets{
			putRecs: newBucket(l.PutRecordsPerSec, 1, now), putBytes: newBucket(l.PutBytesPerSec, wire.MaxKinesisRecordBytes+256, now),
			getCalls: newBucket(l.GetCallsPerSec, 1, now), getBytes: newBucket(l.GetBytesPerSec, 1, now),
		}
		p.buckets[key] = b
	}
	return b
}

func (p *KinesisThrottle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	switch strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "Kinesis_20131202.") {
	case "PutRecords":
		p.putRecords(w, r, body)
	case "GetRecords":
		p.getRecords(w, r, body)
	case "GetShardIterator":
		p.getShardIterator(w, r, body)
	default:
		p.pass(w, r, body)
	}
}

// forward sends body to the target and returns status, headers and body.
func (p *KinesisThrottle) forward(r *http.Request, body []byte) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	for k, v := range r.Header {
		if k != "Content-Length" {
			req.Header[k] = v
		}
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out, err
}

func (p *KinesisThrottle) pass(w http.ResponseWriter, r *http.Request, body []byte) {
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	writeResp(w, st, h, out)
}

func writeResp(w http.ResponseWriter, status int, h http.Header, body []byte) {
	for k, v := range h {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func throttled(w http.ResponseWriter, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "ProvisionedThroughputExceededException", "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", "ProvisionedThroughputExceededException")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}

// shardOf maps a hash key to its open shard ("" if unknown).
func (p *KinesisThrottle) shardOf(ctx context.Context, stream string, hash *big.Int) string {
	p.mu.Lock()
	rs, ok := p.ranges[stream]
	p.mu.Unlock()
	if !ok {
		shards, err := (&Stack{Kinesis: p.kc}).ListAllShards(ctx, stream)
		if err != nil {
			return ""
		}
		for _, sh := range shards {
			if sh.SequenceNumberRange.EndingSequenceNumber != nil {
				continue
			}
			from, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.StartingHashKey), 10)
			to, _ := new(big.Int).SetString(aws.ToString(sh.HashKeyRange.EndingHashKey), 10)
			rs = append(rs, shardRange{id: *sh.ShardId, from: from, to: to})
		}
		p.mu.Lock()
		p.ranges[stream] = rs
		p.mu.Unlock()
	}
	for _, sr := range rs {
		if hash.Cmp(sr.from) >= 0 && hash.Cmp(sr.to) <= 0 {
			return sr.id
		}
	}
	return ""
}

func (p *KinesisThrottle) putRecords(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		StreamName string
		StreamARN  string
		Records    []json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil {
		p.pass(w, r, body)
		return
	}
	stream := in.StreamName
	if stream == "" {
		stream = in.StreamARN[strings.LastIndex(in.StreamARN, "/")+1:]
	}
	type entry struct {
		Data            string
		PartitionKey    string
		ExplicitHashKey string
	}
	keep := make([]bool, len(in.Records))
	var fwd []json.RawMessage
	now := time.Now()
	for i, raw := range in.Records {
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			p.pass(w, r, body)
			return
		}
		hash, ok := new(big.Int).SetString(e.ExplicitHashKey, 10)
		if !ok {
			h := md5.Sum([]byte(e.PartitionKey))
			hash = new(big.Int).SetBytes(h[:])
		}
		size := float64(base64.StdEncoding.DecodedLen(len(e.Data)) + len(e.PartitionKey))
		sh := p.shardOf(r.Context(), stream, hash)
		p.mu.Lock()
		b := p.shard(stream + "/" + sh)
		p.stats.PutEntries++
		// Both budgets must have room; a refused entry takes nothing.
		okRecs := b.putRecs.take(now, 1)
		okBytes := okRecs && b.putBytes.take(now, size)
		if okRecs && !okBytes {
			b.putRecs.tokens++
		}
		keep[i] = okRecs && okBytes
		if !keep[i] {
			p.stats.PutThrottled++
		}
		p.mu.Unlock()
		if keep[i] {
			fwd = append(fwd, raw)
		}
	}
	type result struct {
		SequenceNumber string `json:",omitempty"`
		ShardId        string `json:",omitempty"`
		ErrorCode      string `json:",omitempty"`
		ErrorMessage   string `json:",omitempty"`
	}
	var got struct {
		FailedRecordCount int
		Records           []result
		EncryptionType    string `json:",omitempty"`
	}
	status, hdr := http.StatusOK, http.Header{"Content-Type": {"application/x-amz-json-1.1"}}
	if len(fwd) > 0 {
		in2 := map[string]any{"Records": fwd}
		if in.StreamName != "" {
			in2["StreamName"] = in.StreamName
		} else {
			in2["StreamARN"] = in.StreamARN
		}
		b2, _ := json.Marshal(in2)
		st, h, out, err := p.forward(r, b2)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		if st != http.StatusOK {
			writeResp(w, st, h, out)
			return
		}
		if err := json.Unmarshal(out, &got); err != nil || len(got.Records) != len(fwd) {
			http.Error(w, "bad PutRecords response from target", http.StatusBadGateway)
			return
		}
		hdr = h
	}
	res := make([]result, len(in.Records))
	failed, k := 0, 0
	for i := range in.Records {
		if keep[i] {
			res[i] = got.Records[k]
			k++
			if res[i].ErrorCode != "" {
				failed++
			} else {
				p.mu.Lock()
				p.stats.PutAccepted++
				p.mu.Unlock()
			}
			continue
		}
		failed++
		res[i] = result{ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard in stream " + stream + " (siemstream throttle proxy)"}
	}
	out, _ := json.Marshal(map[string]any{"FailedRecordCount": failed, "Records": res})
	writeResp(w, status, hdr, out)
}

func (p *KinesisThrottle) getShardIterator(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct{ StreamName, StreamARN, ShardId string }
	_ = json.Unmarshal(body, &in)
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var res struct{ ShardIterator string }
	if st == http.StatusOK && json.Unmarshal(out, &res) == nil && res.ShardIterator != "" {
		stream := in.StreamName
		if stream == "" {
			stream = in.StreamARN[strings.LastIndex(in.StreamARN, "/")+1:]
		}
		p.mu.Lock()
		p.iters[res.ShardIterator] = stream + "/" + in.ShardId
		p.mu.Unlock()
	}
	writeResp(w, st, h, out)
}

func (p *KinesisThrottle) getRecords(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct{ ShardIterator string }
	_ = json.Unmarshal(body, &in)
	now := time.Now()
	p.mu.Lock()
	key, known := p.iters[in.ShardIterator]
	p.stats.GetCalls++
	var b *shardBuckets
	if known {
		b = p.shard(key)
		// A call is refused while the shard is over its call rate or still
		// paying off an earlier large read.
		if b.getBytes.inDebt(now) || !b.getCalls.take(now, 1) {
			p.stats.GetThrottled++
			p.mu.Unlock()
			throttled(w, "Rate exceeded for shard "+key+" (siemstream throttle proxy)")
			return
		}
	}
	p.mu.Unlock()
	st, h, out, err := p.forward(r, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if st == http.StatusOK && known {
		var res struct{ NextShardIterator *string }
		_ = json.Unmarshal(out, &res)
		p.mu.Lock()
		delete(p.iters, in.ShardIterator)
		if res.NextShardIterator != nil {
			p.iters[*res.NextShardIterator] = key
		}
		// Data read counts after the fact, so one big read throttles the
		// calls after it, as in Kinesis (approximate: JSON body size).
		b.getBytes.tokens -= float64(len(out)) * 3 / 4
		p.mu.Unlock()
	}
	writeResp(w, st, h, out)
}
