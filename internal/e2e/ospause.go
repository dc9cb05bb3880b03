package e2e

// Pausing the local OpenSearch (the fault tests).

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ---- OpenSearch pause ----

// PauseOpenSearch stops the local OpenSearch node with SIGSTOP (a frozen
// node looks unreachable to clients: connections hang). It also starts a
// detached watchdog that sends SIGCONT after maxPause even if the test
// binary dies, so the shared stack is never left frozen. Call resume
// (idempotent) to continue it.
func PauseOpenSearch(root string, maxPause time.Duration) (resume func() error, err error) {
	pidDir := os.Getenv("SIEM_PIDS_DIR")
	if pidDir == "" {
		pidDir = filepath.Join(root, ".local", "pids")
	}
	b, err := os.ReadFile(filepath.Join(pidDir, "opensearch.pid"))
	if err != nil {
		return nil, fmt.Errorf("opensearch pid: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return nil, fmt.Errorf("opensearch pid %q: not a pid", b)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("org.opensearch.bootstrap.OpenSearch")) {
		return nil, fmt.Errorf("pid %d is not the OpenSearch node", pid)
	}
	// The watchdog is its own session so a killed test binary does not
	// take it down with it.
	wd := exec.Command("/bin/sh", "-c", fmt.Sprintf("sleep %d; kill -CONT %d", int(maxPause.Seconds())+1, pid))
	wd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := wd.Start(); err != nil {
		return nil, fmt.Errorf("start SIGCONT watchdog: %w", err)
	}
	go func() { _ = wd.Wait() }()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		_ = wd.Process.Kill()
		return nil, fmt.Errorf("SIGSTOP opensearch %d: %w", pid, err)
	}
	var once sync.Once
	var resumeErr error
	return func() error {
		once.Do(func() {
			resumeErr = syscall.Kill(pid, syscall.SIGCONT)
			_ = wd.Process.Kill()
		})
		return resumeErr
	}, nil
}
