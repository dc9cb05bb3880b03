package backfill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Journal is a run's finish and error logs.
//
// The finish log is appended to (one line per loaded object, written when
// the object is done, so a killed run loses nothing it finished) and read
// back on the next run with the same name to skip what is done. The error
// log describes the current run only: it is truncated when the journal
// opens and removed on Close when nothing failed. An advisory lock on the
// finish log stops two runs with the same name.
type Journal struct {
	mu         sync.Mutex
	finish     *os.File
	errs       *os.File
	finishPath string
	errorPath  string
	done       map[string]struct{}
	finished   int
	failed     int
	closed     bool
}

// JournalPaths returns the finish and error log paths for name in dir.
func JournalPaths(dir, name string) (finish, errorLog string) {
	base := filepath.Join(dir, name)
	return base + ".finish.log", base + ".error.log"
}

// OpenJournal opens (creating) name's logs in dir. With resume, objects
// already in the finish log are reported done by Done.
func OpenJournal(dir, name string, resume bool) (*Journal, error) {
	j := &Journal{done: map[string]struct{}{}}
	j.finishPath, j.errorPath = JournalPaths(dir, name)
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
	}
	f, err := os.OpenFile(j.finishPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open finish log: %w", err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("finish log %s is locked by another run with the same name (%w)", j.finishPath, err)
	}
	terminated, err := readFinished(f, func(uri string) {
		if resume {
			j.done[uri] = struct{}{}
		}
	})
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("read finish log %s: %w", j.finishPath, err)
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, fmt.Errorf("finish log: %w", err)
	}
	if !terminated {
		// The last run died mid-line: end that line so ours start clean.
		if _, err := f.Write([]byte{'\n'}); err != nil {
			f.Close()
			return nil, fmt.Errorf("finish log: %w", err)
		}
	}
	j.finish = f
	if j.errs, err = os.Create(j.errorPath); err != nil {
		f.Close()
		return nil, fmt.Errorf("open error log: %w", err)
	}
	return j, nil
}

// ReadFinished returns the objects a finish log lists (for a dry run, which
// writes nothing). A missing file lists nothing.
func ReadFinished(path string) (map[string]struct{}, error) {
	done := map[string]struct{}{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return done, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := readFinished(f, func(uri string) { done[uri] = struct{}{} }); err != nil {
		return nil, fmt.Errorf("read finish log %s: %w", path, err)
	}
	return done, nil
}

// readFinished calls add for each complete finish-log line. A last line
// without its newline is ignored (a crash while writing it): its URI may be
// cut short and name another object. terminated is false in that case.
func readFinished(r io.Reader, add func(uri string)) (terminated bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			return line == "", nil
		}
		if err != nil {
			return false, err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if _, uri, ok := strings.Cut(line, "\t"); ok && strings.HasPrefix(uri, "s3://") {
			add(uri)
		}
	}
}

// Paths returns the finish and error log paths.
func (j *Journal) Paths() (finish, errorLog string) { return j.finishPath, j.errorPath }

// Prior is how many objects the finish log held when the journal opened
// (with resume).
func (j *Journal) Prior() int { return len(j.done) }

// Done says whether uri was finished by an earlier run.
func (j *Journal) Done(uri string) bool {
	_, ok := j.done[uri]
	return ok
}

// Finish records a loaded object: "line<TAB>uri".
func (j *Journal) Finish(line, uri string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("journal closed")
	}
	j.finished++
	if _, err := j.finish.WriteString(line + "\t" + uri + "\n"); err != nil {
		return fmt.Errorf("write finish log: %w", err)
	}
	return nil
}

// Fail records a failure: "time<TAB>line<TAB>uri<TAB>reason". uri is "-"
// when no object is known (a message that is not a notification).
func (j *Journal) Fail(line, uri, reason string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return errors.New("journal closed")
	}
	j.failed++
	var b bytes.Buffer
	b.WriteString(time.Now().UTC().Format(time.RFC3339Nano))
	b.WriteByte('\t')
	b.WriteString(line)
	b.WriteByte('\t')
	b.WriteString(uri)
	b.WriteByte('\t')
	b.WriteString(oneLine(reason))
	b.WriteByte('\n')
	if _, err := j.errs.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write error log: %w", err)
	}
	return nil
}

// Counts returns how many objects this run finished and failed.
func (j *Journal) Counts() (finished, failed int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.finished, j.failed
}

// Close closes the logs and removes the error log when nothing failed.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	err := errors.Join(j.finish.Close(), j.errs.Close())
	if j.failed == 0 {
		if rerr := os.Remove(j.errorPath); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

// oneLine keeps a reason on one log line and in one column.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return ' '
		}
		return r
	}, s)
}
