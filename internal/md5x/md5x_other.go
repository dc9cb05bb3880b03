//go:build !amd64 || purego

package md5x

// haveVector: no vector code for this architecture (or purego).
const haveVector = false

func (h *Hasher) blocks() { panic("md5x: no vector code") }
