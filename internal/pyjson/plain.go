package pyjson

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// badMask flags (high bit) the bytes of x that a JSON string literal cannot
// hold as is: >= 0x7f (DEL, non-ASCII), < 0x20, '"' and '\\'. Per byte:
// b+1 reaches 0x80 from 0x7f up, b-0x20 wraps below 0x20, (b^c)-1 wraps
// when b == c, and bytes >= 0x80 carry their own high bit. Carries and
// borrows start only at flagged bytes and move up, so the lowest flag is
// exact (bytes above it may be flagged falsely).
func badMask(x uint64) uint64 {
	return ((x + lsb) | x | (x - 0x20*lsb) | ((x ^ ('"' * lsb)) - lsb) | ((x ^ ('\\' * lsb)) - lsb)) & msb
}

// PlainLen returns the length of the longest prefix of s that a JSON string
// literal holds as is (no '"', '\\', control characters, DEL or non-ASCII),
// checking eight bytes at a time (a short tail with overlapping loads).
func PlainLen(s []byte) int {
	n := len(s)
	i := 0
	for ; i+8 <= n; i += 8 {
		if m := badMask(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	switch {
	case i == n:
		return n
	case n >= 8:
		// the last eight bytes; those before i are plain, so they neither
		// flag nor borrow
		m := badMask(binary.LittleEndian.Uint64(s[n-8:])) >> (8 * uint(i-(n-8)))
		if m == 0 {
			return n
		}
		return i + bits.TrailingZeros64(m)/8
	case n >= 4:
		x := uint64(binary.LittleEndian.Uint32(s)) | uint64(binary.LittleEndian.Uint32(s[n-4:]))<<32
		if badMask(x) == 0 {
			return n
		}
	}
	for ; i < n; i++ {
		if !plain[s[i]] {
			return i
		}
	}
	return n
}

// copyPlain appends the longest plain prefix of s[i:] (see PlainLen) to dst
// and returns the index of the first byte that is not plain. It moves eight
// bytes at a time and stores each word before checking it: the bytes past
// the plain prefix land in dst's spare capacity and are cut off by the
// returned length. Short runs (keys, values between quotes) then cost no
// memmove call and no second pass.
func copyPlain(dst, s []byte, i int) ([]byte, int) {
	p := len(dst)
	buf := dst[:cap(dst)]
	for i+8 <= len(s) {
		if len(buf)-p < 8 {
			buf = slices.Grow(buf[:p], len(s)-i)
			buf = buf[:cap(buf)]
		}
		w := binary.LittleEndian.Uint64(s[i:])
		binary.LittleEndian.PutUint64(buf[p:], w)
		if m := badMask(w); m != 0 {
			k := bits.TrailingZeros64(m) >> 3
			return buf[:p+k], i + k
		}
		p += 8
		i += 8
	}
	j := i + PlainLen(s[i:]) // the tail of fewer than eight bytes
	return append(buf[:p], s[i:j]...), j
}

// AppendPlainRun appends the longest plain prefix of s[i:] (see PlainLen)
// to dst and returns the index of the first byte that is not plain (len(s)
// if none). Parsers use it to copy a string literal's contents: when that
// byte is the closing '"', the literal had no escapes and its text is plain.
// dst may receive up to eight bytes past the returned length in its spare
// capacity.
func AppendPlainRun(dst, s []byte, i int) ([]byte, int) { return copyPlain(dst, s, i) }

// copyPlainSlow is copyPlain one byte at a time: the slow path (state.slow)
// the differential tests compare the word loop with.
func copyPlainSlow(dst, s []byte, i int) ([]byte, int) {
	j := i
	for j < len(s) && plain[s[j]] {
		j++
	}
	return append(dst, s[i:j]...), j
}
