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
# Changes made to hpcc's hpl/ (all checked; the script stops if one of them
# does not apply):
#   * testing/ptest/HPL_xhpl.c (new): main() that initialises MPI and calls
#     HPL_main(), hpcc's renamed HPL driver, then finalises MPI.  Like netlib
#     HPL it exits 0 whatever the residual checks said.
#   * testing/ptest/HPL_hpccstub.c (new): stand-in for HPCC_Defaults(), which
#     hpcc calls when the input file is missing or invalid.  Instead of making
#     up defaults it reports the illegal input and stops, as netlib HPL does.
#   * HPL_pdinfo.c: read HPL.dat instead of hpccinf.txt, honour the output
#     file / device lines of the input (hpcc forces "hpccoutf.txt" in append
#     mode), stop reading at once when HPL.dat cannot be opened.
#   * HPL_packL.c: MPI-1 calls removed in MPI-3 renamed (MPI_Address ->
#     MPI_Get_address, MPI_Type_struct -> MPI_Type_create_struct).
#   * makes/Make.ptest: link xhpl (hpcc only archived the driver objects).
#   * lib/arch/ (hpcc's own build glue) removed; setup/Make.Linux_generic,
#     a default testing/ptest/HPL.dat and README.standalone added.
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
readonly KNOWN_OUT_SHA256=8956d95a6e5843cd1707f249210f92a34ee6d4e3058b5a9f633b6c31f433220d
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

# edit FILE SED-SCRIPT: apply a sed script in place and fail if it changed
# nothing (the upstream text it relies on is not there).
edit() {
    local file=$1 script=$2
    cp "$file" "$file.orig"
    sed -e "$script" "$file.orig" > "$file"
    if cmp -s "$file" "$file.orig"; then
        die "edit did not apply to ${file#"$TREE"/}: $script"
    fi
    rm -f "$file.orig"
}

# absent FILE REGEX: fail if REGEX still matches in FILE.
absent() {
    if grep -q -e "$2" "$1"; then
        die "${1#"$TREE"/} still contains '$2'"
    fi
}

patch_tree() {
    local t=$TREE

    # -- hpcc's build glue for the whole HPCC binary: not needed here.
    rm -rf "${t:?}/lib"

    # -- HPL_pdinfo.c: input and output files.
    local f=$t/testing/ptest/HPL_pdinfo.c
    edit "$f" 's|^#define INFILE "hpccinf.txt"|#define INFILE "HPL.dat"|'
    # hpcc overrides the output file/device read from the input file.
    edit "$f" '/^ *fid = 8; \/\* always write to a file \*\/$/d'
    edit "$f" '/^ *strcpy( file, "hpccoutf.txt" );$/d'
    # hpcc appends to its output file; HPL truncates it.
    edit "$f" 's|fopen( file, "a" )|fopen( file, "w" )|'
    # A missing input file is an error (hpcc warns and carries on).
    edit "$f" 's|__LINE__ + (1 << 30), "HPL_pdinfo",|__LINE__, "HPL_pdinfo",|'
    edit "$f" 's|error = 1; /\* goto label_error; \*/|error = 1; goto label_error;|'
    absent "$f" 'hpccinf\|hpccoutf\|fid = 8'

    # -- HPL_packL.c: MPI-3 removed these MPI-1 names.
    f=$t/src/comm/HPL_packL.c
    edit "$f" 's/MPI_Address(/MPI_Get_address(/g'
    edit "$f" 's/MPI_Type_struct(/MPI_Type_create_struct(/g'
    absent "$f" 'MPI_Address\|MPI_Type_struct'
    if grep -rq -e 'MPI_Address\b' -e 'MPI_Type_struct\b' \
            -e 'MPI_Type_extent\b' -e 'MPI_Errhandler_set\b' "$t/src" "$t/testing"; then
        die "MPI-1 only calls left in the tree"
    fi

    # -- makes/Make.ptest: build xhpl from the driver, main() and stand-in.
    f=$t/makes/Make.ptest
    edit "$f" 's|^all     : lib.grd # dexe$|all     : dexe|'
    edit "$f" 's|^\(   HPL_pddriver.o         HPL_pdinfo.o           HPL_pdtest.o\)$|\1 \\\
   HPL_xhpl.o             HPL_hpccstub.o|'
    # (the recipe lines below start with a real tab, as make requires)
    cat >> "$f" <<'EOF'
#
# Added for the standalone build: main() and the HPCC stand-in.
#
HPL_xhpl.o             : ../HPL_xhpl.c             $(INCdep)
	$(CC) -o $@ -c $(CCFLAGS)  ../HPL_xhpl.c
HPL_hpccstub.o         : ../HPL_hpccstub.c         $(INCdep)
	$(CC) -o $@ -c $(CCFLAGS)  ../HPL_hpccstub.c
EOF

    write_main "$t/testing/ptest/HPL_xhpl.c"
    write_stub "$t/testing/ptest/HPL_hpccstub.c"
    write_dat "$t/testing/ptest/HPL.dat"
    write_make "$t/setup/Make.Linux_generic"
    write_readme "$t/README.standalone"
}

