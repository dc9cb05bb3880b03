package md5x

import (
	"bytes"
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"testing"
)

// ways runs f with a Hasher using the vector code (where the machine has
// it) and with one forced to crypto/md5.
func ways(t *testing.T, f func(t *testing.T, h *Hasher)) {
	t.Run(fmt.Sprintf("vector=%v", haveVector), func(t *testing.T) { f(t, &Hasher{}) })
	if haveVector {
		t.Run("generic", func(t *testing.T) { f(t, &Hasher{generic: true}) })
	}
}

func check(t *testing.T, h *Hasher, msgs [][]byte) {
	t.Helper()
	var dst [Lanes][Size]byte
	for i := range dst {
		dst[i] = [Size]byte{0xde, 0xad} // lanes past len(msgs) stay as they are
	}
	h.Sum16(dst[:len(msgs)], msgs)
	for i, m := range msgs {
		if want := md5.Sum(m); dst[i] != want {
			t.Fatalf("lane %d of %d (%d bytes): got %x, want %x", i, len(msgs), len(m), dst[i], want)
		}
	}
	for i := len(msgs); i < Lanes; i++ {
		if dst[i] != ([Size]byte{0xde, 0xad}) {
			t.Fatalf("lane %d past the %d messages written", i, len(msgs))
		}
	}
}

// text returns n bytes of varied content (seeded by n and salt).
func text(n, salt int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n + salt*13)
	}
	return b
}

func TestSum16(t *testing.T) {
	ways(t, func(t *testing.T, h *Hasher) { // one Hasher for all cases: reuse must not leak state
		lens := []int{0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 400, 100 << 10}
		for _, n := range lens {
			for count := 1; count <= Lanes; count++ {
				msgs := make([][]byte, count)
				for i := range msgs {
					msgs[i] = text(n, i)
				}
				t.Run(fmt.Sprintf("len=%d/count=%d", n, count), func(t *testing.T) { check(t, h, msgs) })
			}
		}
		t.Run("mixed", func(t *testing.T) {
			for count := 1; count <= Lanes; count++ {
				msgs := make([][]byte, count)
				for i := range msgs {
					msgs[i] = text(lens[(i+count)%len(lens)], i)
				}
				check(t, h, msgs)
			}
		})
		t.Run("none", func(t *testing.T) { check(t, h, nil) })
		t.Run("aliased", func(t *testing.T) {
			// the same slice in every lane, and sub-slices of one buffer
			b := text(1000, 3)
			msgs := make([][]byte, Lanes)
			for i := range msgs {
				msgs[i] = b[i*40 : i*40+300+i]
			}
			check(t, h, msgs)
			for i := range msgs {
				msgs[i] = b
			}
			check(t, h, msgs)
		})
	})
}

func TestSum16Panics(t *testing.T) {
	for _, c := range []struct{ msgs, dst int }{{Lanes + 1, Lanes + 1}, {2, 1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%d messages into %d digests: no panic", c.msgs, c.dst)
				}
			}()
			var h Hasher
			h.Sum16(make([][Size]byte, c.dst), make([][]byte, c.msgs))
		}()
	}
}

func TestSum16Random(t *testing.T) {
	ways(t, func(t *testing.T, h *Hasher) {
		r := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			msgs := make([][]byte, r.IntN(Lanes+1))
			for i := range msgs {
				msgs[i] = make([]byte, r.IntN(1500))
				for j := range msgs[i] {
					msgs[i][j] = byte(r.Uint32())
				}
			}
			check(t, h, msgs)
		}
	})
}

// TestStageAlone: the messages much longer than the rest are left to
// crypto/md5 (and those lanes are empty for the vector code).
func TestStageAlone(t *testing.T) {
	lens := func(ns ...int) [][]byte {
		var msgs [][]byte
		for i, n := range ns {
			msgs = append(msgs, text(n, i))
		}
		return msgs
	}
	for _, c := range []struct {
		msgs  [][]byte
		alone uint32
	}{
		{lens(400), 0},
		{lens(0, 100<<10), 0b10},
		{lens(400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 400, 4096), 1 << 15},
		{lens(4096, 400, 700, 1100, 900), 0b1},
		{lens(400, 700, 1000, 1100), 0},
		{lens(100<<10, 100<<10, 100<<10), 0},
	} {
		var h Hasher
		if got := h.stage(c.msgs); got != c.alone {
			t.Errorf("%d messages: alone %b, want %b", len(c.msgs), got, c.alone)
		}
		for i := range Lanes {
			if c.alone&(1<<i) != 0 && h.nblk[i] != 0 {
				t.Errorf("lane %d alone, has %d blocks", i, h.nblk[i])
			}
		}
		check(t, &h, c.msgs)
	}
}

// FuzzSum16 splits the input into up to 16 messages at the given cut
// points and compares every lane with crypto/md5.
func FuzzSum16(f *testing.F) {
	f.Add([]byte("hello"), uint8(1), uint64(0))
	f.Add(bytes.Repeat([]byte("0123456789abcdef"), 40), uint8(16), uint64(0x0123456789abcdef))
	f.Add(make([]byte, 130), uint8(3), uint64(55<<8|56))
	f.Fuzz(func(t *testing.T, data []byte, count uint8, cuts uint64) {
		n := int(count) % (Lanes + 1)
		msgs := make([][]byte, n)
		rest := data
		for i := range msgs {
			k := min(len(rest), int(cuts>>(4*(i%16))&0xf)*13)
			if i == n-1 {
				k = len(rest)
			}
			msgs[i], rest = rest[:k], rest[k:]
		}
		var h Hasher
		check(t, &h, msgs)
	})
}

// BenchmarkSum16 reports ns per message: 16 messages of one size at a
// time with Sum16 against crypto/md5 one by one.
func BenchmarkSum16(b *testing.B) {
	for _, n := range []int{120, 400, 700, -1} {
		msgs := make([][]byte, Lanes)
		name := fmt.Sprint(n)
		if n >= 0 {
			for i := range msgs {
				msgs[i] = text(n, i)
			}
		} else { // ALB-like: 300 to 1,050 bytes, one line 4 KiB
			for i := range msgs {
				msgs[i] = text(300+50*i, i)
			}
			msgs[7] = text(4096, 7)
			name = "mixed"
		}
		size := 0
		for _, m := range msgs {
			size += len(m)
		}
		var dst [Lanes][Size]byte
		b.Run("len="+name+"/way=md5x", func(b *testing.B) {
			var h Hasher
			b.SetBytes(int64(size))
			for b.Loop() {
				h.Sum16(dst[:], msgs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*Lanes), "ns/msg")
		})
		b.Run("len="+name+"/way=crypto", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				for i, m := range msgs {
					dst[i] = md5.Sum(m)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*Lanes), "ns/msg")
		})
	}
}
