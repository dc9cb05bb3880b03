package normalize

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"

	"github.com/siemstream/siemstream/internal/doc"
	"github.com/siemstream/siemstream/schemas"
	"github.com/siemstream/siemstream/stages"
)

// docID is es-loader's _id before the transform and the suffix, also set as
// @id: the md5 of @message, the S3 key and the additional id for a record
// indexed un-normalised; the doc_id field when the type names one; else the
// md5 of @message and the additional id.
func (sc *scratch) docID(lt *schemas.LogType, e *stages.Event, additional string, skip bool) (string, error) {
	d := e.Doc
	root := d.Root()
	var id string
	switch {
	case skip:
		sc.buf = append(append(sc.buf[:0], sc.msg...), e.Src.Key...)
		if additional == "" {
			sc.buf = append(sc.buf, "None"...)
		} else {
			sc.buf = append(sc.buf, additional...)
		}
		id = md5hex(sc.buf)
		if d.Meta.ErrorMessage != "" {
			errObj := d.SetObject(root, "error")
			d.SetString(errObj, "message", d.Meta.ErrorMessage)
		}
		d.SetString(root, "@id", id)
	case lt.DocID != "":
		n := d.Child(root, lt.DocID)
		if n == doc.Nil {
			return "", fmt.Errorf("normalize %s: %w: field %q is missing", lt.Name, ErrDocID, lt.DocID)
		}
		switch d.Kind(n) {
		case doc.String, doc.Number, doc.True, doc.False:
		default:
			return "", fmt.Errorf("normalize %s: %w: field %q is %s", lt.Name, ErrDocID, lt.DocID, d.Kind(n))
		}
		sc.buf = d.AppendPyStr(sc.buf[:0], n)
		if len(sc.buf) == 0 {
			return "", fmt.Errorf("normalize %s: %w: field %q is empty", lt.Name, ErrDocID, lt.DocID)
		}
		id = string(sc.buf)
		d.SetCopy(root, "@id", n)
	default:
		if additional != "" {
			sc.buf = append(append(sc.buf[:0], sc.msg...), additional...)
			id = md5hex(sc.buf)
		} else {
			id = md5hex(sc.msg)
		}
		d.SetString(root, "@id", id)
	}
	return id, nil
}

func md5hex(b []byte) string {
	sum := md5.Sum(b)
	var out [32]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}

// idChunks holds _id texts (md5hex) in chunks that are allocated and never
// reused, so that Event.ID views its bytes as a string: a string stays
// valid for as long as anything holds it (it keeps its chunk alive), and
// the plan path makes one allocation per idChunk/32 records instead of one
// per record.
type idChunks struct{ b []byte }

// idChunk: 128 ids.
const idChunk = 4096

// md5hex appends the md5hex of b to the current chunk and returns it (its
// bytes are never written again).
func (c *idChunks) md5hex(b []byte) []byte {
	sum := md5.Sum(b)
	return c.hex(&sum)
}

// hex appends the hex of the md5 sum to the current chunk and returns it.
func (c *idChunks) hex(sum *[md5.Size]byte) []byte {
	const n = 2 * md5.Size
	if cap(c.b)-len(c.b) < n {
		c.b = make([]byte, 0, idChunk)
	}
	k := len(c.b)
	c.b = hex.AppendEncode(c.b, sum[:])
	return c.b[k:len(c.b):len(c.b)]
}
