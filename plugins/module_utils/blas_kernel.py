# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which kernel a BLAS really runs, and a better one when it fell back to a generic one.

OpenBLAS built with DYNAMIC_ARCH (Debian's) and BLIS built for a family of CPUs pick their
kernels when they are loaded, from the CPU's model; a CPU newer than the library gets a
generic fallback. OpenBLAS 0.3.21 runs its SSE3 ``Prescott`` kernel on an AVX-512 Xeon it
does not know, five times slower; BLIS 0.9.0 runs its ``generic`` C kernels on a Zen 5,
eight times slower than its ``skx`` ones. Each library says what it picked (OpenBLAS's
``openblas_get_corename()``, BLIS's ``bli_arch_query_id()``) and takes another from an
environment variable (``OPENBLAS_CORETYPE=<name>``, ``BLIS_ARCH_TYPE=<number>``).
``PROBE`` runs in a process of its own, since the library reads that variable once, as it
loads: it reports the kernel, checks that DGEMM computes the right product, and measures
it. ``choose`` decides, from what the probes found, which kernel every HPL rank gets.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Run as ``python3 -c PROBE <library> <n> [<processor>]``: prints a JSON object with the
# kernel (OpenBLAS's core name or BLIS's configuration), whether a small DGEMM gave the
# right product and, for n > 0, the best of a few n x n DGEMMs in GFLOPS on one thread (on
# that processor, if given: a hybrid CPU's fastest).
PROBE = r'''
import ctypes, glob, json, os, random, sys, time
if len(sys.argv) > 3:
    os.sched_setaffinity(0, {int(sys.argv[3])})
lib = ctypes.CDLL(sys.argv[1])
n = int(sys.argv[2])
found = {}
for key, name in (("corename", "openblas_get_corename"), ("config", "openblas_get_config")):
    function = getattr(lib, name, None)
    if function is not None:
        function.restype = ctypes.c_char_p
        found[key] = function().decode("ascii", "replace").strip()
# Debian's BLIS keeps its own API in libblis.so.4 beside the libblas.so.3 it serves (that
# copy aborts when BLIS_ARCH_TYPE is set: then the caller knows what it asked for).
siblings = [] if os.environ.get("BLIS_ARCH_TYPE") else glob.glob(os.path.join(os.path.dirname(sys.argv[1]), "libblis.so.*"))
for blis in [lib] + [ctypes.CDLL(path) for path in siblings]:
    if "corename" not in found and hasattr(blis, "bli_arch_query_id"):
        blis.bli_arch_string.restype = ctypes.c_char_p
        found["corename"] = blis.bli_arch_string(blis.bli_arch_query_id()).decode("ascii", "replace")
        # BLIS_ARCH_TYPE takes a configuration's number: their names in order, generic last.
        found["arches"] = []
        while len(found["arches"]) < 64 and (not found["arches"] or found["arches"][-1] not in ("generic", None)):
            name = blis.bli_arch_string(len(found["arches"]))
            found["arches"].append(name.decode("ascii", "replace") if name else None)

def dgemm(size, a, b, c):
    dim, one, zero, no = ctypes.c_int(size), ctypes.c_double(1.0), ctypes.c_double(0.0), ctypes.c_char(b"N")
    lib.dgemm_(ctypes.byref(no), ctypes.byref(no), ctypes.byref(dim), ctypes.byref(dim), ctypes.byref(dim),
               ctypes.byref(one), a, ctypes.byref(dim), b, ctypes.byref(dim), ctypes.byref(zero), c, ctypes.byref(dim))

size = 67
rng = random.Random(1)
a = (ctypes.c_double * (size * size))(*[rng.uniform(-1, 1) for _ in range(size * size)])
b = (ctypes.c_double * (size * size))(*[rng.uniform(-1, 1) for _ in range(size * size)])
c = (ctypes.c_double * (size * size))()
dgemm(size, a, b, c)
error = max(abs(c[i + j * size] - sum(a[i + k * size] * b[k + j * size] for k in range(size)))
            for i in range(0, size, 7) for j in range(0, size, 5))
found["dgemm_correct"] = error < 1e-10
if n > 0 and found["dgemm_correct"]:
    a, b, c = [(ctypes.c_double * (n * n))() for _ in range(3)]
    for i in range(0, n * n, 97):
        a[i] = b[i] = 1.0
    best, spent = None, 0.0
    while spent < 1.0 or best is None:
        started = time.perf_counter()
        dgemm(n, a, b, c)
        seconds = time.perf_counter() - started
        spent += seconds
        best = seconds if best is None else min(best, seconds)
    found["dgemm_gflops"] = round(2.0 * n ** 3 / best / 1e9, 3)
print(json.dumps(found))
'''

# Each library's kernels, best first, and what they need: x86 CPU flags (all of them), or
# for BLIS on AMD the vendor too; Arm CPU parts (implementer 0x41).
X86 = {
    'openblas': (
        ('Cooperlake', ('avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512_bf16')),
        ('SkylakeX', ('avx512f', 'avx512bw', 'avx512vl', 'avx512dq', 'avx512cd')),
        ('Haswell', ('avx2', 'fma')),
        ('Sandybridge', ('avx',)),
        ('Nehalem', ('sse4_2',)),
        ('Core2', ('ssse3',)),
        ('Prescott', ('pni',)),
    ),
    'blis': (
        ('skx', ('avx512f', 'avx512bw', 'avx512vl', 'avx512dq')),
        ('zen3', ('AuthenticAMD', 'avx2', 'fma', 'vaes')),
        ('zen2', ('AuthenticAMD', 'avx2', 'fma', 'clwb')),
        ('zen', ('AuthenticAMD', 'avx2', 'fma')),
        ('haswell', ('avx2', 'fma')),
        ('sandybridge', ('avx',)),
        ('penryn', ('ssse3',)),
    ),
}
ARM = {
    'openblas': {'0xd03': 'CORTEXA53', '0xd05': 'CORTEXA55', '0xd07': 'CORTEXA57', '0xd08': 'CORTEXA72',
                 '0xd09': 'CORTEXA73', '0xd0b': 'NEOVERSEN1', '0xd0c': 'NEOVERSEN1', '0xd0d': 'NEOVERSEN1',
                 '0xd41': 'NEOVERSEN1', '0xd40': 'NEOVERSEV1', '0xd49': 'NEOVERSEN2'},
    'blis': {'0xd03': 'cortexa53', '0xd05': 'cortexa53', '0xd07': 'cortexa57', '0xd08': 'cortexa57',
             '0xd09': 'cortexa57', '0xd0b': 'cortexa57', '0xd0c': 'cortexa57', '0xd0d': 'cortexa57',
             '0xd41': 'cortexa57'},
}
ARM_GENERIC = {'openblas': 'ARMV8', 'blis': None}
# The environment variable that selects a kernel.
VARIABLE = {'openblas': 'OPENBLAS_CORETYPE', 'blis': 'BLIS_ARCH_TYPE'}
# What a library runs when it does not know the CPU.
GENERIC = frozenset(('prescott', 'core2', 'katmai', 'northwood', 'banias', 'atom', 'armv8', 'generic'))
# A kernel is kept over the library's choice only when it is this much faster.
FASTER = 1.05


def candidates(cpu, library='openblas'):
    """The ``library``'s kernels that suit the CPU (``node_info.parse_cpuinfo``), best first."""
    flags = set(cpu.get('flags', '').split())
    if flags:
        flags.add(cpu.get('vendor_id'))
        return [name for name, needs in X86.get(library, ()) if flags.issuperset(needs)]
    if 'asimd' not in cpu.get('features', '').split():
        return []
    part = (cpu.get('cpu part') or '').lower() if (cpu.get('cpu implementer') or '').lower() == '0x41' else None
    names = [ARM.get(library, {}).get(part), ARM_GENERIC.get(library)]
    return [name for name in names if name]


def is_generic(kernel):
    return (kernel or '').lower() in GENERIC


def better_than(own, cpu, library='openblas', limit=3):
    """The candidates (best first, at most ``limit``) that rank above the library's own
    choice ``own``: all of them when it chose a kernel that does not suit the CPU."""
    names = [name for name in candidates(cpu, library) if not is_generic(name)]
    ranked = [name.lower() for name in names]
    if (own or '').lower() in ranked:
        names = names[:ranked.index(own.lower())]
    return names[:limit]


def choose(setting, node_value, library, probes, variable='OPENBLAS_CORETYPE'):
    """The kernel every rank gets: ``{'kernel', 'source', 'environment', 'reason'}``.

    ``setting`` is ``auto``, ``library`` or a kernel's name; ``node_value`` the node's own
    ``variable`` (honoured, never overridden); ``library`` the probe of the library's own
    choice; ``probes`` the probes of the better candidates, by name, best first (each with
    ``corename``, ``offered``, ``value`` (what ``variable`` was set to), ``dgemm_correct``
    and ``dgemm_gflops``).
    """
    own = library.get('corename')
    if node_value:
        return _chosen(own, 'node environment', variable, node_value,
                       '%s=%s is set on the node: honoured as it is' % (variable, node_value))
    if setting == 'library':
        return _chosen(own, 'library', variable, None, 'the library\'s own choice, %s, as asked' % own)
    if setting != 'auto':
        return _chosen(setting, 'forced', variable, probes[setting]['value'], '%s is forced' % setting)
    for name, probe in probes.items():
        why = faster(probe, library)
        if why:
            return _chosen(name, 'auto', variable, probe['value'], why)
    return _chosen(own, 'library', variable, None, 'the library\'s own %s: %s' % (own, _why_kept(library, probes)))


def _chosen(kernel, source, variable, value, reason):
    return {'kernel': kernel, 'source': source, 'reason': reason,
            'environment': {variable: str(value)} if value is not None else {}}


def faster(probe, library):
    """Why ``probe`` wins over the library's choice, or None."""
    mine, theirs = probe.get('dgemm_gflops'), library.get('dgemm_gflops')
    if not probe.get('offered') or not probe.get('dgemm_correct') or not mine or not theirs or mine < FASTER * theirs:
        return None
    return ('the library chose %s (DGEMM %.1f GFLOPS on one core); %s is %.1fx faster (%.1f GFLOPS) and '
            'computes the right product' % (library.get('corename'), theirs, probe.get('corename'),
                                            mine / theirs, mine))


def _why_kept(library, probes):
    if not probes:
        return 'no better kernel for this CPU' if not is_generic(library.get('corename')) else \
            'a generic kernel, and the library offers none better for this CPU'
    return '; '.join('%s %s' % (name, _verdict(probe, library)) for name, probe in probes.items())


def _verdict(probe, library):
    if probe.get('failed'):
        return 'failed (%s)' % probe['failed']
    if not probe.get('offered'):
        return 'is not in this library (it ran %s)' % probe.get('corename')
    if not probe.get('dgemm_correct'):
        return 'gave a wrong product'
    return 'was not faster (%s GFLOPS against %s)' % (probe.get('dgemm_gflops'), library.get('dgemm_gflops'))


# What a kept decision depends on, of the CPU as node_info.parse_cpuinfo describes it: its
# model, not its whole flags line (a kernel or microcode update changes that), and below the
# kernels its flags allow.
CPU_KEYS = ('vendor_id', 'cpu family', 'model', 'model name', 'cpu implementer', 'cpu part')


def decision_key(library, stat, cpu, name, setting):
    """What a decision of ``auto`` holds for: the library's file (``stat`` of its real file:
    an upgrade changes its size or time), the CPU (its model, and ``name``'s kernels its
    flags allow), and the setting. Compared again only when one of them changes, so that
    two kernels within the noise of each other do not swap places from run to run."""
    described = dict((key, cpu.get(key)) for key in CPU_KEYS)
    described['kernels'] = candidates(cpu, name)
    return {'library': library, 'size': stat.st_size, 'mtime': int(stat.st_mtime), 'setting': setting,
            'cpu': described}


def recall(record, key, library):
    """The decision in ``record`` (``{'key', 'decided', 'chosen', 'library_kernel',
    'library_dgemm_gflops', 'probes'}``) when it was made for ``key`` and the library, just
    loaded, still chooses the kernel it chose then; else None (also for a record that is not
    whole: it is compared again and written anew)."""
    if not isinstance(record, dict) or record.get('key') != key or not isinstance(record.get('decided'), str):
        return None
    chosen = record.get('chosen')
    if not isinstance(chosen, dict) or not isinstance(chosen.get('environment'), dict) \
            or not all(isinstance(chosen.get(field), str) for field in ('kernel', 'source', 'reason')):
        return None
    if record.get('library_kernel') != library.get('corename') or not isinstance(record.get('probes', {}), dict):
        return None
    return record


def kept_reason(record):
    return '%s (compared on %s and kept until the library or the CPU changes; blas_kernel_remeasure ' \
        'compares again)' % (record['chosen']['reason'], record['decided'])
