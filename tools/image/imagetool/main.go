// Command imagetool builds the base image of siemstream's container image from
// local files, offline, and checks the finished image. `go tool task image`
// runs it (tools/image/build.sh); it is not part of the product.
//
//	imagetool base  --layout DIR [--ca-bundle FILE] [--epoch N]
//	    writes a linux/amd64 + linux/arm64 index (one layer: CA bundle,
//	    passwd/group with the nonroot user 65532, /tmp; config user
//	    65532:65532) into the OCI layout DIR (ko's $KOCACHE/img) and prints
//	    its digest for KO_DEFAULTBASEIMAGE. Same inputs, same digest.
//	imagetool check --layout DIR --version V --revision R
//	    checks the image ko wrote: both platforms, user, entrypoint, labels,
//	    no shell, and that the amd64 binary runs `siemstream version`.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// nonroot is distroless's nonroot user, which Kubernetes/ECS policies know.
const nonroot = "65532"

var platforms = []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: imagetool base|check [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "base":
		err = runBase(os.Args[2:])
	case "check":
		err = runCheck(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagetool:", err)
		os.Exit(1)
	}
}

func runBase(args []string) error {
	fs := flag.NewFlagSet("base", flag.ContinueOnError)
	dir := fs.String("layout", "", "OCI layout directory (ko's $KOCACHE/img)")
	ca := fs.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of trusted CAs to ship")
	epoch := fs.Int64("epoch", 0, "modification time of the files, Unix seconds (reproducibility)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("base: --layout is required")
	}
	pem, err := os.ReadFile(*ca)
	if err != nil {
		return fmt.Errorf("base: CA bundle (install ca-certificates or pass --ca-bundle): %w", err)
	}
	if !bytes.Contains(pem, []byte("BEGIN CERTIFICATE")) {
		return fmt.Errorf("base: %s holds no PEM certificate", *ca)
	}
	layerTar, err := baseTar(pem, time.Unix(*epoch, 0).UTC())
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar)), nil })
	if err != nil {
		return fmt.Errorf("base: layer: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var imgs []v1.Image
	for _, p := range platforms {
		img, err := mutate.AppendLayers(mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1), layer)
		if err != nil {
			return fmt.Errorf("base: %s: %w", p, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		cf = cf.DeepCopy()
		cf.OS, cf.Architecture = p.OS, p.Architecture
		cf.Created = v1.Time{Time: time.Unix(*epoch, 0).UTC()}
		cf.Config.User = nonroot + ":" + nonroot
		cf.Config.WorkingDir = "/home/nonroot"
		cf.Config.Env = []string{
			"PATH=/usr/local/bin:/usr/bin:/bin",
			"SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
		}
		if img, err = mutate.ConfigFile(img, cf); err != nil {
			return err
		}
		pp := p
		imgs = append(imgs, img)
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pp}})
	}
	d, err := idx.Digest()
	if err != nil {
		return err
	}
	path, err := layout.FromPath(*dir)
	if err != nil {
		if path, err = layout.Write(*dir, empty.Index); err != nil {
			return fmt.Errorf("base: create layout %s: %w", *dir, err)
		}
	}
	// ko's cache looks every manifest up at the top of the layout's index.json (the index by
	// the digest in KO_DEFAULTBASEIMAGE, then each platform's image by its own digest), so all
	// three are listed there. Appended once: the same inputs give the same digests.
	have, err := path.ImageIndex()
	if err != nil {
		return fmt.Errorf("base: read layout %s: %w", *dir, err)
	}
	im, err := have.IndexManifest()
	if err != nil {
		return err
	}
	listed := map[v1.Hash]bool{}
	for _, m := range im.Manifests {
		listed[m.Digest] = true
	}
	for i, img := range imgs {
		h, err := img.Digest()
		if err != nil {
			return err
		}
		if !listed[h] {
			if err := path.AppendImage(img, layout.WithPlatform(platforms[i])); err != nil {
				return fmt.Errorf("base: write layout %s: %w", *dir, err)
			}
		}
	}
	if !listed[d] {
		if err := path.AppendIndex(idx); err != nil {
			return fmt.Errorf("base: write layout %s: %w", *dir, err)
		}
	}
	fmt.Println(d.String())
	return nil
}

