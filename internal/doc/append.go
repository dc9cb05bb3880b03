package doc

import (
	"unsafe"

	"github.com/siemstream/siemstream/internal/pyjson"
)

// The one JSON writer of the hot path. Encode (the tree's writer) and every
// writer that produces a document without a tree (normalize's output plans,
// geoip's and ioc's splices into a planned document) append strings, keys
// and members through these functions and drop members by Removable, so
// their output is byte for byte what Encode writes for the same tree.
//
// Contract, which is es-loader's (Python json.dumps(ensure_ascii=False,
// separators=(",", ":")) after del_none):
//   - a string is written between quotes as is when pyjson.PlainLen says it
//     needs no escaping, otherwise escaped as Python escapes it (invalid
//     UTF-8 bytes dropped, see pyjson.AppendQuoted);
//   - a key is a string followed by ':';
//   - del_none drops a member whose value is null or one of the strings "",
//     "-", "null", "[]" (Removable), an empty array or [""], and an object
//     left empty after that; the appenders of members apply the string
//     rule, the callers the others (they know their values' shapes).
//
// Truncation (Encode's rule for long strings) is not applied here: a
// writer that may meet a string of TruncateFieldBytes or more leaves the
// document to Encode.

// AppendQuoted appends s as a JSON string literal. plain says s is known to
// need no escaping (then it is copied without a scan).
func AppendQuoted(dst, s []byte, plain bool) []byte {
	if plain || pyjson.PlainLen(s) == len(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	return pyjson.AppendQuoted(dst, s)
}

// AppendQuotedAny is AppendQuoted(dst, s, false) in one pass: for a
// string that is likely to need escaping (or whose scan would cost as much
// as the copy), pyjson.AppendQuoted writes a plain string as is anyway.
func AppendQuotedAny(dst, s []byte) []byte { return pyjson.AppendQuoted(dst, s) }

// AppendQuotedText is AppendQuoted of a string (not copied), scanned.
func AppendQuotedText(dst []byte, s string) []byte {
	return AppendQuoted(dst, unsafe.Slice(unsafe.StringData(s), len(s)), false)
}

// AppendKey appends `"key":`; plain as for AppendQuoted.
func AppendKey(dst, key []byte, plain bool) []byte {
	return append(AppendQuoted(dst, key, plain), ':')
}

// Removable reports whether del_none drops a member whose value is the
// string v.
func Removable(v []byte) bool {
	if len(v) > 4 {
		return false
	}
	switch string(v) {
	case "", "-", "null", "[]":
		return true
	}
	return false
}

// RemovableText is Removable of a string.
func RemovableText(v string) bool {
	return Removable(unsafe.Slice(unsafe.StringData(v), len(v)))
}

// AppendStringMember appends the member key:"v" to an object being written
// whose members start at body (dst[body:] is empty before the first
// member, which then gets no comma), unless del_none drops it. key is
// `"name":`, already written as AppendKey writes it.
func AppendStringMember(dst []byte, body int, key, v string) []byte {
	if RemovableText(v) {
		return dst
	}
	if len(dst) > body {
		dst = append(dst, ',')
	}
	dst = append(dst, key...)
	return AppendQuotedText(dst, v)
}
