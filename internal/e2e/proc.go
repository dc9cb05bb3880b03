package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Build compiles the siemstream binary into dir and returns its path.
func Build(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "siemstream")
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", Ldflags(ctx, root, "e2e"), "-o", out, "./cmd/siemstream")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, b)
	}
	return out, nil
}

// Ldflags sets the version, commit and build date that `siemstream
// --version` prints (as the Taskfile's build does).
func Ldflags(ctx context.Context, root, version string) string {
	commit := "unknown"
	if b, err := exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--short", "HEAD").Output(); err == nil {
		commit = strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("-X main.version=%s -X main.commit=%s -X main.date=%s", version, commit, time.Now().UTC().Format(time.RFC3339))
}

// Proc is a running siemstream process whose output is kept for the test
// log (and written to a file, so a killed process's log survives).
type Proc struct {
	Name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	buf  bytes.Buffer
	done chan struct{}
	err  error
}

type lockedWriter struct {
	p *Proc
	f *os.File
}

func (w lockedWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	w.p.buf.Write(b)
	w.p.mu.Unlock()
	if w.f != nil {
		w.f.Write(b)
	}
	return len(b), nil
}

// Start runs bin with args and env; logDir (optional) receives <name>.log.
func Start(bin, name, logDir string, env []string, args ...string) (*Proc, error) {
	p := &Proc{Name: name, done: make(chan struct{})}
	var f *os.File
	if logDir != "" {
		var err error
		if f, err = os.Create(filepath.Join(logDir, name+".log")); err != nil {
			return nil, err
		}
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	w := lockedWriter{p: p, f: f}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		if f != nil {
			f.Close()
		}
		close(p.done)
	}()
	return p, nil
}

// Output returns what the process printed so far.
func (p *Proc) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// Stop sends SIGTERM and waits up to timeout for a clean exit; then kills.
func (p *Proc) Stop(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.err
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s after SIGTERM", p.Name, timeout)
	}
}

// Kill sends SIGKILL (a crash) and waits for the process to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for exit (bounded by ctx).
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
