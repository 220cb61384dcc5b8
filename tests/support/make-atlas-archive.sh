#!/usr/bin/env bash
# A signed deb-src archive of ATLAS for the blas role's tuned build where Debian's own ATLAS
# packaging is not served (tests/integration/test_atlas_build.py): upstream ATLAS 3.10.3,
# the very tarball Debian's atlas 3.10.3-13 is made from (checked by its sha256), with
# tests/support/atlas-source/debian, as source package atlas 3.10.3-13 of suite bookworm.
#   make-atlas-archive.sh DIR [ORIG]    ORIG: the tarball's URL or path (Debian's pool)
# DIR gets dists/bookworm/{InRelease,Release,main/source/Sources}, pool/ and keyring.gpg, the
# throwaway key it is signed with: blas_atlas_deb_src file:DIR, blas_atlas_deb_src_keyring
# DIR/keyring.gpg once DIR is on the node.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$1
orig=${2:-http://deb.debian.org/debian/pool/main/a/atlas/atlas_3.10.3.orig.tar.bz2}
sha256=941ea3863ee8c0306b81f77e71c4468b9bff701169b85ee9ebc9e2e485481e9e
suite=bookworm

rm -rf "$dir"
pool=$dir/pool/main/a/atlas
mkdir -p "$pool" "$dir/dists/$suite/main/source"
work=$(mktemp -d)
trap 'GNUPGHOME=$work/gnupg gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$work"' EXIT

case $orig in
  http://* | https://*) curl -fsSL -o "$work/atlas_3.10.3.orig.tar.bz2" "$orig" ;;
  *) cp "$orig" "$work/atlas_3.10.3.orig.tar.bz2" ;;
esac
echo "$sha256  $work/atlas_3.10.3.orig.tar.bz2" | sha256sum --check --quiet
tar -C "$work" -xjf "$work/atlas_3.10.3.orig.tar.bz2"
cp -r "$here/atlas-source/debian" "$work/atlas-3.10.3/"
(cd "$work" && dpkg-source --build atlas-3.10.3 >/dev/null)
cp "$work"/atlas_3.10.3* "$pool/"

cd "$dir"
dpkg-scansources pool/main/a/atlas > "dists/$suite/main/source/Sources" 2>/dev/null
gzip -9kn "dists/$suite/main/source/Sources"
{
  printf 'Origin: picluster.hpl tests\nSuite: %s\nCodename: %s\nComponents: main\nArchitectures: source\n' "$suite" "$suite"
  printf 'Date: %s\nSHA256:\n' "$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
  for index in main/source/Sources main/source/Sources.gz; do
    printf ' %s %s %s\n' "$(sha256sum < "dists/$suite/$index" | cut -d' ' -f1)" "$(stat -c %s "dists/$suite/$index")" "$index"
  done
} > "dists/$suite/Release"

export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-generate-key 'picluster.hpl tests <picluster-hpl@localhost>' ed25519 sign never
gpg --batch --quiet --clearsign --output "dists/$suite/InRelease" "dists/$suite/Release"
gpg --batch --quiet --export > keyring.gpg
echo "$dir: atlas $(sed -n 's/^Version: //p' "dists/$suite/main/source/Sources")"
