package stages

import (
	"slices"
	"testing"
)

func TestListElems(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`"a"`, []string{"a"}},
		{`"10.0.0.1","::1"`, []string{"10.0.0.1", "::1"}},
		{`"a",""`, []string{"a", ""}},
		{`"","b"`, []string{"", "b"}},
		{``, nil},
	} {
		var got []string
		ListElems([]byte(c.in), func(v []byte) { got = append(got, string(v)) })
		if !slices.Equal(got, c.want) {
			t.Errorf("ListElems(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestMarksShift(t *testing.T) {
	m := PlanMarks{Names: &MarkNames{Paths: []string{"source", "source.ip", "destination"}}}
	m.Spans[0] = MarkSpan{Kind: MarkObject, Off: 40}
	m.Spans[1] = MarkSpan{Kind: MarkString, Off: 20, End: 28}
	m.Spans[2] = MarkSpan{Kind: MarkObject, Off: 90}
	// two insertions, applied from the end: 10 bytes at 90, 5 at 40
	m.Shift(90, 10)
	m.Shift(40, 5)
	want := [3]MarkSpan{{MarkObject, 45, 5}, {MarkString, 20, 28}, {MarkObject, 105, 15}}
	if got := [3]MarkSpan(m.Spans[:3]); got != want {
		t.Errorf("spans %v, want %v", got, want)
	}
	if m.Names.Index("destination") != 2 || m.Names.Index("x") != -1 {
		t.Error("Index")
	}
}
