package doc

import "bytes"

// Support for stages that edit a document normalize's output plan already
// wrote as JSON (Event.Out) instead of a Doc: they find members in it and
// splice in what they would have added to the tree.

// FindMembers finds keys among the members of the JSON object obj (compact,
// as encode writes it) and stores each found value's span as
// spans[i] = {start, end} (obj[start:end] is the value, quotes included);
// spans[i] = {0, 0} for a key that is not there. Keys are compared with the
// member names as written, so a key must be one encode writes unescaped. It
// reports false when obj is not an object it can read.
func FindMembers(obj []byte, keys []string, spans [][2]int) bool {
	clear(spans)
	if len(obj) < 2 || obj[0] != '{' {
		return false
	}
	i := 1
	for i < len(obj) && obj[i] != '}' {
		if obj[i] == ',' {
			i++
		}
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		kend := stringEnd(obj, i)
		if kend < 0 || kend+1 >= len(obj) || obj[kend+1] != ':' {
			return false
		}
		key := obj[i+1 : kend]
		vs := kend + 2
		ve := valueEnd(obj, vs)
		if ve < 0 {
			return false
		}
		for k, want := range keys {
			if string(key) == want {
				spans[k] = [2]int{vs, ve}
			}
		}
		i = ve
	}
	return i < len(obj)
}

// stringEnd returns the index of the closing quote of the JSON string that
// starts at b[i] (a quote), or -1.
func stringEnd(b []byte, i int) int {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return -1
		}
		j += q
		n := 0 // backslashes right before the quote
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j
		}
		j++
	}
}

// valueEnd returns the index just after the JSON value starting at b[i], or
// -1.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		e := stringEnd(b, i)
		if e < 0 {
			return -1
		}
		return e + 1
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e := stringEnd(b, j)
				if e < 0 {
					return -1
				}
				j = e
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	for j := i; j < len(b); j++ {
		if b[j] == ',' || b[j] == '}' || b[j] == ']' {
			if j == i {
				return -1 // no value
			}
			return j
		}
	}
	return -1
}

// FindPath is FindMembers along segs: the span of the value at the dotted
// path (every segment but the last naming an object) in the JSON object
// obj; ok is false when the path is not there.
func FindPath(obj []byte, segs []string) (start, end int, ok bool) {
	start, end = 0, len(obj)
	var sp [1][2]int
	for _, s := range segs {
		if end-start < 2 || obj[start] != '{' {
			return 0, 0, false
		}
		key := [1]string{s}
		if !FindMembers(obj[start:end], key[:], sp[:]) || sp[0][1] == 0 {
			return 0, 0, false
		}
		start, end = start+sp[0][0], start+sp[0][1]
	}
	return start, end, true
}
