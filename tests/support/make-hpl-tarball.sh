#!/usr/bin/env bash
# make-hpl-tarball.sh -- build a standalone HPL source tarball without netlib.
#
# Usage: make-hpl-tarball.sh OUTDIR
#
# Writes OUTDIR/hpl-2.0-hpcc.tar.gz (top directory hpl-2.0-hpcc/) and prints
# the tarball's sha256 as the last line on stdout.  Everything else goes to
# stderr.
#
# Where the source comes from
#   netlib's hpl-2.3.tar.gz cannot be fetched from the project's machines, but
#   Debian's archive can.  Debian's "hpcc" source package (HPC Challenge 1.5.0)
#   carries a copy of HPL 2.0 in its hpl/ directory, wired into HPCC through a
#   few hooks.  This script downloads hpcc_1.5.0.orig.tar.gz from the pool of
#   the Debian archive apt already uses (as the hpl role's hpcc_source method
#   does), checks its pinned sha256, and turns hpl/
#   back into a tree that builds on its own, the netlib way:
#       cp setup/Make.Linux_generic Make.Linux_generic
#       make arch=Linux_generic          # -> bin/Linux_generic/xhpl
#
# The changes: roles/hpl/files/hpl-2.0-hpcc-standalone.patch, the same patch the hpl
#   role applies for hpl_install_method hpcc_source (its README.standalone lists them).
#   hpcc's own build glue in lib/ is removed as well.
#
# Reproducibility: the tree is archived with sorted names, one fixed mtime,
# numeric owner 0:0, normalised permissions and `gzip -n`, so the same input
# gives the same bytes (with the same GNU tar / gzip versions).
#
# Network: only the first run needs Debian's archive.  The orig tarball is
# kept in ${PICLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/picluster}; put
# it there by hand to run fully offline.  apt's own downloader fetches it, so
# apt's proxy settings apply; the apt configuration is only read.
#
# Environment:
#   PICLUSTER_CACHE   cache directory (see above)
#   HPL_DEBIAN_ARCHIVE  archive URI to use instead of the one apt uses, e.g.
#                     "http://deb.debian.org/debian/"
#   SOURCE_DATE_EPOCH mtime stamped on every archive member (default below)

set -euo pipefail

readonly ORIG_NAME=hpcc_1.5.0.orig.tar.gz
# sha256 of Debian's hpcc_1.5.0.orig.tar.gz, as observed when this was written.
readonly ORIG_SHA256=0a6fef7ab9f3347e549fed65ebb98234feea9ee18aea0c8f59baefbe3cf7ffb8
readonly TOPNAME=hpl-2.0-hpcc
readonly OUT_NAME=${TOPNAME}.tar.gz
# sha256 of the tarball this script produced with GNU tar 1.34 and gzip 1.12
# (Debian 12).  Only used for an informational message: other tar or gzip
# versions may legitimately produce different bytes.
readonly KNOWN_OUT_SHA256=dfd6cf0c769703417d604341462ef7dce9967df78b518db914d0fd61f119831d
# HPL 2.0's release date, 2008-09-10 00:00:00 UTC.
readonly DEFAULT_EPOCH=1221004800