// baseTar is the base layer: a reproducible tar (sorted, fixed times, root-owned).
func baseTar(caPEM []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: uid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc/", 0o755, 0) },
		func() error { return file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")) },
		func() error { return file("etc/nsswitch.conf", 0o644, []byte("hosts: files dns\n")) },
		func() error {
			return file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"))
		},
		func() error { return dir("etc/ssl/", 0o755, 0) },
		func() error { return dir("etc/ssl/certs/", 0o755, 0) },
		func() error { return file("etc/ssl/certs/ca-certificates.crt", 0o644, caPEM) },
		func() error { return dir("home/", 0o755, 0) },
		func() error { return dir("home/nonroot/", 0o700, 65532) },
		func() error { return dir("tmp/", 0o1777, 0) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, fmt.Errorf("base: tar: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func runCheck(args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	dir := fs.String("layout", "", "OCI layout ko wrote (--oci-layout-path)")
	version := fs.String("version", "", "expected org.opencontainers.image.version label and `siemstream version` output")
	revision := fs.String("revision", "", "expected org.opencontainers.image.revision label")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := layout.FromPath(*dir)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	root, err := path.ImageIndex()
	if err != nil {
		return err
	}
	rm, err := root.IndexManifest()
	if err != nil {
		return err
	}
	if len(rm.Manifests) == 0 {
		return fmt.Errorf("check: %s is empty", *dir)
	}
	// ko appends the image's index to the layout; the last entry is this build.
	top := rm.Manifests[len(rm.Manifests)-1]
	if !top.MediaType.IsIndex() {
		return fmt.Errorf("check: %s is a single image, want a multi-platform index", top.Digest)
	}
	idx, err := root.ImageIndex(top.Digest)
	if err != nil {
		return err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return err
	}
	var problems []string
	bad := func(f string, a ...any) { problems = append(problems, fmt.Sprintf(f, a...)) }
	seen := map[string]bool{}
	var total int64
	var amd64 v1.Image
	for _, m := range im.Manifests {
		if m.Platform == nil {
			bad("manifest %s has no platform", m.Digest)
			continue
		}
		plat := m.Platform.OS + "/" + m.Platform.Architecture
		seen[plat] = true
		img, err := idx.Image(m.Digest)
		if err != nil {
			return err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return err
		}
		if cf.Config.User != nonroot+":"+nonroot && cf.Config.User != nonroot {
			bad("%s: user %q, want %s", plat, cf.Config.User, nonroot)
		}
		if len(cf.Config.Entrypoint) != 1 || filepath.Base(cf.Config.Entrypoint[0]) != "siemstream" {
			bad("%s: entrypoint %q, want one siemstream binary", plat, cf.Config.Entrypoint)
		}
		if got := cf.Config.Labels["org.opencontainers.image.version"]; got != *version {
			bad("%s: label org.opencontainers.image.version %q, want %q", plat, got, *version)
		}
		if got := cf.Config.Labels["org.opencontainers.image.revision"]; got != *revision {
			bad("%s: label org.opencontainers.image.revision %q, want %q", plat, got, *revision)
		}
		files, size, err := listFiles(img)
		if err != nil {
			return err
		}
		total += size
		for _, sh := range []string{"bin/sh", "bin/bash", "usr/bin/sh", "busybox", "bin/busybox"} {
			if files[sh] {
				bad("%s: has a shell (%s)", plat, sh)
			}
		}
		if !files["etc/ssl/certs/ca-certificates.crt"] {
			bad("%s: no CA bundle", plat)
		}
		fmt.Printf("%s  %s  %.1f MiB compressed, user %s, entrypoint %v\n", plat, m.Digest, float64(size)/(1<<20), cf.Config.User, cf.Config.Entrypoint)
		if plat == "linux/amd64" {
			amd64 = img
		}
	}
	for _, p := range platforms {
		if !seen[p.OS+"/"+p.Architecture] {
			bad("platform %s missing", p)
		}
	}
	if amd64 != nil && runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		out, err := runExtracted(amd64)
		if err != nil {
			bad("amd64 binary: %v", err)
		} else if want := "siemstream " + *version; strings.TrimSpace(out) != want {
			bad("amd64 binary prints %q, want %q", strings.TrimSpace(out), want)
		} else {
			fmt.Printf("linux/amd64 binary runs: %s\n", strings.TrimSpace(out))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("check failed:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Printf("image %s OK (%s, %s): %.1f MiB compressed over both platforms\n", top.Digest, *version, *revision, float64(total)/(1<<20))
	return nil
}

// listFiles returns the paths in the image's flattened filesystem and the
// compressed size of its layers.
func listFiles(img v1.Image) (map[string]bool, int64, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, 0, err
	}
	var size int64
	for _, l := range layers {
		s, err := l.Size()
		if err != nil {
			return nil, 0, err
		}
		size += s
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]bool{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, size, nil
		}
		if err != nil {
			return nil, 0, err
		}
		files[strings.TrimPrefix(h.Name, "/")] = true
	}
}

// runExtracted copies the entrypoint binary out of the image and runs `version`.
func runExtracted(img v1.Image) (string, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	want := strings.TrimPrefix(cf.Config.Entrypoint[0], "/")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err != nil {
			return "", fmt.Errorf("%s not found in the image: %w", want, err)
		}
		if strings.TrimPrefix(h.Name, "/") != want {
			continue
		}
		f, err := os.CreateTemp("", "siemstream-image-*")
		if err != nil {
			return "", err
		}
		defer os.Remove(f.Name())
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return "", err
		}
		if err := f.Chmod(0o755); err != nil {
			f.Close()
			return "", err
		}
		f.Close()
		out, err := exec.Command(f.Name(), "version").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s version: %w: %s", want, err, out)
		}
		return string(out), nil
	}
}
