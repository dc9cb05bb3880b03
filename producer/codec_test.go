package producer_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/siemstream/siemstream/bench/fixture"
	"github.com/siemstream/siemstream/internal/e2e"
	"github.com/siemstream/siemstream/internal/wire"
	"github.com/siemstream/siemstream/producer"
	"github.com/siemstream/siemstream/producer/notify"
	"github.com/siemstream/siemstream/schemas"
)

// TestCodecLoadObject: Config.Codec reaches the chunks LoadObject writes
// (the codec byte of every chunk), and every codec carries the same
// records.
func TestCodecLoadObject(t *testing.T) {
	ds, err := e2e.Generate("vpcflowlogs", 1, 3000, 7, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	obj := ds.Objects[0]
	reg, err := schemas.Load(schemas.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	wireBytes := map[string]int64{}
	for _, tc := range []struct {
		codec string
		want  wire.Codec
	}{{"", wire.CodecZstd}, {"zstd", wire.CodecZstd}, {"s2", wire.CodecS2}, {"none", wire.CodecNone}} {
		s3 := fixture.NewS3()
		s3.PutBytes("b", obj.Key, obj.Body)
		var aggs [][]byte
		kin := &fixture.Kinesis{Keep: func(d []byte) { aggs = append(aggs, d) }}
		cfg := producer.DefaultConfig()
		cfg.Stream, cfg.Codec = "s", tc.codec
		p, err := producer.New(cfg, reg, s3, nil, kin, nil, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.LoadObject(t.Context(), notify.Object{Bucket: "b", Key: obj.Key})
		if err != nil || res.Outcome != producer.Loaded || res.Records != int64(obj.Events) {
			t.Fatalf("codec %q: %+v %v", tc.codec, res, err)
		}
		var got [][]byte
		var c wire.Chunk
		for _, a := range aggs {
			users, _, err := wire.SplitAggregate(a)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range users {
				if wire.Codec(u[4]) != tc.want {
					t.Fatalf("codec %q: chunk codec byte %d, want %d", tc.codec, u[4], tc.want)
				}
				if err := wire.DecodeChunk(u, &c); err != nil {
					t.Fatal(err)
				}
				for _, r := range c.Records {
					got = append(got, bytes.Clone(r))
				}
			}
		}
		if want == nil {
			want = got
		}
		if len(got) != len(want) || len(got) != obj.Events {
			t.Fatalf("codec %q: %d records, want %d", tc.codec, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("codec %q: record %d differs", tc.codec, i)
			}
		}
		wireBytes[tc.want.String()] = kin.Stats().Bytes
	}
	// s2 sits between zstd and no compression.
	if !(wireBytes["zstd"] < wireBytes["s2"] && wireBytes["s2"] < wireBytes["none"]) {
		t.Errorf("wire bytes %v: want zstd < s2 < none", wireBytes)
	}
	t.Logf("wire bytes for %d events: %v", obj.Events, wireBytes)
}

func TestCodecValidate(t *testing.T) {
	cfg := producer.DefaultConfig()
	cfg.Stream = "s"
	cfg.Codec = "lz4"
	if _, err := producer.New(cfg, nil, nil, nil, nil, nil, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "codec") {
		t.Fatalf("codec lz4: err %v, want a codec error", err)
	}
	cfg.Codec = "s2"
	if _, err := producer.New(cfg, nil, nil, nil, nil, nil, zerolog.Nop()); err != nil {
		t.Fatalf("codec s2: %v", err)
	}
}
