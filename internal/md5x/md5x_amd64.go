//go:build amd64 && !purego

package md5x

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

// haveVector: the AVX-512F code may run (the CPU has it and the OS saves
// the registers, which cpu checks).
var haveVector = cpu.X86.HasAVX512F

// blocks runs the vector code over the staged lanes.
func (h *Hasher) blocks() {
	maxBlk := uint32(0)
	for _, n := range h.nblk {
		maxBlk = max(maxBlk, n)
	}
	blocks16(&h.buf[0], &h.offs, &h.nblk, int(maxBlk), &h.dig)
}

// blocks16 hashes each lane's nblk[lane] blocks at buf[offs[lane]:] (a lane
// with 0 blocks is skipped) and stores the lane's final state in
// dig[0..3][lane]; maxBlk is the largest nblk, at least 1.
//
//go:noescape
func blocks16(buf *byte, offs, nblk *[Lanes]uint32, maxBlk int, dig *[4][Lanes]uint32)
