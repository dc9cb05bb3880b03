package backfill

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/producer/notify"
)

// fakeSQS is an in-memory queue pair with visibility timeouts.
type fakeSQS struct {
	mu       sync.Mutex
	msgs     []*fakeMsg
	sent     []*sqs.SendMessageInput
	receipts int
	receives int
	// redeliver hands the first message received out twice in one
	// response, the second time with a new receipt handle and the same id:
	// the duplicate delivery a standard queue allows (at least once).
	redeliver    bool
	redeliveries int
	// staleKeeps: a delete with an older receipt handle succeeds without
	// deleting, as SQS documents ("you must provide the most recently
	// received receipt handle"); moto deletes with any of them.
	staleKeeps bool
}

type fakeMsg struct {
	id, body  string
	attrs     map[string]sqstypes.MessageAttributeValue
	receipt   string
	old       []string // earlier receipt handles, still good for a delete (as on moto)
	visibleAt time.Time
}

func (q *fakeSQS) add(body string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	id := fmt.Sprintf("msg-%02d", len(q.msgs)+1)
	q.msgs = append(q.msgs, &fakeMsg{id: id, body: body, attrs: map[string]sqstypes.MessageAttributeValue{
		"ErrorCode": {DataType: aws.String("String"), StringValue: aws.String("200")}}})
	return id
}

func (q *fakeSQS) left() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var ids []string
	for _, m := range q.msgs {
		ids = append(ids, m.id)
	}
	return ids
}

func (q *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.receives++
	out := &sqs.ReceiveMessageOutput{}
	now := time.Now()
	deliver := func(m *fakeMsg) {
		q.receipts++
		if m.receipt != "" {
			m.old = append(m.old, m.receipt)
		}
		m.receipt = "r" + strconv.Itoa(q.receipts)
		m.visibleAt = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
		out.Messages = append(out.Messages, sqstypes.Message{MessageId: aws.String(m.id), Body: aws.String(m.body),
			ReceiptHandle: aws.String(m.receipt), MessageAttributes: m.attrs})
	}
	for _, m := range q.msgs {
		if len(out.Messages) >= int(in.MaxNumberOfMessages) {
			break
		}
		if now.Before(m.visibleAt) {
			continue
		}
		deliver(m)
		if q.redeliver && q.redeliveries == 0 {
			q.redeliveries++
			deliver(m)
		}
	}
	return out, nil
}

func (q *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, m := range q.msgs {
		if q.staleKeeps && slices.Contains(m.old, *in.ReceiptHandle) {
			return &sqs.DeleteMessageOutput{}, nil
		}
		if m.receipt == *in.ReceiptHandle || slices.Contains(m.old, *in.ReceiptHandle) {
			q.msgs = slices.Delete(q.msgs, i, i+1)
			return &sqs.DeleteMessageOutput{}, nil
		}
	}
	return nil, fmt.Errorf("receipt handle %s is not valid", *in.ReceiptHandle)
}

func (q *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, in)
	return &sqs.SendMessageOutput{MessageId: aws.String("sent")}, nil
}

func (q *fakeSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range q.msgs {
		if m.receipt == *in.ReceiptHandle {
			m.visibleAt = time.Now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
		}
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (q *fakeSQS) GetQueueAttributes(_ context.Context, _ *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{"ApproximateNumberOfMessages": strconv.Itoa(len(q.msgs))}}, nil
}

func s3Event(bucket string, keys ...string) string {
	type rec struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		S3          any    `json:"s3"`
	}
	var recs []rec
	for _, k := range keys {
		recs = append(recs, rec{"aws:s3", "ObjectCreated:Put", map[string]any{
			"bucket": map[string]any{"name": bucket}, "object": map[string]any{"key": strings.ReplaceAll(k, " ", "+"), "size": 10}}})
	}
	b, _ := json.Marshal(map[string]any{"Records": recs})
	return string(b)
}

func redriveConfig(t *testing.T) RedriveConfig {
	cfg := DefaultRedriveConfig()
	cfg.QueueURL, cfg.WaitTime, cfg.RetryBackoff, cfg.LogDir = "http://sqs.local/123456789012/siem-dlq", 0, 0, t.TempDir()
	return cfg
}

