package producer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/siemstream/siemstream/producer/pack"
)

// ResendRecord is one raw record to send again, with its original ordinal.
type ResendRecord struct {
	Ordinal int64
	Raw     []byte
}

// ResendResult says which records of a Resend went to the stream.
type ResendResult struct {
	// Sent are the ordinals accepted by PutRecords.
	Sent []int64
	// Refused maps ordinals that cannot be packed (too large for a Kinesis
	// record) to the reason; they were not sent.
	Refused map[int64]string
}

// Resend packs records of one object (its log type, bucket, key and
// context, as LoadObject would have) into wire chunks and writes them to the
// stream; consumers process them as any record, and since _ids depend on
// the raw record (or its own id), documents are the ones a normal load
// makes. It returns after every packable record was accepted (nil error),
// so the caller may then remove them from the dead letters. Records are
// sent in ordinal order; repeated ordinals are sent once.
func (p *Producer) Resend(ctx context.Context, obj pack.Object, recs []ResendRecord) (ResendResult, error) {
	res := ResendResult{Refused: map[int64]string{}}
	slices.SortStableFunc(recs, func(a, b ResendRecord) int { return cmp.Compare(a.Ordinal, b.Ordinal) })
	recs = slices.CompactFunc(recs, func(a, b ResendRecord) bool { return a.Ordinal == b.Ordinal })
	log := p.log.With().Str("s3_bucket", obj.Bucket).Str("s3_key", obj.Key).Str("log_type", obj.LogType).Logger()
	put := newPutter(ctx, p, log)
	packer, err := pack.New(p.cfg.packConfig(), put.add)
	if err != nil {
		return res, err
	}
	if err := packer.Begin(obj); err != nil {
		return res, fmt.Errorf("resend s3://%s/%s: %w", obj.Bucket, obj.Key, err)
	}
	for _, r := range recs {
		if len(r.Raw) > p.cfg.MaxRecordBytes {
			res.Refused[r.Ordinal] = fmt.Sprintf("%d bytes, longer than max-record-bytes %d: cannot go through the stream", len(r.Raw), p.cfg.MaxRecordBytes)
			continue
		}
		if err := packer.Add(r.Raw, r.Ordinal); err != nil {
			var pe *pack.RecordError
			if errors.As(err, &pe) {
				res.Refused[r.Ordinal] = pe.Err.Error()
				continue
			}
			return ResendResult{Refused: res.Refused}, fmt.Errorf("resend s3://%s/%s: %w", obj.Bucket, obj.Key, err)
		}
		res.Sent = append(res.Sent, r.Ordinal)
	}
	if err := packer.Flush(); err != nil {
		return ResendResult{Refused: res.Refused}, fmt.Errorf("resend s3://%s/%s: %w", obj.Bucket, obj.Key, err)
	}
	if err := put.flush(); err != nil {
		return ResendResult{Refused: res.Refused}, err
	}
	return res, nil
}
