package wire

import (
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// Protobuf tags (field number << 3 | wire type) of the KPL AggregatedRecord.
const (
	tagPartitionKeyTable   = 1<<3 | 2 // AggregatedRecord.partition_key_table
	tagExplicitHashKeyTbl  = 2<<3 | 2 // AggregatedRecord.explicit_hash_key_table
	tagRecords             = 3<<3 | 2 // AggregatedRecord.records
	tagPartitionKeyIndex   = 1<<3 | 0 // Record.partition_key_index
	tagExplicitHashKeyIdx  = 2<<3 | 0 // Record.explicit_hash_key_index
	tagData                = 3<<3 | 2 // Record.data
	aggregateDigestLen     = md5.Size
	aggregateFixedOverhead = len(AggregateMagic) + aggregateDigestLen
)

// Errors of SplitAggregate. They are wrapped; test with errors.Is.
var (
	// ErrAggregateDigest: the record starts with the KPL magic but the MD5
	// does not match (corruption, or a plain record that happens to start
	// with the magic).
	ErrAggregateDigest = errors.New("wire: aggregated record MD5 mismatch")
	// ErrAggregateMalformed: the MD5 matches but the protobuf is invalid.
	ErrAggregateMalformed = errors.New("wire: malformed aggregated record")
)

func uvarintLen(x uint64) int {
	// 1 + floor(log128(x)) for x > 0.
	return (bits.Len64(x|1) + 6) / 7
}

// AggregateHeaderSize is the size of an aggregated record with no user
// records: magic, the two key tables and the MD5. Use it with
// AggregateEntrySize to size aggregates exactly before building them.
func AggregateHeaderSize(partitionKey, explicitHashKey string) int {
	n := aggregateFixedOverhead
	n += 1 + uvarintLen(uint64(len(partitionKey))) + len(partitionKey)
	if explicitHashKey != "" {
		n += 1 + uvarintLen(uint64(len(explicitHashKey))) + len(explicitHashKey)
	}
	return n
}

// AggregateEntrySize is the number of bytes one user record of dataLen
// bytes adds to an aggregated record.
func AggregateEntrySize(dataLen int, withExplicitHashKey bool) int {
	inner := innerRecordSize(dataLen, withExplicitHashKey)
	return 1 + uvarintLen(uint64(inner)) + inner
}

func innerRecordSize(dataLen int, withEHK bool) int {
	n := 2 + 1 + uvarintLen(uint64(dataLen)) + dataLen
	if withEHK {
		n += 2
	}
	return n
}

// AggregateSize is the exact length of AppendAggregate's output for these
// arguments.
func AggregateSize(partitionKey, explicitHashKey string, userRecords [][]byte) int {
	n := AggregateHeaderSize(partitionKey, explicitHashKey)
	for _, r := range userRecords {
		n += AggregateEntrySize(len(r), explicitHashKey != "")
	}
	return n
}

// AppendAggregate appends a KPL aggregated record holding userRecords to dst
// and returns the extended slice. Every user record gets partition key index
// 0 and, when explicitHashKey is not empty, explicit hash key index 0, so all
// of them hash to the same shard. The caller must put the record with the
// same ExplicitHashKey (or, if empty, the same PartitionKey) so that shard is
// the one that receives it. It does not allocate if dst has room for
// AggregateSize bytes.
func AppendAggregate(dst []byte, partitionKey, explicitHashKey string, userRecords [][]byte) []byte {
	withEHK := explicitHashKey != ""
	dst = append(dst, AggregateMagic...)
	start := len(dst)
	dst = append(dst, tagPartitionKeyTable)
	dst = binary.AppendUvarint(dst, uint64(len(partitionKey)))
	dst = append(dst, partitionKey...)
	if withEHK {
		dst = append(dst, tagExplicitHashKeyTbl)
		dst = binary.AppendUvarint(dst, uint64(len(explicitHashKey)))
		dst = append(dst, explicitHashKey...)
	}
	for _, r := range userRecords {
		dst = append(dst, tagRecords)
		dst = binary.AppendUvarint(dst, uint64(innerRecordSize(len(r), withEHK)))
		dst = append(dst, tagPartitionKeyIndex, 0)
		if withEHK {
			dst = append(dst, tagExplicitHashKeyIdx, 0)
		}
		dst = append(dst, tagData)
		dst = binary.AppendUvarint(dst, uint64(len(r)))
		dst = append(dst, r...)
	}
	sum := md5.Sum(dst[start:])
	return append(dst, sum[:]...)
}

// IsAggregate reports whether data is a KPL aggregated record by the rules
// of the Java KCL: it starts with the magic, is longer than magic+MD5, and
// the MD5 matches.
func IsAggregate(data []byte) bool {
	if len(data) <= aggregateFixedOverhead || string(data[:len(AggregateMagic)]) != AggregateMagic {
		return false
	}
	body := data[len(AggregateMagic) : len(data)-aggregateDigestLen]
	sum := md5.Sum(body)
	return string(sum[:]) == string(data[len(data)-aggregateDigestLen:])
}

// SplitAggregate returns the user records of a Kinesis record. A plain
// (non-aggregated) record, including one of 20 bytes or less that starts
// with the magic, is returned as its only user record with isAggregate
// false, as the KCL does. The user records alias data.
//
// It returns an error, never a panic, when data starts with the magic and
// is long enough but the MD5 does not match (ErrAggregateDigest) or the
// protobuf is invalid (ErrAggregateMalformed: bad varint or length, missing
// required field, key index outside its table). The Java KCL would deliver
// such a record as one plain record instead; since a chunk never starts with
// the KPL magic, that record could not be decoded either, so the caller
// should quarantine the whole Kinesis record.
func SplitAggregate(data []byte) (userRecords [][]byte, isAggregate bool, err error) {
	return AppendUserRecords(nil, data)
}

// AppendUserRecords is SplitAggregate appending to dst, so a consumer can
// reuse one slice for every Kinesis record.
func AppendUserRecords(dst [][]byte, data []byte) (out [][]byte, isAggregate bool, err error) {
	if len(data) <= aggregateFixedOverhead || string(data[:len(AggregateMagic)]) != AggregateMagic {
		return append(dst, data), false, nil
	}
	body := data[len(AggregateMagic) : len(data)-aggregateDigestLen]
	sum := md5.Sum(body)
	if string(sum[:]) != string(data[len(data)-aggregateDigestLen:]) {
		return dst, true, ErrAggregateDigest
	}
	n0 := len(dst)
	var nPK, nEHK uint64
	// Key indexes are checked after the whole message is read, because a
	// protobuf writer may put the tables after the records.
	var maxPK, maxEHK uint64
	var anyEHK bool
	p := body
	for len(p) > 0 {
		tag, n := binary.Uvarint(p)
		if n <= 0 {
			return dst[:n0], true, fmt.Errorf("%w: bad tag", ErrAggregateMalformed)
		}
		p = p[n:]
		switch tag {
		case tagPartitionKeyTable, tagExplicitHashKeyTbl:
			_, rest, err := lengthDelimited(p)
			if err != nil {
				return dst[:n0], true, err
			}
			p = rest
			if tag == tagPartitionKeyTable {
				nPK++
			} else {
				nEHK++
			}
		case tagRecords:
			v, rest, err := lengthDelimited(p)
			if err != nil {
				return dst[:n0], true, err
			}
			p = rest
			rec, pk, ehk, hasEHK, err := parseUserRecord(v)
			if err != nil {
				return dst[:n0], true, err
			}
			maxPK = max(maxPK, pk)
			if hasEHK {
				anyEHK = true
				maxEHK = max(maxEHK, ehk)
			}
			dst = append(dst, rec)
		default:
			rest, err := skipField(p, tag)
			if err != nil {
				return dst[:n0], true, err
			}
			p = rest
		}
	}
	if len(dst) > n0 && maxPK >= nPK {
		return dst[:n0], true, fmt.Errorf("%w: partition key index %d outside table of %d", ErrAggregateMalformed, maxPK, nPK)
	}
	if anyEHK && maxEHK >= nEHK {
		return dst[:n0], true, fmt.Errorf("%w: explicit hash key index %d outside table of %d", ErrAggregateMalformed, maxEHK, nEHK)
	}
	return dst, true, nil
}

// parseUserRecord decodes one Record message.
func parseUserRecord(p []byte) (data []byte, pk, ehk uint64, hasEHK bool, err error) {
	var hasPK, hasData bool
	for len(p) > 0 {
		tag, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, 0, 0, false, fmt.Errorf("%w: bad tag in record", ErrAggregateMalformed)
		}
		p = p[n:]
		switch tag {
		case tagPartitionKeyIndex, tagExplicitHashKeyIdx:
			v, n := binary.Uvarint(p)
			if n <= 0 {
				return nil, 0, 0, false, fmt.Errorf("%w: bad key index", ErrAggregateMalformed)
			}
			p = p[n:]
			if tag == tagPartitionKeyIndex {
				pk, hasPK = v, true
			} else {
				ehk, hasEHK = v, true
			}
		case tagData:
			v, rest, err := lengthDelimited(p)
			if err != nil {
				return nil, 0, 0, false, err
			}
			data, hasData, p = v, true, rest
		default:
			rest, err := skipField(p, tag)
			if err != nil {
				return nil, 0, 0, false, err
			}
			p = rest
		}
	}
	if !hasPK || !hasData {
		return nil, 0, 0, false, fmt.Errorf("%w: record lacks a required field", ErrAggregateMalformed)
	}
	if data == nil {
		data = []byte{}
	}
	return data, pk, ehk, hasEHK, nil
}