func TestRedriveLoad(t *testing.T) {
	q := &fakeSQS{}
	ok := q.add(s3Event("logs", vpc(1), vpc(2)+" with space"))
	sns, _ := json.Marshal(map[string]string{"Type": "Notification", "Message": s3Event("logs", vpc(3))})
	okSNS := q.add(string(sns))
	test := q.add(`{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"logs"}`)
	garbage := q.add(`not json at all`)
	broken := q.add(s3Event("logs", vpc(4), vpc(5)))
	esl := q.add(`{"siem":{"start":1,"end":500},"s3":{"bucket":{"name":"logs"},"object":{"key":"` + strings.ReplaceAll(vpc(6), "/", "%2F") + `"}}}`)
	ld := newFakeLoader()
	ld.errs[vpc(5)] = fmt.Errorf("put records: stream gone")

	r, err := NewRedrive(redriveConfig(t), q, ld, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Received != 6 || sum.Deleted != 4 || sum.Failed != 2 || sum.Empty != 1 || sum.Objects != 5 || sum.Records != 500 {
		t.Errorf("summary = %+v", sum)
	}
	if got := q.left(); !slices.Equal(got, []string{garbage, broken}) {
		t.Errorf("left in the queue: %v, want %v", got, []string{garbage, broken})
	}
	if ld.count(vpc(2)+" with space") != 1 || ld.count(vpc(6)) != 1 {
		t.Errorf("decoded keys not loaded: %v", ld.calls)
	}
	if ld.count(vpc(5)) != 3 {
		t.Errorf("failing object tried %d times, want 1 + 2 retries", ld.count(vpc(5)))
	}
	fin := readLines(t, sum.FinishLog)
	slices.Sort(fin)
	wantFin := []string{
		ok + "\ts3://logs/" + vpc(1), ok + "\ts3://logs/" + vpc(2) + " with space", okSNS + "\ts3://logs/" + vpc(3),
		test + "\t-", broken + "\ts3://logs/" + vpc(4), esl + "\ts3://logs/" + vpc(6),
	}
	slices.Sort(wantFin)
	if !slices.Equal(fin, wantFin) {
		t.Errorf("finish log:\n%q\nwant\n%q", fin, wantFin)
	}
	errs := readLines(t, sum.ErrorLog)
	if len(errs) != 2 {
		t.Fatalf("error log = %q", errs)
	}
	for _, l := range errs {
		f := strings.Split(l, "\t")
		switch f[1] {
		case garbage:
			if f[2] != "-" || !strings.Contains(f[3], "not an S3 notification") {
				t.Errorf("garbage line %q", l)
			}
		case broken:
			if f[2] != "s3://logs/"+vpc(5) || !strings.Contains(f[3], "stream gone") {
				t.Errorf("broken line %q", l)
			}
		default:
			t.Errorf("unexpected error line %q", l)
		}
	}
	// Failed messages stay invisible for the visibility timeout, so a second
	// pass in the same run does not spin on them.
	if q.receives > 3 {
		t.Errorf("%d receives for one batch of 6 and two empty receives", q.receives)
	}
}

func TestRedriveMax(t *testing.T) {
	q := &fakeSQS{}
	for i := range 5 {
		q.add(s3Event("logs", vpc(i)))
	}
	cfg := redriveConfig(t)
	cfg.Max = 2
	r, err := NewRedrive(cfg, q, newFakeLoader(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Received != 2 || sum.Deleted != 2 || len(q.left()) != 3 {
		t.Errorf("summary = %+v, left %v", sum, q.left())
	}
}

func TestRedriveMove(t *testing.T) {
	q := &fakeSQS{}
	q.add(s3Event("logs", vpc(1)))
	q.add(`not json`)
	cfg := redriveConfig(t)
	cfg.ToQueueURL = "http://sqs.local/123456789012/siem"
	r, err := NewRedrive(cfg, q, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Moved != 2 || sum.Failed != 0 || len(q.left()) != 0 || len(q.sent) != 2 {
		t.Fatalf("summary = %+v, left %v, sent %d", sum, q.left(), len(q.sent))
	}
	for _, in := range q.sent {
		if *in.QueueUrl != cfg.ToQueueURL || in.MessageAttributes["ErrorCode"].StringValue == nil || in.MessageGroupId != nil {
			t.Errorf("sent %+v", in)
		}
	}
	bodies := map[string]bool{}
	for _, in := range q.sent {
		bodies[*in.MessageBody] = true
	}
	if !bodies[s3Event("logs", vpc(1))] {
		t.Errorf("body changed: %v", bodies)
	}
}

// TestRedriveRedelivery: a message delivered twice in one run (same id,
// new receipt handle) is taken, moved or loaded, and counted once; the
// second delivery is not a second message. With staleKeeps (SQS's rule:
// only the newest handle deletes) the message still leaves the queue,
// whether the second delivery is seen before or after the delete.
func TestRedriveRedelivery(t *testing.T) {
	for _, c := range []struct{ move, staleKeeps bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		move := c.move
		q := &fakeSQS{redeliver: true, staleKeeps: c.staleKeeps}
		id := q.add(s3Event("logs", vpc(1)))
		cfg := redriveConfig(t)
		var ld *fakeLoader
		var loader Loader
		if move {
			cfg.ToQueueURL = "http://sqs.local/123456789012/siem"
		} else {
			ld = newFakeLoader()
			loader = ld
		}
		r, err := NewRedrive(cfg, q, loader, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		sum, err := r.Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := RedriveSummary{Received: 1, Deleted: 1, Objects: 1}
		if move {
			want = RedriveSummary{Received: 1, Moved: 1}
		}
		got := RedriveSummary{Received: sum.Received, Deleted: sum.Deleted, Moved: sum.Moved, Failed: sum.Failed, Objects: sum.Objects}
		if got != want || len(q.left()) != 0 {
			t.Errorf("move %v, stale handles keep %v: summary %+v, want %+v; left %v", move, c.staleKeeps, got, want, q.left())
		}
		if move && len(q.sent) != 1 {
			t.Errorf("moved %d copies, want 1", len(q.sent))
		}
		if !move && ld.count(vpc(1)) != 1 {
			t.Errorf("object loaded %d times, want 1", ld.count(vpc(1)))
		}
		if fin := readLines(t, sum.FinishLog); !slices.Equal(fin, []string{id + "\ts3://logs/" + vpc(1)}) {
			t.Errorf("move %v: finish log %q", move, fin)
		}
		if q.redeliveries != 1 {
			t.Errorf("move %v: the fake never delivered the message twice; the test proves nothing", move)
		}
	}
}

func TestParseMessage(t *testing.T) {
	cases := []struct {
		name, body string
		want       []notify.Object
		err        bool
	}{
		{"s3 event", s3Event("b", "a b/c"), []notify.Object{{Bucket: "b", Key: "a b/c", Size: 10, EventName: "ObjectCreated:Put"}}, false},
		{"es-loader record", `{"s3":{"bucket":{"name":"b"},"object":{"key":"a+b%2Fc"}}}`, []notify.Object{{Bucket: "b", Key: "a b/c"}}, false},
		{"test event", `{"Event":"s3:TestEvent"}`, nil, false},
		{"json, not a notification", `{"hello":1}`, nil, true},
		{"not json", `hello`, nil, true},
	}
	for _, c := range cases {
		got, err := ParseMessage(c.body)
		if (err != nil) != c.err || !slices.Equal(got, c.want) {
			t.Errorf("%s: got %+v, %v; want %+v, error %v", c.name, got, err, c.want, c.err)
		}
	}
}

func TestRedriveInterruptReleases(t *testing.T) {
	q := &fakeSQS{}
	for i := range 3 {
		q.add(s3Event("logs", vpc(i)))
	}
	ld := newFakeLoader()
	ld.block, ld.started = make(chan struct{}), make(chan string, 10)
	cfg := redriveConfig(t)
	cfg.Workers = 1
	r, err := NewRedrive(cfg, q, ld, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan RedriveSummary, 1)
	go func() {
		sum, _ := r.Run(ctx)
		res <- sum
	}()
	<-ld.started // the first message is being loaded, the other two wait
	cancel()
	close(ld.block)
	sum := <-res
	if !sum.Interrupted || sum.Deleted != 1 || sum.Received != 1 {
		t.Errorf("summary = %+v", sum)
	}
	// The two not started are visible again at once, not after 300s.
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.msgs) != 2 {
		t.Fatalf("%d messages left, want 2", len(q.msgs))
	}
	for _, m := range q.msgs {
		if time.Until(m.visibleAt) > time.Second {
			t.Errorf("%s invisible for %s more", m.id, time.Until(m.visibleAt).Round(time.Second))
		}
	}
}
