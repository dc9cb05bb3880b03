package normalize

import "unicode/utf8"

// isPySpace: whitespace for Python's str.strip().
func isPySpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

func pyStrip(b []byte) []byte {
	for len(b) > 0 {
		r, size := rune(b[0]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b)
		}
		if !isPySpace(r) {
			break
		}
		b = b[size:]
	}
	return pyRStrip(b)
}

func pyRStrip(b []byte) []byte {
	for len(b) > 0 {
		r, size := rune(b[len(b)-1]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeLastRune(b)
		}
		if !isPySpace(r) {
			break
		}
		b = b[:len(b)-size]
	}
	return b
}
