#!/usr/bin/env bash
# make-fixtures.sh -- regenerate the HPL / HPCC output fixtures of the
# picluster.hpl unit tests by really running the programs.
#
# Usage: make-fixtures.sh [FIXTURE_DIR]      (default: tests/unit/fixtures)
#
# What it does
#   1. builds the standalone HPL 2.0 tarball with make-hpl-tarball.sh (the
#      HPL copy inside Debian's hpcc 1.5.0 source), unpacks it in a temporary
#      directory and builds xhpl with mpicc + OpenBLAS (-lopenblas);
#   2. runs xhpl once per case below, each in its own directory holding the
#      case's input as HPL.dat, and stores under FIXTURE_DIR/hpl/:
#        NAME.dat       the HPL.dat used
#        NAME.out       what the run printed (stdout and stderr together, as
#                       `cmd > log 2>&1` gives), or the HPL.out file the run
#                       wrote when the input asks for a file
#        NAME.cmd       the command line, where it ran, and its exit code
#        NAME.exitcode  the exit code alone
#   3. runs Debian's hpcc (HPC Challenge, same HPL inside) twice and stores
#      hpccoutf.txt / hpccoutf_failed.txt with their inputs under hpcc/;
#   4. writes FIXTURE_DIR/environment.txt (versions, machine, timings).
#
# Needs (Debian 12): openmpi-bin libopenmpi-dev libopenblas-dev hpcc make gcc,
# and Debian's archive the first time (see make-hpl-tarball.sh).  Takes about
# two minutes on 2 cores.  Open MPI must be the active MPI (mpirun, mpicc):
# the launch-failure fixture is Open MPI's message.
#
# Environment:
#   HPL_TARBALL_DIR   reuse OUTDIR/hpl-2.0-hpcc.tar.gz from there instead of
#                     running make-hpl-tarball.sh (it must exist)

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
fixdir=${1:-$repo/tests/unit/fixtures}
mkdir -p "$fixdir/hpl" "$fixdir/hpcc"
fixdir=$(cd "$fixdir" && pwd)
hpldir=$fixdir/hpl
hpccdir=$fixdir/hpcc