write_main() {
    cat > "$1" <<'EOF'
/*
 * HPL_xhpl.c -- entry point of the standalone xhpl built from the copy of
 * HPL 2.0 in HPC Challenge 1.5.0.
 *
 * In HPCC the HPL driver is the function HPL_main() (HPL_pddriver.c), which
 * expects MPI to be initialised already and reports the best run through an
 * HPL_RuntimeData record.  This file supplies the main() that HPCC's own
 * driver used to be: start MPI, run the tests described by HPL.dat, stop
 * MPI.  The exit status is 0 even when residual checks fail, as with netlib
 * HPL: read the output to know whether the tests passed.
 */
#include <string.h>
#include "hpl.h"

extern int HPL_main( int ARGC, char **ARGV, HPL_RuntimeData *rdata,
                     int *failure );

int main( int ARGC, char **ARGV )
{
   HPL_RuntimeData best;
   int             failure = 0;

   (void) memset( &best, 0, sizeof( best ) );
   MPI_Init( &ARGC, &ARGV );
   (void) HPL_main( ARGC, ARGV, &best, &failure );
   MPI_Finalize();
   return( 0 );
}
EOF
}

write_stub() {
    cat > "$1" <<'EOF'
/*
 * HPL_hpccstub.c -- stand-in for the HPCC hook HPCC_Defaults().
 *
 * HPCC's HPL_pdinfo() calls HPCC_Defaults() on every process when the input
 * file is missing or holds an illegal value; HPCC then runs HPL with sizes
 * it derives from the memory it finds.  A standalone xhpl should instead do
 * what netlib HPL does in that case: process 0 reports the illegal input,
 * and every process finalises MPI and exits with status 1.
 */
#include <stdlib.h>
#include "hpl.h"

int HPCC_Defaults( HPL_T_test *TEST, int *NS, int *N, int *NBS, int *NB,
                   HPL_T_ORDER *PMAPPIN, int *NPQS, int *P, int *Q,
                   int *NPFS, HPL_T_FACT *PF, int *NBMS, int *NBM,
                   int *NDVS, int *NDV, int *NRFS, HPL_T_FACT *RF,
                   int *NTPS, HPL_T_TOP *TP, int *NDHS, int *DH,
                   HPL_T_SWAP *FSWAP, int *TSWAP, int *L1NOTRAN,
                   int *UNOTRAN, int *EQUIL, int *ALIGN, MPI_Comm comm )
{
   int rank;

   (void) TEST; (void) NS; (void) N; (void) NBS; (void) NB; (void) PMAPPIN;
   (void) NPQS; (void) P; (void) Q; (void) NPFS; (void) PF; (void) NBMS;
   (void) NBM; (void) NDVS; (void) NDV; (void) NRFS; (void) RF; (void) NTPS;
   (void) TP; (void) NDHS; (void) DH; (void) FSWAP; (void) TSWAP;
   (void) L1NOTRAN; (void) UNOTRAN; (void) EQUIL; (void) ALIGN;

   MPI_Comm_rank( comm, &rank );
   if( rank == 0 )
      HPL_pwarn( stderr, __LINE__, "HPL_pdinfo",
                 "Illegal input in file HPL.dat. Exiting ..." );
   MPI_Finalize();
   exit( 1 );
   return( 1 );
}
EOF
}

write_dat() {
    # A quick default test: one small problem on a 1 x 1 grid.
    cat > "$1" <<'EOF'
HPLinpack benchmark input file
standalone HPL 2.0 (from HPCC 1.5.0), default input: one quick test
HPL.out      output file name (if any)
6            device out (6=stdout,7=stderr,file)
1            # of problems sizes (N)
1000         Ns
1            # of NBs
128          NBs
0            PMAP process mapping (0=Row-,1=Column-major)
1            # of process grids (P x Q)
1            Ps
1            Qs
16.0         threshold
1            # of panel fact
2            PFACTs (0=left, 1=Crout, 2=Right)
1            # of recursive stopping criterium
4            NBMINs (>= 1)
1            # of panels in recursion
2            NDIVs
1            # of recursive panel fact.
1            RFACTs (0=left, 1=Crout, 2=Right)
1            # of broadcast
1            BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)
1            # of lookahead depth
1            DEPTHs (>=0)
2            SWAP (0=bin-exch,1=long,2=mix)
64           swapping threshold
0            L1 in (0=transposed,1=no-transposed) form
0            U  in (0=transposed,1=no-transposed) form
1            Equilibration (0=no,1=yes)
8            memory alignment in double (> 0)
EOF
}

