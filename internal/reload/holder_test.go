package reload

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

type fakeSource struct {
	ver     string
	verErr  error
	val     string
	loadErr error
	loads   int
}

func (f *fakeSource) Version(context.Context) (string, error) { return f.ver, f.verErr }
func (f *fakeSource) Load(context.Context) (*string, error) {
	f.loads++
	if f.loadErr != nil {
		return nil, f.loadErr
	}
	v := f.val
	return &v, nil
}

// signalSource closes loaded on its first Load.
type signalSource struct {
	fakeSource
	loaded chan struct{}
	once   sync.Once
}

func (s *signalSource) Load(ctx context.Context) (*string, error) {
	defer s.once.Do(func() { close(s.loaded) })
	return s.fakeSource.Load(ctx)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestHolderCheck(t *testing.T) {
	ctx := context.Background()
	src := &fakeSource{ver: "v1", val: "one"}
	h := New[string]("test", src, time.Minute, quiet())
	if h.Load() != nil {
		t.Fatal("value before first load")
	}
	steps := []struct {
		name    string
		ver     string
		val     string
		loadErr error
		verErr  error
		changed bool
		wantErr bool
		want    string
		loads   int
	}{
		{name: "first load", ver: "v1", val: "one", changed: true, want: "one", loads: 1},
		{name: "unchanged version is not reloaded", ver: "v1", val: "one", want: "one", loads: 1},
		{name: "new version swaps", ver: "v2", val: "two", changed: true, want: "two", loads: 2},
		{name: "corrupt candidate refused, previous stays", ver: "v3", loadErr: errors.New("corrupt"), wantErr: true, want: "two", loads: 3},
		{name: "same broken version not retried", ver: "v3", loadErr: errors.New("corrupt"), want: "two", loads: 3},
		{name: "version error keeps value", ver: "v4", verErr: errors.New("s3 down"), wantErr: true, want: "two", loads: 3},
		{name: "empty source keeps value", ver: "v5", verErr: ErrEmpty, want: "two", loads: 3},
		{name: "fixed version loads", ver: "v6", val: "six", changed: true, want: "six", loads: 4},
		{name: "loader says empty", ver: "v7", loadErr: ErrEmpty, want: "six", loads: 5},
	}
	for _, s := range steps {
		src.ver, src.val, src.loadErr, src.verErr = s.ver, s.val, s.loadErr, s.verErr
		changed, err := h.Check(ctx)
		if changed != s.changed || (err != nil) != s.wantErr {
			t.Fatalf("%s: changed=%v err=%v", s.name, changed, err)
		}
		if got := h.Load(); got == nil || *got != s.want {
			t.Fatalf("%s: value %v, want %q", s.name, got, s.want)
		}
		if src.loads != s.loads {
			t.Fatalf("%s: loads=%d want %d", s.name, src.loads, s.loads)
		}
	}
	st := h.Status()
	if st.Version != "v6" || st.Loads != 3 || st.Failures != 2 {
		t.Fatalf("status %+v", st)
	}
}

// Readers never block while a slow candidate loads.
func TestHolderLockFreeReads(t *testing.T) {
	release := make(chan struct{})
	loading := make(chan struct{})
	var once sync.Once
	n := 0
	h := New[int]("slow", Funcs[int]{
		VersionFunc: func(context.Context) (string, error) { n++; return string(rune('a' + n)), nil },
		LoadFunc: func(context.Context) (*int, error) {
			v := n
			if n > 1 {
				once.Do(func() { close(loading) })
				<-release
			}
			return &v, nil
		},
	}, time.Minute, quiet())
	if _, err := h.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _, _ = h.Check(context.Background()); close(done) }()
	<-loading
	for range 1000 {
		if v := h.Load(); v == nil || *v != 1 {
			t.Fatalf("reader saw %v during reload", v)
		}
	}
	close(release)
	<-done
	if v := h.Load(); *v != 2 {
		t.Fatalf("after reload %d", *v)
	}
}

func TestHolderRunStopsOnCancel(t *testing.T) {
	loaded := make(chan struct{})
	src := &signalSource{fakeSource: fakeSource{ver: "v1", val: "x"}, loaded: loaded}
	h := New[string]("run", src, time.Hour, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- h.Run(ctx) }()
	<-loaded // Run's first check is under way
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if h.Load() == nil {
		t.Fatal("Run returned before its first check completed")
	}
}

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	write := func(rel, s string) {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("IOC/TXT/p1/a.txt", "1.2.3.4\n")
	write("IOC/TXT/b.txt", "5.6.7.8\n")
	write("IOC/STIX2/p2/x.json", "{}")
	write("GeoLite2/GeoLite2-City.mmdb", "zz")
	d := Dir(root)
	got, err := d.List(ctx, "IOC/TXT/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Key != "IOC/TXT/b.txt" || got[1].Key != "IOC/TXT/p1/a.txt" || got[1].Size != 8 {
		t.Fatalf("list %+v", got)
	}
	if l, err := d.List(ctx, "nothing/"); err != nil || len(l) != 0 {
		t.Fatalf("empty prefix: %v %v", l, err)
	}
	if _, err := d.Stat(ctx, "GeoLite2/missing.mmdb"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("stat missing: %v", err)
	}
	if _, err := d.Stat(ctx, "../etc/passwd"); err == nil {
		t.Fatal("escaping key accepted")
	}
	b, err := d.ReadAll(ctx, "IOC/TXT/p1/a.txt", 0)
	if err != nil || string(b) != "1.2.3.4\n" {
		t.Fatalf("read %q %v", b, err)
	}
	if _, err := d.ReadAll(ctx, "IOC/TXT/p1/a.txt", 3); err == nil {
		t.Fatal("limit not enforced")
	}
	st, _ := d.Stat(ctx, "IOC/TXT/b.txt")
	f1 := Fingerprint(st)
	write("IOC/TXT/b.txt", "5.6.7.8\n9.9.9.9\n")
	st2, _ := d.Stat(ctx, "IOC/TXT/b.txt")
	if Fingerprint(st2) == f1 {
		t.Fatal("fingerprint did not change with size")
	}
}

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		in      string
		bucket  string
		prefix  string
		wantErr bool
	}{
		{in: "s3://bkt/GeoLite2/", bucket: "bkt", prefix: "GeoLite2/"},
		{in: "s3://bkt", bucket: "bkt"},
		{in: "/var/lib/siem/", prefix: "/var/lib/siem"},
		{in: "s3:///x", wantErr: true},
		{in: "https://x/y", wantErr: true},
		{in: "", wantErr: true},
	} {
		l, err := ParseLocation(c.in)
		if (err != nil) != c.wantErr || l.Bucket != c.bucket || l.Prefix != c.prefix {
			t.Errorf("%q: %+v %v", c.in, l, err)
		}
	}
	if _, err := OpenDir("s3://b/p", nil); err == nil {
		t.Error("s3 without opener accepted")
	}
	var gotB, gotP string
	s, key, err := OpenFile("s3://b/conf/exclude.csv", func(b, p string) Store { gotB, gotP = b, p; return Dir("x") })
	if err != nil || s == nil || key != "exclude.csv" || gotB != "b" || gotP != "conf/" {
		t.Errorf("OpenFile: %v %q %q %q", err, key, gotB, gotP)
	}
}
