package pyjson

import (
	"strings"
	"testing"
)

// Nesting past maxDepth is a clean error, however deep the input.
func TestDepthLimit(t *testing.T) {
	for _, n := range []int{maxDepth + 2, 10_000, 500_000} {
		in := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		if _, err := Append(nil, in); err == nil || !strings.Contains(err.Error(), "nesting too deep") {
			t.Fatalf("%d deep: %v", n, err)
		}
		if Valid(in) {
			t.Fatalf("%d deep: valid", n)
		}
	}
	ok := []byte(strings.Repeat("[", maxDepth-10) + strings.Repeat("]", maxDepth-10))
	if _, err := Append(nil, ok); err != nil {
		t.Fatal(err)
	}
}
