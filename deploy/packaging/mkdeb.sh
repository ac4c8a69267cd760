#!/bin/sh
# mkdeb.sh DEB_ARCH BINDIR VERSION OUT.deb — build one weighin Debian package
# with nfpm (goreleaser's, run from the Go module proxy at a pinned version).
# Run from anywhere; paths in nfpm.yaml are relative to the repository root.
# `make dist` calls it for amd64, arm64 and armhf; the package test too.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 DEB_ARCH BINDIR VERSION OUT.deb" >&2; exit 2; }
NFPM=${NFPM:-github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case "$1" in amd64|arm64|armhf) ;; *) echo "$0: unknown architecture $1" >&2; exit 2 ;; esac
bindir=$(cd "$2" && pwd)
for b in weighd weighctl; do
	[ -x "$bindir/$b" ] || { echo "$0: no $bindir/$b" >&2; exit 2; }
done
out=$(cd "$(dirname "$4")" && pwd)/$(basename "$4")
pkgdir=$(mktemp -d)
trap 'rm -rf "$pkgdir"' EXIT

# Reproducible: every time in the package is the commit's (or now outside git).
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
hash=$(git -C "$root" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
{
	echo "weighin ($3) unstable; urgency=medium"
	echo
	echo "  * Built from commit $hash; the project's git history has the changes."
	echo
	echo " -- weighin maintainers <weighin@users.noreply.invalid>  $(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")"
} > "$pkgdir/changelog"
gzip -9n < "$pkgdir/changelog" > "$pkgdir/changelog.gz"
for m in weighd.8 weighctl.1; do
	gzip -9n < "$here/man/$m" > "$pkgdir/$m.gz"
done
touch -d "@$SOURCE_DATE_EPOCH" "$pkgdir"/*.gz

cd "$root"
VERSION=$3 DEB_ARCH=$1 BINDIR=$bindir PKGDIR=$pkgdir \
	go run "$NFPM" package --config deploy/packaging/nfpm.yaml --packager deb --target "$out" >&2
echo "$out"