log() { printf '%s\n' "make-fixtures: $*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in mpirun mpicc make hpcc; do
    command -v "$tool" > /dev/null || die "$tool not found (see the header of this script)"
done
mpirun --version 2>&1 | grep -q 'Open MPI' || die "mpirun is not Open MPI's"

work=$(mktemp -d)
# shellcheck disable=SC2064  # expand $work now, on purpose
trap "rm -rf '$work'" EXIT

# Open MPI refuses to run as root unless told so; say it on the command line
# so the recorded commands are complete.
mpiopts=()
if (( EUID == 0 )); then
    mpiopts+=(--allow-run-as-root)
fi
# One BLAS thread per MPI rank: ranks x threads must not exceed the cores.
export OPENBLAS_NUM_THREADS=1
mpiopts+=(-x OPENBLAS_NUM_THREADS)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --------------------------------------------------------------------------
# Build xhpl
# --------------------------------------------------------------------------
if [[ -n ${HPL_TARBALL_DIR:-} ]]; then
    tarball=$HPL_TARBALL_DIR/hpl-2.0-hpcc.tar.gz
    [[ -f $tarball ]] || die "$tarball not found"
else
    "$here/make-hpl-tarball.sh" "$work" > "$work/tarball.sha256"
    tarball=$work/hpl-2.0-hpcc.tar.gz
fi
tarball_sha=$(sha256sum "$tarball" | cut -d' ' -f1)

tar -xzf "$tarball" -C "$work"
top=$work/hpl-2.0-hpcc
arch=OpenBLAS
# The shipped generic settings, with OpenBLAS named explicitly.
sed 's/^LAlib  *= -lblas$/LAlib        = -lopenblas/' \
    "$top/setup/Make.Linux_generic" > "$top/Make.$arch"
grep -q '^LAlib *= -lopenblas$' "$top/Make.$arch" || die "could not set LAlib"

log "building xhpl (arch=$arch)"
t0=$(now)
# netlib's targets one after the other, to time them apart: build_src makes
# most of libhpl.a (src/), build_tst the testing/ parts (matrix generator and
# timers, also archived into libhpl.a) and then the driver and xhpl.
make -C "$top" arch=$arch startup > "$work/build.log" 2>&1
make -C "$top" -f Make.top build_src arch=$arch >> "$work/build.log" 2>&1
t1=$(now)
make -C "$top" -f Make.top build_tst arch=$arch >> "$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; die "build failed"; }
t2=$(now)
xhpl=$top/bin/$arch/xhpl
[[ -x $xhpl ]] || die "no xhpl after the build"
build_lib_s=$(elapsed "$t0" "$t1")
build_xhpl_s=$(elapsed "$t1" "$t2")
build_total_s=$(elapsed "$t0" "$t2")
log "build: src/ ${build_lib_s}s, testing/ + xhpl ${build_xhpl_s}s, total ${build_total_s}s"

# --------------------------------------------------------------------------
# HPL.dat writer
# --------------------------------------------------------------------------
# hpl_dat FILE TITLE OUTFILE DEVICE NS NBS PMAP PS QS THRESHOLD PFACTS NBMINS
#         NDIVS RFACTS BCASTS DEPTHS
# List arguments are space-separated; their counts are written for them.
# The fixed tail (SWAP mix, threshold 64, L1/U transposed, EQUIL 1, ALIGN 8)
# is the usual one.
hpl_dat() {
    local file=$1 title=$2 outfile=$3 device=$4 ns=$5 nbs=$6 pmap=$7 \
          ps=$8 qs=$9 thresh=${10} pfacts=${11} nbmins=${12} ndivs=${13} \
          rfacts=${14} bcasts=${15} depths=${16}
    count() { local -a a; read -r -a a <<< "$1"; printf '%d' "${#a[@]}"; }
    line() { printf '%-12s %s\n' "$1" "$2"; }
    {
        printf 'HPLinpack benchmark input file\n'
        printf '%s\n' "$title"
        line "$outfile" 'output file name (if any)'
        line "$device" 'device out (6=stdout,7=stderr,file)'
        line "$(count "$ns")" '# of problems sizes (N)'
        line "$ns" 'Ns'
        line "$(count "$nbs")" '# of NBs'
        line "$nbs" 'NBs'
        line "$pmap" 'PMAP process mapping (0=Row-,1=Column-major)'
        line "$(count "$ps")" '# of process grids (P x Q)'
        line "$ps" 'Ps'
        line "$qs" 'Qs'
        line "$thresh" 'threshold'
        line "$(count "$pfacts")" '# of panel fact'
        line "$pfacts" 'PFACTs (0=left, 1=Crout, 2=Right)'
        line "$(count "$nbmins")" '# of recursive stopping criterium'
        line "$nbmins" 'NBMINs (>= 1)'
        line "$(count "$ndivs")" '# of panels in recursion'
        line "$ndivs" 'NDIVs'
        line "$(count "$rfacts")" '# of recursive panel fact.'
        line "$rfacts" 'RFACTs (0=left, 1=Crout, 2=Right)'
        line "$(count "$bcasts")" '# of broadcast'
        line "$bcasts" 'BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)'
        line "$(count "$depths")" '# of lookahead depth'
        line "$depths" 'DEPTHs (>=0)'
        line 2 'SWAP (0=bin-exch,1=long,2=mix)'
        line 64 'swapping threshold'
        line 0 'L1 in (0=transposed,1=no-transposed) form'
        line 0 'U  in (0=transposed,1=no-transposed) form'
        line 1 'Equilibration (0=no,1=yes)'
        line 8 'memory alignment in double (> 0)'
    } > "$file"
}

# --------------------------------------------------------------------------
# Case runner
# --------------------------------------------------------------------------
# run_case NAME INPUT-NAME CAPTURE COMMAND...
#   Runs COMMAND in a fresh directory holding the case's input (INPUT-NAME:
#   HPL.dat or hpccinf.txt, copied from the fixture directory).  CAPTURE is
#   "console" (stdout + stderr become the fixture) or the name of the file
#   the program writes there (HPL.out, hpccoutf.txt).
run_case() {
    local dir=$1 name=$2 input=$3 capture=$4
    shift 4
    local run=$work/run/$name rc=0 t0 t1 src
    case $input in
        HPL.dat) src=$dir/$name.dat ;;
        *) src=$dir/${name/hpccoutf/hpccinf}.txt ;;
    esac
    mkdir -p "$run"
    cp "$src" "$run/$input"
    log "case $name: $*"
    t0=$(now)
    (cd "$run" && "$@") > "$run/console.txt" 2>&1 || rc=$?
    t1=$(now)
    local dest=$dir/$name.out
    [[ $dir == "$hpccdir" ]] && dest=$dir/$name.txt
    if [[ $capture == console ]]; then
        cp "$run/console.txt" "$dest"
    else
        [[ -f $run/$capture ]] || die "case $name wrote no $capture"
        cp "$run/$capture" "$dest"
        if [[ -s $run/console.txt ]]; then
            log "case $name also printed on the console:"
            cat "$run/console.txt" >&2
        fi
    fi
    {
        printf '# fixture: %s\n' "${dest##*/}"
        printf '# input: %s, copied into the run directory as %s\n' "${src##*/}" "$input"
        if [[ $capture == console ]]; then
            printf '# output: stdout and stderr of the command, together\n'
        else
            printf '# output: the %s file the program wrote\n' "$capture"
        fi
        printf '# environment: OPENBLAS_NUM_THREADS=1\n'
        printf '# run in the directory holding %s:\n' "$input"
        printf '%s\n' "$*"
        printf '# exit code: %d\n' "$rc"
        printf '# wall time: %ss\n' "$(elapsed "$t0" "$t1")"
    } > "$dir/$name.cmd"
    printf '%d\n' "$rc" > "$dir/$name.exitcode"
    log "case $name: exit $rc, $(elapsed "$t0" "$t1")s"
}

