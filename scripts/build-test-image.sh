#!/usr/bin/env bash
# build-test-image.sh OUTDIR [TAG]
# Builds small busybox-static images for Capstan's tests, reproducibly (same bytes every run):
#   OUTDIR/oci/              OCI image layout holding two images:
#                              TAG        one layer: /bin/busybox + a symlink per applet, /etc/passwd,
#                                         /www/index.html; Cmd ["/bin/sh"]
#                              TAG-extra  the same base layer + a layer adding /hello.txt and
#                                         whiting out /www/index.html (tests sharing and whiteouts)
#   OUTDIR/busybox-oci.tar   the layout as a tarball (for `capstan image import`)
#   OUTDIR/busybox-docker.tar the TAG image as a docker-archive (`docker save` format)
# Needs: busybox-static, tar, gzip, sha256sum, jq.
set -euo pipefail
OUT=${1:?usage: build-test-image.sh OUTDIR [TAG]}
TAG=${2:-latest}
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "build-test-image.sh: $BUSYBOX missing (apt-get install busybox-static)" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
# pack DIR NAME: deterministic tar (diff id) + gzip -n (blob); prints "diffid blobdigest blobsize"
pack() {
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$1" -cf "$WORK/$2.tar" .
  gzip -n -6 -c "$WORK/$2.tar" > "$WORK/$2.tar.gz"
  echo "$(sha "$WORK/$2.tar") $(sha "$WORK/$2.tar.gz") $(size "$WORK/$2.tar.gz")"
}

# Base layer.
R=$WORK/base
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev" "$R/www" "$R/root"
cp "$BUSYBOX" "$R/bin/busybox"
for applet in $("$BUSYBOX" --list); do [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
echo '<h1>hello from busybox httpd</h1>' > "$R/www/index.html"
chmod 1777 "$R/tmp"
read -r BASE_DIFF BASE_DIG BASE_SIZE < <(pack "$R" base)

# Extra layer: a new file and a whiteout.
X=$WORK/extra
mkdir -p "$X/www"
echo 'hello from the second layer' > "$X/hello.txt"
: > "$X/www/.wh.index.html"
read -r EXTRA_DIFF EXTRA_DIG EXTRA_SIZE < <(pack "$X" extra)

L=$OUT/oci
rm -rf "$L"
mkdir -p "$L/blobs/sha256"
echo '{"imageLayoutVersion":"1.0.0"}' > "$L/oci-layout"
cp "$WORK/base.tar.gz" "$L/blobs/sha256/$BASE_DIG"
cp "$WORK/extra.tar.gz" "$L/blobs/sha256/$EXTRA_DIG"

# image NAME DIFFIDS_JSON LAYERS_JSON: writes config + manifest blobs, prints "digest size"
image() {
  jq -cn --argjson d "$2" '{architecture:"amd64", os:"linux", created:"1970-01-01T00:00:00Z",
    config:{Env:["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd:["/bin/sh"], WorkingDir:"/"},
    rootfs:{type:"layers", diff_ids:$d}, history:[{created:"1970-01-01T00:00:00Z", created_by:"build-test-image.sh"}]}' > "$WORK/$1-config.json"
  local cdig; cdig=$(sha "$WORK/$1-config.json")
  cp "$WORK/$1-config.json" "$L/blobs/sha256/$cdig"
  jq -cn --arg c "sha256:$cdig" --argjson cs "$(size "$WORK/$1-config.json")" --argjson l "$3" '{schemaVersion:2,
    mediaType:"application/vnd.oci.image.manifest.v1+json",
    config:{mediaType:"application/vnd.oci.image.config.v1+json", digest:$c, size:$cs}, layers:$l}' > "$WORK/$1-manifest.json"
  local mdig; mdig=$(sha "$WORK/$1-manifest.json")
  cp "$WORK/$1-manifest.json" "$L/blobs/sha256/$mdig"
  echo "$mdig $(size "$WORK/$1-manifest.json") $cdig"
}
layer() { jq -cn --arg d "sha256:$1" --argjson s "$2" '{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip", digest:$d, size:$s}'; }
read -r M1 S1 C1 < <(image base "[\"sha256:$BASE_DIFF\"]" "[$(layer "$BASE_DIG" "$BASE_SIZE")]")
read -r M2 S2 _ < <(image extra "[\"sha256:$BASE_DIFF\",\"sha256:$EXTRA_DIFF\"]" "[$(layer "$BASE_DIG" "$BASE_SIZE"),$(layer "$EXTRA_DIG" "$EXTRA_SIZE")]")
jq -cn --arg m1 "sha256:$M1" --argjson s1 "$S1" --arg m2 "sha256:$M2" --argjson s2 "$S2" --arg t "$TAG" '{schemaVersion:2,
  mediaType:"application/vnd.oci.image.index.v1+json", manifests:[
  {mediaType:"application/vnd.oci.image.manifest.v1+json", digest:$m1, size:$s1, annotations:{"org.opencontainers.image.ref.name":$t}},
  {mediaType:"application/vnd.oci.image.manifest.v1+json", digest:$m2, size:$s2, annotations:{"org.opencontainers.image.ref.name":($t+"-extra")}}]}' > "$L/index.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$L" -cf "$OUT/busybox-oci.tar" .

# docker-archive of the base image.
D=$WORK/docker
mkdir -p "$D/$BASE_DIFF"
cp "$WORK/base.tar" "$D/$BASE_DIFF/layer.tar"
cp "$WORK/base-config.json" "$D/$C1.json"
jq -cn --arg c "$C1.json" --arg l "$BASE_DIFF/layer.tar" --arg t "busybox:$TAG" '[{Config:$c, RepoTags:[$t], Layers:[$l]}]' > "$D/manifest.json"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$D" -cf "$OUT/busybox-docker.tar" .
echo "manifest sha256:$M1 extra sha256:$M2 config sha256:$C1 base-layer sha256:$BASE_DIG diff-id sha256:$BASE_DIFF"
