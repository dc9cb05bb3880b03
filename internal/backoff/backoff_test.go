package backoff

import (
	"context"
	"testing"
	"time"
)

func TestExp(t *testing.T) {
	for _, tc := range []struct {
		attempt   int
		base, max time.Duration
		lo, hi    time.Duration
	}{
		{0, 100 * time.Millisecond, time.Second, 50 * time.Millisecond, 100 * time.Millisecond},
		{3, 100 * time.Millisecond, time.Second, 400 * time.Millisecond, 800 * time.Millisecond},
		{10, 100 * time.Millisecond, time.Second, 500 * time.Millisecond, time.Second},
		{1000, time.Second, 30 * time.Second, 15 * time.Second, 30 * time.Second}, // no overflow
		{0, 0, 0, 0, 0},
	} {
		for range 50 {
			if d := Exp(tc.attempt, tc.base, tc.max); d < tc.lo || d > tc.hi {
				t.Fatalf("Exp(%d, %s, %s) = %s, want in [%s, %s]", tc.attempt, tc.base, tc.max, d, tc.lo, tc.hi)
			}
		}
	}
}

func TestSleep(t *testing.T) {
	if !Sleep(context.Background(), time.Millisecond) || !Sleep(context.Background(), 0) {
		t.Fatal("Sleep without cancellation returned false")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Sleep(ctx, time.Hour) || Sleep(ctx, 0) {
		t.Fatal("Sleep on a done context returned true")
	}
}