log() { printf '%s\n' "make-hpl-tarball: $*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    printf 'usage: %s OUTDIR\n' "${0##*/}" >&2
    exit 2
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --------------------------------------------------------------------------
# Step 1: the orig tarball, from the cache or from Debian's archive.
# --------------------------------------------------------------------------

# Print the URI of the Debian (or Raspbian) archive apt already uses: the main
# suite's, not -updates' or -security's.
archive_uri() {
    if [[ -n ${HPL_DEBIAN_ARCHIVE:-} ]]; then
        printf '%s\n' "${HPL_DEBIAN_ARCHIVE%/}/"
        return
    fi
    local uri
    # shellcheck disable=SC2016  # $(...) here is apt's format syntax
    uri=$(for origin in Debian Raspbian; do
              apt-get indextargets --format '$(REPO_URI) $(RELEASE)' "Origin: $origin" \
                  'Identifier: Packages' 2>/dev/null
          done | awk '$2 !~ /-/ && !found { print $1; found = 1 }')
    [[ -n $uri ]] || die "no Debian archive in the apt configuration; set HPL_DEBIAN_ARCHIVE"
    printf '%s\n' "$uri"
}

# Download the orig tarball into directory $1 from the archive's pool, with
# apt's own downloader (apt's proxy settings apply), which checks the sha256.
download_orig() {
    local dest=$1 url
    url=$(archive_uri)pool/main/h/hpcc/$ORIG_NAME
    log "downloading $url"
    /usr/lib/apt/apt-helper -o APT::Sandbox::User=root download-file "$url" "$dest/$ORIG_NAME.part" "SHA256:$ORIG_SHA256" >&2 ||
        die "could not download $url"
    mv "$dest/$ORIG_NAME.part" "$dest/$ORIG_NAME"
}

# Print the path of a verified orig tarball, downloading it if needed.
get_orig() {
    local cache=${PICLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/picluster}
    local orig=$cache/$ORIG_NAME sum
    mkdir -p "$cache"
    if [[ -f $orig ]]; then
        log "using cached $orig"
    else
        log "downloading $ORIG_NAME from Debian's archive"
        download_orig "$cache"
    fi
    sum=$(sha256_of "$orig")
    if [[ $sum != "$ORIG_SHA256" ]]; then
        mv "$orig" "$orig.bad"
        die "$ORIG_NAME has sha256 $sum, expected $ORIG_SHA256 (moved aside to $orig.bad)"
    fi
    printf '%s\n' "$orig"
}

# --------------------------------------------------------------------------
# Step 2: turn hpcc's hpl/ into a standalone HPL tree.
# --------------------------------------------------------------------------

patch_tree() {
    rm -rf "${TREE:?}/lib"
    patch --quiet --forward -d "$TREE" -p1 < "$PATCH" ||
        die "$PATCH does not apply to hpcc's hpl/"
}

# --------------------------------------------------------------------------
# Step 3: archive it reproducibly.
# --------------------------------------------------------------------------

main() {
    (( $# == 1 )) || usage
    local outdir=$1 orig work out sum
    mkdir -p "$outdir"
    outdir=$(cd "$outdir" && pwd)
    out=$outdir/$OUT_NAME

    orig=$(get_orig)

    work=$(mktemp -d)
    # shellcheck disable=SC2064  # expand $work now, on purpose
    trap "rm -rf '$work'" EXIT
    tar -xzf "$orig" -C "$work" --no-same-owner hpcc-1.5.0/hpl
    mv "$work/hpcc-1.5.0/hpl" "$work/$TOPNAME"
    rmdir "$work/hpcc-1.5.0"
    TREE=$work/$TOPNAME
    patch_tree

    # Same permissions whatever the umask: directories 755, files 644
    # (hpcc's hpl/ ships no executable files).
    find "$TREE" -type d -exec chmod 0755 {} +
    find "$TREE" -type f -exec chmod 0644 {} +

    LC_ALL=C tar --create --format=gnu --sort=name \
        --mtime="@${SOURCE_DATE_EPOCH:-$DEFAULT_EPOCH}" \
        --owner=0 --group=0 --numeric-owner \
        -C "$work" "$TOPNAME" |
        gzip -9 -n > "$out.tmp"
    mv "$out.tmp" "$out"

    sum=$(sha256_of "$out")
    log "wrote $out"
    if [[ $sum != "$KNOWN_OUT_SHA256" ]]; then
        log "note: sha256 differs from the one recorded in this script ($KNOWN_OUT_SHA256);"
        log "      expected only with other tar/gzip versions or SOURCE_DATE_EPOCH"
    fi
    printf '%s\n' "$sum"
}

PATCH=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../roles/hpl/files" && pwd)/hpl-2.0-hpcc-standalone.patch
TREE=
main "$@"