func lengthDelimited(p []byte) (v, rest []byte, err error) {
	l, n := binary.Uvarint(p)
	if n <= 0 || l > uint64(len(p)-n) {
		return nil, nil, fmt.Errorf("%w: bad length", ErrAggregateMalformed)
	}
	end := n + int(l)
	return p[n:end:end], p[end:], nil
}

// skipField skips an unknown field (e.g. Record.tags) by its wire type.
func skipField(p []byte, tag uint64) ([]byte, error) {
	if tag>>3 == 0 {
		return nil, fmt.Errorf("%w: field number 0", ErrAggregateMalformed)
	}
	switch tag & 7 {
	case 0:
		_, n := binary.Uvarint(p)
		if n <= 0 {
			return nil, fmt.Errorf("%w: bad varint", ErrAggregateMalformed)
		}
		return p[n:], nil
	case 1:
		if len(p) < 8 {
			return nil, fmt.Errorf("%w: short fixed64", ErrAggregateMalformed)
		}
		return p[8:], nil
	case 2:
		_, rest, err := lengthDelimited(p)
		return rest, err
	case 5:
		if len(p) < 4 {
			return nil, fmt.Errorf("%w: short fixed32", ErrAggregateMalformed)
		}
		return p[4:], nil
	}
	return nil, fmt.Errorf("%w: unsupported wire type %d", ErrAggregateMalformed, tag&7)
}
