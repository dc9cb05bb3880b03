package pack_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer/pack"
	"github.com/siemstream/siemstream/producer/split"
)

// The producer's loop for one S3 object: detect compression, split, pack,
// batch into PutRecords requests; then what the consumer does with each
// Kinesis record.
func Example() {
	// An S3 object body (gzip VPC flow log with an over-long line).
	var obj bytes.Buffer
	zw := gzip.NewWriter(&obj)
	fmt.Fprintln(zw, "version account-id srcaddr dstaddr action")
	fmt.Fprintln(zw, "2 123456789012 10.0.0.1 10.0.0.2 ACCEPT")
	fmt.Fprintln(zw, strings.Repeat("x", 2<<20))
	fmt.Fprintln(zw, "2 123456789012 10.0.0.3 10.0.0.4 REJECT")
	zw.Close()

	body, comp, err := split.Open(&obj)
	if err != nil {
		log.Fatal(err) // ErrBinary, ErrUnsupportedCompression…: the object fails as a whole
	}
	defer body.Close()
	s, err := split.New(body, split.Format{Kind: split.KindCSV}, split.Options{})
	if err != nil {
		log.Fatal(err)
	}

	var requests [][]pack.Entry
	batcher, _ := pack.NewBatcher(0, 0) // 500 entries, 5 MiB
	p, err := pack.New(pack.DefaultConfig(), func(e pack.Entry) error {
		if ready := batcher.Add(e); ready != nil {
			requests = append(requests, ready) // PutRecords(ready), retry failed entries only
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	header, err := s.Header()
	if err != nil {
		log.Fatal(err)
	}
	if err := p.Begin(pack.Object{LogType: "vpcflowlogs", Bucket: "logs", Key: "f.log.gz", Context: header}); err != nil {
		log.Fatal(err)
	}
	for {
		rec, ord, err := s.Next()
		if err == io.EOF {
			break
		}
		var re *split.RecordError
		if errors.As(err, &re) {
			fmt.Printf("split: record %d failed: %v\n", re.Ordinal, re.Err) // count / dead-letter it
			continue
		}
		if err != nil {
			log.Fatal(err) // fatal for the object: records already packed are valid
		}
		if err := p.Add(rec, ord); err != nil {
			var pe *pack.RecordError
			if errors.As(err, &pe) {
				continue // too large even compressed: count / dead-letter it
			}
			log.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		log.Fatal(err)
	}
	if last := batcher.Flush(); last != nil {
		requests = append(requests, last)
	}
	fmt.Println("compression:", comp, "requests:", len(requests), "entries:", len(requests[0]))

	// Consumer side, per Kinesis record (KCL may already have deaggregated).
	e := requests[0][0]
	users, _, err := wire.SplitAggregate(e.Data)
	if err != nil {
		log.Fatal(err)
	}
	var c wire.Chunk
	var d wire.Decoder
	for sub, u := range users { // sub = KCL subsequence number
		if err := d.Decode(u, &c); err != nil {
			log.Fatal(err)
		}
		for i, r := range c.Records {
			fmt.Printf("sub %d ordinal %d: %s (context %q)\n", sub, c.FirstOrdinal+int64(i), r, c.Context)
		}
	}
	// Output:
	// split: record 2 failed: record too large
	// compression: gzip requests: 1 entries: 1
	// sub 0 ordinal 1: 2 123456789012 10.0.0.1 10.0.0.2 ACCEPT (context "version account-id srcaddr dstaddr action")
	// sub 1 ordinal 3: 2 123456789012 10.0.0.3 10.0.0.4 REJECT (context "version account-id srcaddr dstaddr action")
}
