package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The base layer is reproducible and holds what a non-root, shell-less
// image needs.
func TestBaseTar(t *testing.T) {
	pem := []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	a, err := baseTar(pem, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := baseTar(pem, time.Unix(0, 0))
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the base layer differ")
	}
	files := map[string]*tar.Header{}
	bodies := map[string]string{}
	tr := tar.NewReader(bytes.NewReader(a))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		files[h.Name], bodies[h.Name] = h, string(body)
	}
	if !strings.Contains(bodies["etc/passwd"], "nonroot:x:65532:65532:") || !strings.Contains(bodies["etc/group"], "nonroot:x:65532:") {
		t.Errorf("passwd/group lack the nonroot user 65532: %q %q", bodies["etc/passwd"], bodies["etc/group"])
	}
	if bodies["etc/ssl/certs/ca-certificates.crt"] != string(pem) {
		t.Error("CA bundle missing")
	}
	if h := files["tmp/"]; h == nil || h.Mode != 0o1777 {
		t.Errorf("/tmp: %+v, want mode 1777", h)
	}
	for name := range files {
		if strings.Contains(name, "sh") && strings.HasPrefix(name, "bin/") {
			t.Errorf("shell in the base: %s", name)
		}
	}
}

// `imagetool base` writes the same index twice without duplicating it.
func TestBaseLayoutIdempotent(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 0o644)
	layout := filepath.Join(dir, "img")
	for range 2 {
		if err := runBase([]string{"--layout", layout, "--ca-bundle", ca}); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	// one index and its two platform images, listed once each
	if n := strings.Count(string(idx), `"digest"`); n != 3 {
		t.Errorf("index.json lists %d manifests, want 3: %s", n, idx)
	}
	if err := runBase([]string{"--layout", layout, "--ca-bundle", filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing CA bundle: want an error")
	}
}