write_make() {
    cat > "$1" <<'EOF'
#
# Make.Linux_generic -- build settings for Linux with an MPI compiler
# wrapper and a BLAS library reachable as -lblas.
#
# Debian/Ubuntu/Raspberry Pi OS:
#     apt-get install make gcc libopenmpi-dev openmpi-bin libopenblas-dev
#     (or mpich + libmpich-dev; or libatlas-base-dev / libblis-dev: any
#      package that provides libblas.so works, and update-alternatives
#      chooses which one -lblas means)
# then, from the top of this tree:
#     cp setup/Make.Linux_generic Make.Linux_generic
#     make arch=Linux_generic
#     cd bin/Linux_generic && mpirun -np 4 ./xhpl
#
# Any variable can be overridden on the make command line, for example
#     make arch=Linux_generic LAlib=-lopenblas
#
SHELL        = /bin/sh
CD           = cd
CP           = cp
LN_S         = ln -fs
MKDIR        = mkdir -p
RM           = /bin/rm -f
TOUCH        = touch
#
# Paths, relative to the per-architecture build directories
# (src/*/$(arch) and testing/*/$(arch) are three levels below the top).
#
ARCH         = $(arch)
TOPdir       = ../../..
INCdir       = $(TOPdir)/include
BINdir       = $(TOPdir)/bin/$(ARCH)
LIBdir       = $(TOPdir)/lib/$(ARCH)
HPLlib       = $(LIBdir)/libhpl.a
#
# MPI: mpicc knows its own include and library paths.
#
MPinc        =
MPlib        =
#
# BLAS, called through the Fortran 77 interface (every libblas has it):
# trailing underscore, int arguments, string lengths passed at the end.
#
LAinc        =
LAlib        = -lblas
F2CDEFS      = -DAdd_ -DF77_INTEGER=int -DStringSunStyle
#
HPL_INCLUDES = -I$(INCdir) -I$(INCdir)/$(ARCH) $(LAinc) $(MPinc)
HPL_LIBS     = $(HPLlib) $(LAlib) $(MPlib) -lm
#
# HPL_OPTS: add -DHPL_DETAILED_TIMING for per-phase timings in the output,
# -DHPL_CALL_CBLAS to use the C interface of the BLAS instead.
#
HPL_OPTS     =
HPL_DEFS     = $(F2CDEFS) $(HPL_OPTS) $(HPL_INCLUDES)
#
CC           = mpicc
CCNOOPT      = $(HPL_DEFS)
CCFLAGS      = $(HPL_DEFS) -O3 -fomit-frame-pointer -funroll-loops
LINKER       = mpicc
LINKFLAGS    = $(CCFLAGS)
#
ARCHIVER     = ar
ARFLAGS      = r
RANLIB       = ranlib
EOF
}

write_readme() {
    cat > "$1" <<'EOF'
Standalone HPL 2.0 taken from HPC Challenge 1.5.0
=================================================

This tree is the hpl/ directory of hpcc_1.5.0.orig.tar.gz (Debian's source
package "hpcc"), made to build and run on its own like a netlib HPL
release.  It was produced by make-hpl-tarball.sh from the picluster.hpl
Ansible collection.  The HPL code, its COPYRIGHT and its documentation are
unchanged apart from the points below.

Build
-----
    cp setup/Make.Linux_generic Make.Linux_generic
    make arch=Linux_generic
    cd bin/Linux_generic
    mpirun -np 1 ./xhpl          # reads HPL.dat from the current directory

Differences from hpcc's hpl/
----------------------------
* testing/ptest/HPL_xhpl.c: main(); HPCC renamed HPL's driver to HPL_main()
  and called it from its own main program.  Exit status is always 0, as
  with netlib HPL.
* testing/ptest/HPL_hpccstub.c: HPCC_Defaults() stand-in.  A missing or
  invalid HPL.dat makes xhpl print "Illegal input in file HPL.dat.
  Exiting ..." and exit with status 1 instead of running HPCC's defaults.
* testing/ptest/HPL_pdinfo.c: input file HPL.dat (not hpccinf.txt); the
  output file name and device (6 = stdout, 7 = stderr, else the file) from
  lines 3-4 of HPL.dat are honoured again, the file being truncated.
* src/comm/HPL_packL.c: MPI_Get_address and MPI_Type_create_struct
  replace MPI_Address and MPI_Type_struct, which MPI-3 removed.
* makes/Make.ptest: builds bin/<arch>/xhpl and copies HPL.dat beside it.
* testing/ptest/HPL.dat: a small default input (one N=1000 test, 1 x 1).
* setup/Make.Linux_generic: mpicc + -lblas.
* lib/arch/ (HPCC's build files) removed.

Output
------
The output is HPL 2.0's: the "HPLinpack 2.0" banner, the parameter echo,
result rows "WR11C2R4  N  NB  P  Q  Time  Gflops" with Gflops printed in
%e form, one scaled residual line per test and the closing summary.  HPL
2.1 and later also print the HPL_pdgesv() start/end time lines and more
digits; this version does not.
EOF
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

TREE=
main "$@"
