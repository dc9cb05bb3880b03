package normalize

import (
	"slices"
	"unicode/utf8"

	"github.com/siemstream/siemstream/internal/md5x"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// idPre holds the md5 of @message (the _id) of a window's planned records,
// computed before the per-event loop md5x.Lanes at a time: MD5 is serial
// within a message, so crypto/md5 cannot go faster per record, but md5x
// hashes 16 records at once (issue 16). Only records whose @message is a
// sub-slice of the record take part (text and CSV types, valid UTF-8): it
// costs no copy, and runPlan then neither builds @message nor hashes it.
// Reused across windows (scratch); msg aliases the batch's records, so
// Process clears it.
type idPre struct {
	h   md5x.Hasher
	at  []int32           // by event of the window: its index in msg and sum, or -1
	msg [][]byte          // the records' @message
	sum [][md5x.Size]byte // md5(msg[i])
	cur int32             // the entry of the event runPlan is on (-1: none)
}

// hashIDs fills sc.pre for the window b.
func (s *Stage) hashIDs(sc *scratch, b *stages.Batch) {
	p := &sc.pre
	p.cur = -1
	p.at, p.msg = p.at[:0], p.msg[:0]
	if s.slowID || b.Arena == nil {
		return
	}
	p.at = slices.Grow(p.at, len(b.Events))[:len(b.Events)]
	for i := range b.Events {
		p.at[i] = -1
		e := &b.Events[i]
		// the events Process hands runPlan
		if e.Status != stages.Keep || e.Doc == nil && e.Flat == nil || !planInput(e) {
			continue
		}
		if e.Src != sc.si.src {
			s.loadSource(sc, e.Src)
		}
		if !sc.si.plan {
			continue
		}
		if m, ok := rawMessage(sc.si.lt, e.Raw); ok {
			p.at[i] = int32(len(p.msg))
			p.msg = append(p.msg, m)
		}
	}
	n := len(p.msg)
	if cap(p.sum) < n {
		p.sum = make([][md5x.Size]byte, n, max(n, 64))
	}
	p.sum = p.sum[:n]
	for k := 0; k < n; k += md5x.Lanes {
		j := min(k+md5x.Lanes, n)
		p.h.Sum16(p.sum[k:j], p.msg[k:j])
	}
}

// use sets p.cur to event i's entry.
func (p *idPre) use(i int) {
	p.cur = -1
	if i < len(p.at) {
		p.cur = p.at[i]
	}
}

// rawMessage is message for a record without a wrapper (viaMeta
// noEnvelope) when that is a sub-slice of raw: the stripped record of a
// text or CSV type, valid UTF-8; false otherwise.
func rawMessage(lt *schemas.LogType, raw []byte) ([]byte, bool) {
	switch lt.FileFormat {
	case schemas.FormatText, schemas.FormatCSV:
	default:
		return nil, false
	}
	if !utf8.Valid(raw) {
		return nil, false
	}
	return pyStrip(raw), true
}
