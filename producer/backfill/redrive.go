package backfill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/internal/backoff"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
)

// SQSAPI is the part of the SQS client redrive uses.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// RedriveConfig configures a redrive.
type RedriveConfig struct {
	// QueueURL is the dead-letter queue to drain.
	QueueURL string
	// ToQueueURL, when set, moves each message there unchanged (send, then
	// delete) instead of loading its objects.
	ToQueueURL string
	// Max stops after this many messages (0: until the queue is empty).
	Max int
	// Workers is how many messages are handled at once (default 4).
	Workers int
	// VisibilityTimeout is asked of SQS for received messages (default
	// 300s, as es-loader); extended every half of it while a message is
	// still being handled.
	VisibilityTimeout time.Duration
	// WaitTime is the receive long-poll wait (default 1s, 0..20s).
	WaitTime time.Duration
	// EmptyReceives is how many empty receives in a row end the run
	// (default 2).
	EmptyReceives int
	// Retries and RetryBackoff: as Config.
	Retries      int
	RetryBackoff time.Duration
	// LogDir and Name: as Config; the default name is redrive-<queue name>.
	LogDir, Name string
}

// DefaultRedriveConfig returns the defaults.
func DefaultRedriveConfig() RedriveConfig {
	return RedriveConfig{Workers: 4, VisibilityTimeout: 300 * time.Second, WaitTime: time.Second, EmptyReceives: 2, Retries: 2, RetryBackoff: 2 * time.Second}
}

