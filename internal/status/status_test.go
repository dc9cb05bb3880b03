package status

import "testing"

func TestStatus(t *testing.T) {
	for s, want := range map[Status]string{Kept: "kept", Excluded: "excluded", Failed: "failed", Delivered: "delivered",
		Retried: "retried", Rejected: "rejected", 99: "status(99)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", s, got, want)
		}
	}
	var zero Status
	if zero != Kept || zero.Final() || Retried.Final() || !Delivered.Final() || !Rejected.Final() {
		t.Fatal("zero value or Final wrong")
	}
}
