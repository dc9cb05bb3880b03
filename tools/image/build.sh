#!/usr/bin/env bash
# go tool task image: build the siemstream container image for linux/amd64 and linux/arm64 without
# a Docker daemon and offline, then check it.
#
#   ko (github.com/google/ko, pinned in tools/image/go.mod, not the product's go.mod) builds the
#   Go binary per platform onto a base that imagetool makes from local files (CA bundle, passwd
#   and group with the nonroot user 65532, /tmp): no shell, no package manager. The base is
#   kept as an OCI layout in ko's cache ($KOCACHE/img) and named by digest, so ko never pulls.
#   Output: bin/image/oci (an OCI image layout: `crane push bin/image/oci <repo>:<tag>` or
#   `skopeo copy oci:bin/image/oci docker://<repo>:<tag>` uploads it to ECR).
#   SOURCE_DATE_EPOCH (the commit time) makes the same commit give the same image digest.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
t0=$(date +%s%N)
version=${SIEM_IMAGE_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export SIEM_IMAGE_VERSION=$version
export KOCACHE=${KOCACHE:-$root/.local/ko}
tools=$root/bin/image/tools
out=$root/bin/image/oci
mkdir -p "$KOCACHE" "$tools"

# The tools, built (and imagetool tested) from their own module; go's caches make a warm run quick.
go -C tools/image build -o "$tools/" github.com/google/ko ./imagetool
go -C tools/image test ./imagetool >/dev/null

# The base does not depend on the commit (file times 0), so the cache keeps one per CA bundle.
digest=$("$tools/imagetool" base --layout "$KOCACHE/img")
export KO_DEFAULTBASEIMAGE=siemstream.invalid/base@$digest
export KO_DOCKER_REPO=siemstream.invalid/siemstream
export KO_CONFIG_PATH=$root/tools/image/.ko.yaml
rm -rf "$out"
"$tools/ko" build ./cmd/siemstream --bare --push=false --oci-layout-path "$out" \
  --platform linux/amd64,linux/arm64 --sbom none \
  --image-label "org.opencontainers.image.version=$version" \
  --image-label "org.opencontainers.image.revision=$revision" \
  --image-label "org.opencontainers.image.source=https://github.com/siemstream/siemstream" \
  --image-label "org.opencontainers.image.title=siemstream" \
  --image-user 65532:65532 >/dev/null
"$tools/imagetool" check --layout "$out" --version "$version" --revision "$revision"
ms=$((($(date +%s%N) - t0) / 1000000))
printf '[image] %s in %d.%03ds (base %s)\n' "$out" $((ms / 1000)) $((ms % 1000)) "$digest"