// Validate checks the config.
func (c RedriveConfig) Validate() error {
	var errs []error
	if c.QueueURL == "" {
		errs = append(errs, errors.New("queue URL is required (--queue)"))
	}
	if c.ToQueueURL != "" && c.ToQueueURL == c.QueueURL {
		errs = append(errs, errors.New("to-queue is the queue being drained"))
	}
	if c.Max < 0 {
		errs = append(errs, fmt.Errorf("max %d: must be >= 0", c.Max))
	}
	if c.Workers < 1 || c.Workers > 256 {
		errs = append(errs, fmt.Errorf("workers %d: must be 1..256", c.Workers))
	}
	if c.VisibilityTimeout < 10*time.Second || c.VisibilityTimeout > 12*time.Hour {
		errs = append(errs, fmt.Errorf("visibility timeout %s: must be 10s..12h", c.VisibilityTimeout))
	}
	if c.WaitTime < 0 || c.WaitTime > 20*time.Second {
		errs = append(errs, fmt.Errorf("wait time %s: must be 0..20s", c.WaitTime))
	}
	if c.EmptyReceives < 1 {
		errs = append(errs, fmt.Errorf("empty receives %d: must be >= 1", c.EmptyReceives))
	}
	if c.Retries < 0 || c.RetryBackoff < 0 {
		errs = append(errs, errors.New("retries and retry backoff must be >= 0"))
	}
	if c.Name != "" && strings.ContainsAny(c.Name, `/\`) {
		errs = append(errs, fmt.Errorf("name %q: must be a file name, not a path (use --log-dir)", c.Name))
	}
	return errors.Join(errs...)
}

// RunName is Name or redrive-<last path element of the queue URL>.
func (c RedriveConfig) RunName() string {
	if c.Name != "" {
		return c.Name
	}
	q := c.QueueURL
	if i := strings.LastIndexByte(strings.TrimRight(q, "/"), '/'); i >= 0 {
		q = strings.TrimRight(q, "/")[i+1:]
	}
	return "redrive-" + strings.Trim(unsafeName.ReplaceAllString(q, "-"), "-.")
}

// Redrive drains a dead-letter queue.
type Redrive struct {
	cfg    RedriveConfig
	sqs    SQSAPI
	loader Loader
	log    zerolog.Logger
	st     redriveStats
}

type redriveStats struct {
	start                                time.Time
	approx                               atomic.Int64 // queue size at start, -1 unknown
	received, deleted, moved, failed     atomic.Int64
	empty, objects, records, bytes, retr atomic.Int64
	done                                 atomic.Bool
}

// NewRedrive checks cfg and builds a redrive; loader may be nil when
// moving messages (ToQueueURL).
func NewRedrive(cfg RedriveConfig, q SQSAPI, loader Loader, log zerolog.Logger) (*Redrive, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redrive config: %w", err)
	}
	if q == nil {
		return nil, errors.New("redrive: an SQS client is required")
	}
	if cfg.ToQueueURL == "" && loader == nil {
		return nil, errors.New("redrive: a loader is required unless moving messages")
	}
	r := &Redrive{cfg: cfg, sqs: q, loader: loader, log: log.With().Str("queue", cfg.QueueURL).Logger()}
	r.st.approx.Store(-1)
	return r, nil
}

// RedriveSummary is what a redrive did.
type RedriveSummary struct {
	Name                string
	FinishLog, ErrorLog string // ErrorLog is "" when removed (no failures)
	Received            int64  // messages taken from the queue
	Deleted             int64  // loaded (or nothing to load) and deleted
	Moved               int64  // sent to ToQueueURL and deleted
	Failed              int64  // left in the queue (see the error log)
	Empty               int64  // of Deleted: announced no object (test events, non-create events)
	Objects             int64  // objects loaded
	Records, Bytes      int64
	Retries             int64
	Interrupted         bool
	Elapsed             time.Duration
}

// Progress returns the run's progress in messages.
func (r *Redrive) Progress() Progress {
	s := &r.st
	p := Progress{
		Done: s.deleted.Load() + s.moved.Load(), Failed: s.failed.Load(), Total: s.received.Load(),
		Records: s.records.Load(), Bytes: s.bytes.Load(), TotalFinal: s.done.Load(),
	}
	if a := s.approx.Load(); a > p.Total && !p.TotalFinal {
		p.Total, p.TotalFinal = a, true
	}
	if !s.start.IsZero() {
		p.Elapsed = time.Since(s.start)
	}
	return p
}

type receivedMsg struct {
	m    sqstypes.Message
	stop func() // ends the visibility heartbeat
	rc   *receipt
}

// receipt follows one message of this run across duplicate deliveries. A
// standard queue may deliver a message again while it is being handled
// (at least once); each delivery has its own receipt handle, and SQS
// deletes a message only with the newest one (an older handle's delete
// succeeds without deleting). So the worker deletes with the newest
// handle, and a delivery that arrives after the delete is deleted too.
type receipt struct {
	mu     sync.Mutex
	handle *string
	state  receiptState
}

type receiptState uint8

const (
	working     receiptState = iota
	deleted                  // loaded or moved, and deleted
	leftInQueue              // failed: stays for a later run
)

// deleteNewest deletes the message with its newest handle, again if a
// newer delivery arrived during the call, and marks it deleted.
func (rc *receipt) deleteNewest(del func(handle *string) error) error {
	for {
		rc.mu.Lock()
		h := rc.handle
		rc.mu.Unlock()
		err := del(h)
		rc.mu.Lock()
		if err != nil || rc.handle == h {
			if err == nil {
				rc.state = deleted
			}
			rc.mu.Unlock()
			return err
		}
		rc.mu.Unlock()
	}
}

// redelivered records a new delivery of the message and says whether it is
// to be deleted now (the message was handled and deleted already, so the
// earlier delete did not take this delivery).
func (rc *receipt) redelivered(handle *string) (deleteNow bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	switch rc.state {
	case working:
		rc.handle = handle
	case deleted:
		return true
	}
	return false // leftInQueue: failed earlier in this run; leave it
}

// settle marks a message whose handling ended without a delete.
func (rc *receipt) settle() {
	rc.mu.Lock()
	if rc.state == working {
		rc.state = leftInQueue
	}
	rc.mu.Unlock()
}

// Run drains the queue until it is empty (EmptyReceives empty receives in a
// row), Max messages were taken, or ctx is cancelled; messages being handled
// then finish, received ones not yet started are released at once.
func (r *Redrive) Run(ctx context.Context) (RedriveSummary, error) {
	r.st.start = time.Now()
	defer r.st.done.Store(true)
	name := r.cfg.RunName()
	sum := RedriveSummary{Name: name}
	sum.FinishLog, sum.ErrorLog = JournalPaths(r.cfg.LogDir, name)
	j, err := OpenJournal(r.cfg.LogDir, name, false)
	if err != nil {
		return sum, err
	}
	r.approxSize(ctx)

	workCtx := context.WithoutCancel(ctx)
	work := make(chan receivedMsg)
	var wg sync.WaitGroup
	var fatal atomic.Pointer[error]
	for range r.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rm := range work {
				if ctx.Err() != nil {
					// Stopping: a message handed over but not started goes
					// back to the queue at once.
					rm.stop()
					r.release(workCtx, []sqstypes.Message{rm.m})
					r.st.received.Add(-1)
					continue
				}
				if err := r.handle(workCtx, ctx, j, rm); err != nil {
					fatal.CompareAndSwap(nil, &err)
				}
			}
		}()
	}
	runErr := r.receive(ctx, workCtx, work, &fatal)
	close(work)
	wg.Wait()
	r.st.done.Store(true)

	sum.Interrupted = ctx.Err() != nil
	if err := j.Close(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("close logs: %w", err))
	}
	if _, failed := j.Counts(); failed == 0 {
		sum.ErrorLog = ""
	}
	if p := fatal.Load(); p != nil {
		runErr = errors.Join(runErr, *p)
	}
	s := &r.st
	sum.Received, sum.Deleted, sum.Moved, sum.Failed = s.received.Load(), s.deleted.Load(), s.moved.Load(), s.failed.Load()
	sum.Empty, sum.Objects, sum.Records, sum.Bytes, sum.Retries = s.empty.Load(), s.objects.Load(), s.records.Load(), s.bytes.Load(), s.retr.Load()
	sum.Elapsed = time.Since(s.start)
	return sum, runErr
}

func (r *Redrive) approxSize(ctx context.Context) {
	out, err := r.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &r.cfg.QueueURL,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		r.log.Debug().Err(err).Msg("queue size unknown")
		return
	}
	n, err := strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64)
	if err != nil {
		return
	}
	if r.cfg.Max > 0 {
		n = min(n, int64(r.cfg.Max))
	}
	r.st.approx.Store(n)
	r.log.Info().Int64("approximate_messages", n).Msg("draining queue")
}

func (r *Redrive) receive(ctx, workCtx context.Context, work chan<- receivedMsg, fatal *atomic.Pointer[error]) error {
	seen := map[string]*receipt{}
	empty, errs := 0, 0
	for ctx.Err() == nil && fatal.Load() == nil {
		want := 10
		if r.cfg.Max > 0 {
			left := r.cfg.Max - int(r.st.received.Load())
			if left <= 0 {
				return nil
			}
			want = min(want, left)
		}
		out, err := r.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &r.cfg.QueueURL,
			MaxNumberOfMessages:         int32(want),
			VisibilityTimeout:           int32(r.cfg.VisibilityTimeout / time.Second),
			WaitTimeSeconds:             int32(r.cfg.WaitTime / time.Second),
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errs++; errs >= 5 {
				return fmt.Errorf("receive from %s: %w", r.cfg.QueueURL, err)
			}
			r.log.Warn().Err(err).Msg("receive failed; retrying")
			backoff.Sleep(ctx, time.Duration(errs)*time.Second)
			continue
		}
		errs = 0
		if len(out.Messages) == 0 {
			if empty++; empty >= r.cfg.EmptyReceives {
				return nil
			}
			continue
		}
		empty = 0
		for i, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if rc, ok := seen[id]; ok {
				// Delivered again: counted once. Handled already: delete
				// this delivery too; failed earlier: leave it.
				if rc.redelivered(m.ReceiptHandle) {
					r.deleteRedelivered(workCtx, m)
				}
				continue
			}
			rc := &receipt{handle: m.ReceiptHandle}
			seen[id] = rc
			r.st.received.Add(1)
			rm := receivedMsg{m: m, stop: r.keepInvisible(workCtx, m.ReceiptHandle), rc: rc}
			select {
			case work <- rm:
			case <-ctx.Done():
				rm.stop()
				r.release(workCtx, out.Messages[i:])
				r.st.received.Add(-1)
				return nil
			}
		}
	}
	return nil
}

// deleteRedelivered deletes a delivery of a message this run has already
// handled and deleted (with a handle SQS no longer honoured).
func (r *Redrive) deleteRedelivered(ctx context.Context, m sqstypes.Message) {
	_, err := r.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &r.cfg.QueueURL, ReceiptHandle: m.ReceiptHandle})
	log := r.log.Info()
	if err != nil {
		log = r.log.Warn().Err(err)
	}
	log.Str("message_id", aws.ToString(m.MessageId)).Msg("message delivered again after it was handled; deleted this delivery")
}

// release makes received messages that were not started visible again now.
func (r *Redrive) release(ctx context.Context, ms []sqstypes.Message) {
	for _, m := range ms {
		_, err := r.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &r.cfg.QueueURL, ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
		if err != nil {
			r.log.Debug().Err(err).Str("message_id", aws.ToString(m.MessageId)).Msg("release failed; visible again after the timeout")
		}
	}
}

func (r *Redrive) keepInvisible(ctx context.Context, receipt *string) func() {
	return producer.KeepInvisible(ctx, r.sqs, r.cfg.QueueURL, receipt, r.cfg.VisibilityTimeout, func(err error) {
		if err != nil {
			r.log.Warn().Err(err).Msg("extend visibility failed")
		}
	})
}

// handle loads (or moves) one message; the error is for the journal only.
// ctx is the work's (not cancelled by a graceful stop); stop ends retries.
func (r *Redrive) handle(ctx, stop context.Context, j *Journal, rm receivedMsg) error {
	defer rm.stop()
	defer rm.rc.settle()
	m := rm.m
	id := aws.ToString(m.MessageId)
	log := r.log.With().Str("message_id", id).Logger()
	objs, perr := ParseMessage(aws.ToString(m.Body))
	if r.cfg.ToQueueURL != "" {
		return r.move(ctx, j, rm, objs, log)
	}
	if perr != nil {
		r.st.failed.Add(1)
		log.Error().Err(perr).Msg("message left in the queue: not an S3 notification")
		return j.Fail(id, "-", "not an S3 notification: "+perr.Error())
	}
	ok := true
	for _, o := range objs {
		uri := "s3://" + o.Bucket + "/" + o.Key
		lr := load(ctx, stop, r.loader, o, retryPolicy{r.cfg.Retries, r.cfg.RetryBackoff}, log)
		r.st.retr.Add(int64(lr.attempts - 1))
		r.st.records.Add(lr.res.Records)
		r.st.bytes.Add(lr.res.Bytes)
		if lr.failure != "" {
			ok = false
			log.Error().Str("error_kind", "object_load").Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", lr.res.LogType).Str("reason", lr.failure).Msg("object not loaded; message left in the queue")
			if err := j.Fail(id, uri, lr.failure); err != nil {
				return err
			}
			continue
		}
		if lr.res.Outcome == producer.Loaded {
			r.st.objects.Add(1)
		} else {
			log.Info().Str("s3_bucket", o.Bucket).Str("s3_key", o.Key).Str("log_type", lr.res.LogType).Str("outcome", string(lr.res.Outcome)).Msg("object skipped")
		}
		if err := j.Finish(id, uri); err != nil {
			return err
		}
	}
	if !ok {
		r.st.failed.Add(1)
		return nil
	}
	if len(objs) == 0 {
		r.st.empty.Add(1)
		log.Info().Msg("message announces no object (test event or not an object-created event); deleting it")
		if err := j.Finish(id, "-"); err != nil {
			return err
		}
	}
	if err := rm.rc.deleteNewest(r.deleteFunc(ctx)); err != nil {
		log.Warn().Err(err).Msg("objects loaded but the message could not be deleted; a later redrive loads them again (idempotent)")
	}
	r.st.deleted.Add(1)
	return nil
}

// deleteFunc deletes from the drained queue by receipt handle.
func (r *Redrive) deleteFunc(ctx context.Context) func(*string) error {
	return func(h *string) error {
		_, err := r.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: &r.cfg.QueueURL, ReceiptHandle: h})
		return err
	}
}

func (r *Redrive) move(ctx context.Context, j *Journal, rm receivedMsg, objs []notify.Object, log zerolog.Logger) error {
	m := rm.m
	id := aws.ToString(m.MessageId)
	in := &sqs.SendMessageInput{QueueUrl: &r.cfg.ToQueueURL, MessageBody: m.Body, MessageAttributes: m.MessageAttributes}
	if strings.HasSuffix(r.cfg.ToQueueURL, ".fifo") {
		g := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]
		if g == "" {
			g = "siemstream-redrive"
		}
		in.MessageGroupId, in.MessageDeduplicationId = &g, m.MessageId
	}
	if _, err := r.sqs.SendMessage(ctx, in); err != nil {
		r.st.failed.Add(1)
		log.Error().Err(err).Msg("message not moved; left in the queue")
		return j.Fail(id, "-", fmt.Sprintf("send to %s: %v", r.cfg.ToQueueURL, err))
	}
	if err := rm.rc.deleteNewest(r.deleteFunc(ctx)); err != nil {
		log.Warn().Err(err).Msg("message copied but not deleted; it may be delivered twice (loads are idempotent)")
	}
	r.st.moved.Add(1)
	if len(objs) == 0 {
		return j.Finish(id, "-")
	}
	for _, o := range objs {
		if err := j.Finish(id, "s3://"+o.Bucket+"/"+o.Key); err != nil {
			return err
		}
	}
	return nil
}

// ParseMessage returns the objects a dead-letter message announces: any
// notification producer/notify reads (S3 event, SNS envelope, EventBridge),
// or es-loader's bare record {"s3":{"bucket":{"name":…},"object":{"key":…}}}
// (its split-log messages, whose start/end range is ignored: the whole
// object is loaded).
func ParseMessage(body string) ([]notify.Object, error) {
	objs, err := notify.Parse([]byte(body))
	if !errors.Is(err, notify.ErrNotNotification) {
		return objs, err
	}
	var rec struct {
		S3 struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
			} `json:"object"`
		} `json:"s3"`
	}
	if json.Unmarshal([]byte(body), &rec) != nil || rec.S3.Bucket.Name == "" || rec.S3.Object.Key == "" {
		return nil, err
	}
	key, uerr := url.QueryUnescape(rec.S3.Object.Key)
	if uerr != nil {
		return nil, fmt.Errorf("key %q: %w", rec.S3.Object.Key, uerr)
	}
	return []notify.Object{{Bucket: rec.S3.Bucket.Name, Key: key, Size: rec.S3.Object.Size}}, nil
}
