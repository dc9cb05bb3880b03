package schemas

import "unicode"

func isNd(r rune) bool { return unicode.Is(unicode.Nd, r) }
