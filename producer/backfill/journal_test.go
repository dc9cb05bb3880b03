package backfill

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalResume(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, "run", true)
	if err != nil {
		t.Fatal(err)
	}
	if j.Prior() != 0 {
		t.Fatalf("prior = %d on a new journal", j.Prior())
	}
	must(t, j.Finish("1", "s3://b/a key"))
	must(t, j.Finish("2", "s3://b/k2"))
	must(t, j.Close())
	finish, errLog := JournalPaths(dir, "run")
	if _, err := os.Stat(errLog); !os.IsNotExist(err) {
		t.Fatalf("error log kept without failures: %v", err)
	}
	// A crash mid-line leaves an unterminated last line: it must not count
	// (its URI may be cut short) and the next line must start clean.
	appendFile(t, finish, "3\ts3://b/k3-cut")

	j, err = OpenJournal(dir, "run", true)
	if err != nil {
		t.Fatal(err)
	}
	if j.Prior() != 2 || !j.Done("s3://b/a key") || !j.Done("s3://b/k2") || j.Done("s3://b/k3-cut") {
		t.Fatalf("prior = %d, done a=%v k2=%v cut=%v", j.Prior(), j.Done("s3://b/a key"), j.Done("s3://b/k2"), j.Done("s3://b/k3-cut"))
	}
	must(t, j.Finish("3", "s3://b/k3"))
	must(t, j.Fail("4", "s3://b/k4", "boom\twith\ttabs\nand lines"))
	must(t, j.Close())

	b, _ := os.ReadFile(finish)
	want := "1\ts3://b/a key\n2\ts3://b/k2\n3\ts3://b/k3-cut\n3\ts3://b/k3\n"
	if string(b) != want {
		t.Errorf("finish log = %q, want %q", b, want)
	}
	e, _ := os.ReadFile(errLog)
	fields := strings.Split(strings.TrimSuffix(string(e), "\n"), "\t")
	if len(fields) != 4 || fields[1] != "4" || fields[2] != "s3://b/k4" || fields[3] != "boom with tabs and lines" {
		t.Errorf("error log = %q", e)
	}
	// The error log is a list file: it names the failed object again.
	entries, _, err := ReadList(strings.NewReader(string(e)), ListOptions{})
	if err != nil || len(entries) != 1 || entries[0].URI() != "s3://b/k4" {
		t.Errorf("error log as list: %+v %v", entries, err)
	}

	// Without resume, earlier objects are not done (redrive).
	j, err = OpenJournal(dir, "run", false)
	if err != nil {
		t.Fatal(err)
	}
	if j.Prior() != 0 || j.Done("s3://b/k2") {
		t.Errorf("non-resuming journal reports done objects")
	}
	// The error log is for this run only.
	must(t, j.Close())
	if _, err := os.Stat(errLog); !os.IsNotExist(err) {
		t.Errorf("old error log survives a run without failures")
	}
	done, err := ReadFinished(finish)
	if err != nil || len(done) != 4 {
		t.Errorf("ReadFinished = %d, %v", len(done), err)
	}
	if done, err := ReadFinished(filepath.Join(dir, "missing.finish.log")); err != nil || len(done) != 0 {
		t.Errorf("ReadFinished(missing) = %v, %v", done, err)
	}
}

func TestJournalLocked(t *testing.T) {
	dir := t.TempDir()
	j, err := OpenJournal(dir, "run", true)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := OpenJournal(dir, "run", true); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("second journal with the same name: err = %v, want locked", err)
	}
	other, err := OpenJournal(dir, "other", true)
	if err != nil {
		t.Fatalf("another name: %v", err)
	}
	other.Close()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}
