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
#   few hooks.  This script downloads hpcc_1.5.0.orig.tar.gz with
#   `apt-get source --download-only`, checks its pinned sha256, and turns hpl/
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
# it there by hand to run fully offline.  The system's apt configuration is
# never changed: a private source list, list directory and cache directory
# are used for the one `apt-get update` / `apt-get source` pair.
#
# Environment:
#   PICLUSTER_CACHE   cache directory (see above)
#   HPL_APT_DEBSRC    complete deb-src line to use instead of the one derived
#                     from the system's configured Debian archive, e.g.
#                     "deb-src [signed-by=/path/key.gpg] URI SUITE main"
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

# Print the deb-src line for Debian's main archive.  Derived from the deb
# entries apt already uses on this system, so no mirror is hard-coded here.
debsrc_line() {
    if [[ -n ${HPL_APT_DEBSRC:-} ]]; then
        printf '%s\n' "$HPL_APT_DEBSRC"
        return
    fi
    local uri_suite key opts=""
    # The main suite is the one without a dash (bookworm, not
    # bookworm-updates / bookworm-security).
    # shellcheck disable=SC2016  # $(...) here is apt's format syntax
    uri_suite=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' \
                    'Origin: Debian' 'Identifier: Packages' 2>/dev/null |
                awk '$2 !~ /-/ { print; exit }')
    [[ -n $uri_suite ]] ||
        die "no Debian archive in the apt configuration; set HPL_APT_DEBSRC"
    key=/usr/share/keyrings/debian-archive-keyring.gpg
    [[ -r $key ]] && opts="[signed-by=$key] "
    printf 'deb-src %s%s main\n' "$opts" "$uri_suite"
}

# Download the orig tarball into directory $1 with a private apt setup.
download_orig() {
    local dest=$1 aptdir rc=0
    aptdir=$(mktemp -d)
    # get_orig runs in a command substitution, so this EXIT trap belongs to
    # that subshell and removes the private apt directory when it ends.
    # shellcheck disable=SC2064  # expand $aptdir now, on purpose
    trap "rm -rf '$aptdir'" EXIT
    mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/dl"
    debsrc_line > "$aptdir/sources.list"
    log "using $(cat "$aptdir/sources.list")"

    # Private source list, list directory and cache: the system's
    # /etc/apt and /var/lib/apt/lists are read (for apt.conf and keys) but
    # never written.  The sandbox user is root so that the private
    # directories need no ownership games (apt would fall back to root
    # anyway, with a warning).
    local -a aptopts=(
        -o "Dir::Etc::SourceList=$aptdir/sources.list"
        -o "Dir::Etc::SourceParts=/dev/null"
        -o "Dir::State::Lists=$aptdir/lists"
        -o "Dir::Cache=$aptdir/cache"
        -o "APT::Sandbox::User=root"
    )
    apt-get "${aptopts[@]}" -q update >&2 ||
        die "apt-get update with the private deb-src list failed"

    # Debian's archive no longer has hpcc_1.5.0-3.debian.tar.xz, so this
    # fails after the .dsc and the orig tarball have arrived.  Tolerate that
    # failure and nothing else.
    (cd "$aptdir/dl" &&
        apt-get "${aptopts[@]}" -q source --download-only hpcc) \
        > "$aptdir/source.log" 2>&1 || rc=$?
    cat "$aptdir/source.log" >&2
    [[ -f $aptdir/dl/$ORIG_NAME ]] ||
        die "apt-get source did not deliver $ORIG_NAME"
    if (( rc != 0 )); then
        # Every E: line must be about the missing Debian packaging tarball
        # (plus apt's closing "Failed to fetch some archives.").
        if grep '^E: ' "$aptdir/source.log" |
                grep -v -e '\.debian\.tar\.[a-z]*  *404' \
                        -e '^E: Failed to fetch some archives\.$' |
                grep -q .; then
            die "apt-get source failed for another reason than the missing .debian.tar.xz"
        fi
        log "apt-get source exited $rc after fetching $ORIG_NAME (expected: .debian.tar.xz is gone)"
    fi
    mv "$aptdir/dl/$ORIG_NAME" "$dest/$ORIG_NAME"
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