# The commands as recorded: xhpl is copied into each run directory.
xhpl_case() {
    local name=$1 np=$2 capture=$3
    shift 3
    mkdir -p "$work/run/$name"
    cp "$xhpl" "$work/run/$name/xhpl"
    run_case "$hpldir" "$name" HPL.dat "$capture" \
        "$@" mpirun "${mpiopts[@]}" -np "$np" ./xhpl
}

# --------------------------------------------------------------------------
# HPL cases
# --------------------------------------------------------------------------
rm -f "$hpldir"/*.dat "$hpldir"/*.out "$hpldir"/*.cmd "$hpldir"/*.exitcode

# One test of the usual variant (WR11C2R4), 1 x 2, passes.
hpl_dat "$hpldir/single_passed.dat" 'picluster.hpl fixture: single test, passes' \
    HPL.out 6 4032 192 0 1 2 16.0 2 4 2 1 1 1
xhpl_case single_passed 2 console

# Row-major mapping: every broadcast, both depths, NBMIN 4 and 16.
hpl_dat "$hpldir/matrix_sweep.dat" 'picluster.hpl fixture: sweep, row-major, all BCASTs' \
    HPL.out 6 '500 1000' '32 64' 0 '1 2' '2 1' 16.0 \
    2 '4 16' 2 1 '0 1 2 3 4 5' '0 1'
xhpl_case matrix_sweep 2 console

# Column-major mapping, written to the HPL.out file: every PFACT and RFACT,
# NBMIN 2 and 16, NDIV 2 and 3.
hpl_dat "$hpldir/matrix_sweep_colmajor.dat" 'picluster.hpl fixture: sweep, column-major, all PFACTs/RFACTs' \
    HPL.out 8 '500 1000' '32 64' 1 '1 2' '2 1' 16.0 \
    '0 1 2' '2 16' '2 3' '0 1 2' 1 1
xhpl_case matrix_sweep_colmajor 2 HPL.out

# A threshold nobody meets: every check FAILS (and xhpl still exits 0).
hpl_dat "$hpldir/failed_residual.dat" 'picluster.hpl fixture: threshold 1e-20, checks fail' \
    HPL.out 6 1000 '64 128' 0 1 2 1e-20 2 4 2 1 1 1
xhpl_case failed_residual 2 console

# Threshold <= 0: no residual checks at all.
hpl_dat "$hpldir/unchecked.dat" 'picluster.hpl fixture: negative threshold, no checks' \
    HPL.out 6 1000 '64 128' 0 1 2 -16.0 2 4 2 1 1 1
xhpl_case unchecked 2 console

# A 2 x 2 grid with only 2 processes.
hpl_dat "$hpldir/need_processes.dat" 'picluster.hpl fixture: 2 x 2 grid on 2 ranks' \
    HPL.out 6 1000 128 0 2 2 16.0 2 4 2 1 1 1
xhpl_case need_processes 2 console

# NB = 0 is illegal input.
hpl_dat "$hpldir/illegal_input.dat" 'picluster.hpl fixture: NB = 0' \
    HPL.out 6 1000 0 0 1 2 16.0 2 4 2 1 1 1
xhpl_case illegal_input 2 console

# A second N far too large for memory: that test is skipped.
hpl_dat "$hpldir/skipped_memory.dat" 'picluster.hpl fixture: second N too big, skipped' \
    HPL.out 6 '1000 300000' 128 0 1 2 16.0 2 4 2 1 1 1
xhpl_case skipped_memory 2 console

# 8 ranks on 2 cores without --oversubscribe: Open MPI refuses to start.
cp "$hpldir/single_passed.dat" "$hpldir/mpi_slots.dat"
xhpl_case mpi_slots 8 console

# Killed during its second, long test: no summary section.
hpl_dat "$hpldir/interrupted.dat" 'picluster.hpl fixture: killed during the second test' \
    HPL.out 6 '2016 24192' 192 0 1 2 16.0 2 4 2 1 1 1
xhpl_case interrupted 2 console timeout 20

# A rank killed for want of memory: the run is held to 96 MiB (a memory
# cgroup, as the kernel's OOM killer sees a node run out), and N 6000 needs
# about 140 MiB per rank.  Needs root and a writable memory cgroup.
in_memory_cgroup() {
    local limit=$1 group
    shift
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        group=/sys/fs/cgroup/picluster-fixture-oom
        mkdir -p "$group"
        echo "$limit" > "$group/memory.max"
        echo 0 > "$group/memory.swap.max"
    else
        group=/sys/fs/cgroup/memory/picluster-fixture-oom
        mkdir -p "$group"
        echo "$limit" > "$group/memory.limit_in_bytes"
        echo "$limit" > "$group/memory.memsw.limit_in_bytes" 2> /dev/null || true
    fi
    sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$group" "$@"
}
hpl_dat "$hpldir/oom_killed.dat" 'picluster.hpl fixture: N too big for the memory cgroup' \
    HPL.out 6 6000 128 0 1 2 16.0 2 4 2 1 1 1
xhpl_case oom_killed 2 console in_memory_cgroup 96M
rmdir /sys/fs/cgroup/picluster-fixture-oom /sys/fs/cgroup/memory/picluster-fixture-oom 2> /dev/null || true

# A node lost during the second test: rank 1 runs on "node" 127.0.0.2, whose
# Open MPI daemon mpirun starts through a stand-in for ssh that runs it here.
# Once the first test has printed its result the daemon and its rank are
# killed, while the stand-in stays, as an ssh session to a node that went
# down does until it times out.
cat > "$work/local-ssh" << 'AGENT'
#!/bin/sh
# ssh HOST COMMAND... as mpirun calls it: run COMMAND here, keeping its pid.
shift
sh -c "$*" &
echo $! > "${0%/*}/orted.pid"
wait $!
exec sleep 600
AGENT
chmod +x "$work/local-ssh"
kill_daemon_after_first_result() {
    "$@" &
    local launcher=$! pid=
    for _ in $(seq 600); do
        grep -qs '^WR' console.txt 2> /dev/null && break
        sleep 0.1
    done
    pid=$(cat "$work/orted.pid" 2> /dev/null || true)
    [[ -n $pid ]] && { pkill -KILL -P "$pid"; kill -KILL "$pid"; }
    wait "$launcher"
}
hpl_dat "$hpldir/daemon_lost.dat" 'picluster.hpl fixture: a node lost during the second test' \
    HPL.out 6 '2016 24192' 192 0 1 2 16.0 2 4 2 1 1 1
printf '127.0.0.1 slots=1\n127.0.0.2 slots=1\n' > "$work/hostfile"
xhpl_case daemon_lost 2 console kill_daemon_after_first_result \
    env OMPI_MCA_plm_rsh_agent="$work/local-ssh" OMPI_MCA_orte_default_hostfile="$work/hostfile"

# --------------------------------------------------------------------------
# HPCC cases (Debian's hpcc binary, which links libblas.so.3)
# --------------------------------------------------------------------------
rm -f "$hpccdir"/*.txt "$hpccdir"/*.cmd "$hpccdir"/*.exitcode

# hpccinf.txt: HPL.dat's 31 lines, a separator line, then PTRANS sizes.
hpcc_inf() {
    local file=$1 thresh=$2
    hpl_dat "$file" 'picluster.hpl fixture: HPC Challenge input' \
        HPL.out 8 4032 192 0 1 2 "$thresh" 2 4 2 1 1 1
    {
        printf '#### line 32 is not read by hpcc: it separates HPL from PTRANS ####\n'
        printf '%-12s %s\n' 0 'number of additional problem sizes for PTRANS' \
            '1200 2400' 'values of N' \
            0 'number of additional blocking sizes for PTRANS' \
            '64 96' 'values of NB'
    } >> "$file"
}
hpcc_case() {
    local name=$1
    run_case "$hpccdir" "$name" hpccinf.txt hpccoutf.txt \
        mpirun "${mpiopts[@]}" -np 2 hpcc
}

hpcc_inf "$hpccdir/hpccinf.txt" 16.0
hpcc_case hpccoutf
hpcc_inf "$hpccdir/hpccinf_failed.txt" 1e-20
hpcc_case hpccoutf_failed

# --------------------------------------------------------------------------
# Where and with what the fixtures were made
# --------------------------------------------------------------------------
pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || printf 'not installed'; }
{
    printf 'Generated by tests/support/make-fixtures.sh\n'
    printf 'date (UTC): %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'OS: %s\n' "$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)"
    printf 'kernel: %s %s\n' "$(uname -r)" "$(uname -m)"
    printf 'CPU: %s, %s cores online\n' \
        "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" "$(nproc)"
    printf 'memory: %s\n' "$(awk '/^MemTotal/ { print $2, $3 }' /proc/meminfo)"
    printf 'HPL: 2.0 from HPCC 1.5.0 (hpl-2.0-hpcc.tar.gz sha256 %s)\n' "$tarball_sha"
    printf 'xhpl build: arch=%s (setup/Make.Linux_generic, LAlib = -lopenblas)\n' "$arch"
    printf 'build time (make, 1 job): src/ %ss, testing/ + xhpl %ss, total %ss\n' \
        "$build_lib_s" "$build_xhpl_s" "$build_total_s"
    printf 'compiler: %s\n' "$(mpicc --version | head -1)"
    printf 'Open MPI: %s (openmpi-bin %s)\n' \
        "$(mpirun --version 2>&1 | awk '/Open MPI/ { print $NF; exit }')" "$(pkgver openmpi-bin)"
    printf 'OpenBLAS: libopenblas0-pthread %s\n' "$(pkgver libopenblas0-pthread)"
    printf 'libblas.so.3 (used by hpcc): %s\n' \
        "$(readlink -f /usr/lib/"$(gcc -print-multiarch)"/libblas.so.3)"
    printf 'hpcc: %s\n' "$(pkgver hpcc)"
    printf 'OPENBLAS_NUM_THREADS=1 for every run\n'
} > "$fixdir/environment.txt"

log "done: fixtures in $fixdir"
