package pyjson

import "encoding/binary"

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

func hasZeroByte(v uint64) uint64 { return (v - lsb) &^ v & msb }

// PlainLen returns the length of the longest prefix of s that a JSON string
// literal holds as is (no '"', '\\', control characters, DEL or non-ASCII),
// checking eight bytes at a time.
func PlainLen(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		// any byte >= 0x80, < 0x20, '"', '\\' or DEL stops the fast path
		if (x&msb)|
			((x-0x20*lsb)&^x&msb)|
			hasZeroByte(x^('"'*lsb))|
			hasZeroByte(x^('\\'*lsb))|
			hasZeroByte(x^(0x7f*lsb)) != 0 {
			break
		}
	}
	for ; i < len(s); i++ {
		if !plain[s[i]] {
			return i
		}
	}
	return i
}
