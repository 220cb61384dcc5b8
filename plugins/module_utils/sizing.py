# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HPL problem sizing: N, NB and the P x Q grid from each node's memory and cores.

Plain functions with no Ansible imports, shared by the ``hpl_params`` module and the
``hpl_problem_size`` / ``hpl_grid`` filters.

The rules (netlib HPL FAQ/TUNING):

* the N x N matrix of doubles takes ``8 * N**2`` bytes, spread evenly over the P*Q ranks,
  so the node with the least memory per rank bounds N for the whole cluster;
* N is the largest multiple of NB whose share fits in ``memory_fraction`` of that node's
  memory per rank (about 80 % leaves room for the OS and MPI; swapping ruins the run);
* P * Q equals the number of ranks with P <= Q, as square as possible unless a flat
  (1 x ranks) grid is asked for.

And two that sweeps on the project's machines taught (see ``small_n_nb`` and ``depth_for``):
a small N wants a smaller block, and one node wants no look-ahead.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
from collections.abc import Mapping

MIB = 1024 * 1024
BYTES_PER_ELEMENT = 8

# Block size that suits each BLAS on the boards this collection targets: a small multiple
# of the library's DGEMM blocking. Measured sweeps on Raspberry Pi 4/5 put the best NB at
# 192-256; x86 OpenBLAS likes 192-384.
DEFAULT_NB = {
    'openblas': 192,
    'blis': 256,
    'atlas': 256,
    'reference': 64,
}
FALLBACK_NB = 192
# The default NB shrinks when N is under this many blocks: the panel factorisation (about
# NB/N of the work, at a fraction of DGEMM's rate) then costs more than a bigger block
# gains. Medians of interleaved sweeps, 2-core Zen 4 VM, OpenBLAS 0.3.21, 1 x 2, 2026-12-05:
#   N=3072   NB 32-96: 68.5-69.4  128: 66.5  192: 64.6 GFLOPS (432 tests, in tests/unit/fixtures/sweep)
#   N=4992   NB 96: 81.7  128: 80.8  160: 80.4  192: 75.8  256: 77.6 GFLOPS (three of each)
#   N=12000  NB 128: 91.6  192: 93.4  256: 93.8 GFLOPS (depth 0, two of each)
# N / 40 rounded down to a multiple of 32 picks 64, 96 and the default there.
MIN_BLOCKS = 40
NB_STEP = 32
GRID_SHAPES = ('square', 'flat')
MAX_MEMORY_FRACTION = 0.95


class HplInputError(ValueError):
    """Input that cannot describe an HPL run; the message says what to change."""


def default_nb(blas=None):
    """Block size for a BLAS library name (openblas, blis, atlas, reference)."""
    if blas is None:
        return FALLBACK_NB
    key = str(blas).lower()
    if key not in DEFAULT_NB:
        raise HplInputError(
            "unknown BLAS %r: use one of %s, or give nb explicitly"
            % (blas, ', '.join(sorted(DEFAULT_NB))))
    return DEFAULT_NB[key]


def hpl_grid(ranks, shape='square'):
    """Return [P, Q] with P * Q == ranks and P <= Q.

    ``square`` picks the largest P not above sqrt(ranks); ``flat`` gives 1 x ranks,
    which often wins on plain Ethernet because row broadcasts stay on one node.
    """
    ranks = _positive_int(ranks, 'ranks')
    if shape not in GRID_SHAPES:
        raise HplInputError("grid shape %r is not one of %s" % (shape, ', '.join(GRID_SHAPES)))
    if shape == 'flat':
        return [1, ranks]
    p = int(math.isqrt(ranks))
    while ranks % p:
        p -= 1
    return [p, ranks // p]


def small_n_nb(n, nb):
    """The block size for a run of size ``n`` whose default block is ``nb``: ``nb``, or for
    fewer than ``MIN_BLOCKS`` blocks, N / MIN_BLOCKS down to a multiple of 32 (at least 32)."""
    if n >= MIN_BLOCKS * nb:
        return nb
    return min(nb, max(NB_STEP, n // MIN_BLOCKS // NB_STEP * NB_STEP))


def depth_for(node_count):
    """HPL's look-ahead depth: 0 on one node, 1 across several.

    Look-ahead factors the next panel while the update runs, to hide the panel's broadcast
    over the network. On one node there is no network to hide and it only splits the
    update: depth 0 ran faster in every interleaved pair on a 2-core Zen 4 VM, 1 x 2,
    OpenBLAS 0.3.21 (medians: N=3072 67.3 against 64.3, N=4992 81.7 against 78.1,
    N=12000 92.8 against 90.8 GFLOPS). Across nodes 1 stays, netlib's advice.
    """
    return 0 if node_count == 1 else 1


def hpl_problem_size(memory_bytes_per_rank, ranks, nb, memory_fraction=0.8):
    """Largest multiple of ``nb`` whose matrix fits ``memory_fraction`` of every rank's memory.

    ``memory_bytes_per_rank`` is the memory of the bounding rank (the smallest share);
    every rank holds ``8 * N**2 / ranks`` bytes of the matrix.
    """
    ranks = _positive_int(ranks, 'ranks')
    nb = _positive_int(nb, 'nb', MOST['nb'])
    memory_fraction = _fraction(memory_fraction)
    if memory_bytes_per_rank <= 0:
        raise HplInputError("memory per rank must be positive, got %r" % (memory_bytes_per_rank,))
    budget = memory_fraction * memory_bytes_per_rank * ranks
    n_max = math.isqrt(int(budget // BYTES_PER_ELEMENT))
    return (n_max // nb) * nb


def published_rules(memory_bytes, ranks):
    """What two published sizing rules choose for ``memory_bytes`` of matrix memory on
    ``ranks`` processes, to compare with: ``{method: {'n', 'nb', 'p', 'q'}}``.

    * ``rule_top500_benchmark`` (the top500-benchmark playbook): N = 0.9 * sqrt(0.75 *
      memory / 8), not rounded to NB; NB 256; a 1 x ranks grid.
    * ``rule_sqrt80`` (a published HPL.dat generator): N = sqrt(0.8 * memory / 8), NB = sqrt(N)
      clamped to 32 ... 256, the squarest grid.
    """
    ranks = _positive_int(ranks, 'ranks')
    memory = _positive_number(memory_bytes, 'memory_bytes', MOST['memory_mb'] * 2.0 ** 20)
    top500 = int(0.9 * math.sqrt(0.75 * memory / BYTES_PER_ELEMENT))
    sqrt80 = int(math.sqrt(0.8 * memory / BYTES_PER_ELEMENT))
    p, q = hpl_grid(ranks)
    return {
        'rule_top500_benchmark': {'n': top500, 'nb': 256, 'p': 1, 'q': ranks},
        'rule_sqrt80': {'n': sqrt80, 'nb': min(256, max(32, int(math.sqrt(sqrt80)))), 'p': p, 'q': q},
    }


def seconds_for(n, gflops):
    """HPL's own operation count for one solve, turned into seconds at ``gflops``."""
    return (2.0 / 3.0 * n ** 3 + 2.0 * n ** 2) / (gflops * 1e9)


def n_for_seconds(seconds, gflops, nb, overhead_per_n2=0.0):
    """Largest multiple of ``nb`` that runs within ``seconds`` at ``gflops``.

    ``overhead_per_n2`` is work besides the solve that grows with the matrix's memory, in
    seconds per N**2: hpcc sizes its STREAM, PTRANS, RandomAccess and FFT tests from HPL's N.
    """
    def total(n):
        return seconds_for(n, gflops) + overhead_per_n2 * n * n

    # total() grows with n: bisect on the number of blocks, up to the no-overhead answer.
    low, high = 0, int((1.5 * seconds * gflops * 1e9) ** (1.0 / 3.0)) // nb + 1
    while low < high:
        middle = (low + high + 1) // 2
        if total(middle * nb) <= seconds:
            low = middle
        else:
            high = middle - 1
    return low * nb


def time_model(calibration):
    """Fit whole-run time = a*N**2 + b*N**3 to measured runs; return the equivalent
    ``(expected_gflops, overhead_seconds_per_n2)`` for :func:`n_for_seconds`.

    ``calibration`` is a list of ``{'n', 'seconds'}``, each optionally with the ``gflops`` HPL
    reported. One run gives the rate alone (as for xhpl, whose own timing covers only the
    solve). Two or more fit both terms by least squares: hpcc's DGEMM tests grow like N**3
    beside HPL, its RandomAccess, STREAM, PTRANS and FFT tests like N**2. A whole run is
    never faster than its own solve, so b is at least what HPL's reported rate implies,
    which keeps noisy timings (a busy machine) from giving a nonsensical fit.
    """
    if not isinstance(calibration, (list, tuple)) or not calibration:
        raise HplInputError("calibration must list at least one measured run as {n, seconds}")
    points = []
    for index, run in enumerate(calibration):
        if not isinstance(run, Mapping):
            raise HplInputError("calibration[%d] must be a mapping of n and seconds, got %r" % (index, run))
        points.append((float(_positive_int(run.get('n'), 'calibration[%d].n' % index, MOST['n'])),
                       float(_positive_number(run.get('seconds'), 'calibration[%d].seconds' % index,
                                              MOST['seconds']))))
    if len(set(n for n, _seconds in points)) == 1:
        n, seconds = max(points, key=lambda p: p[1])
        return (2.0 / 3.0 * n ** 3 + 2.0 * n ** 2) / seconds / 1e9, 0.0
    s22 = sum(n ** 4 for n, _s in points)
    s23 = sum(n ** 5 for n, _s in points)
    s33 = sum(n ** 6 for n, _s in points)
    y2 = sum(s * n ** 2 for n, s in points)
    y3 = sum(s * n ** 3 for n, s in points)
    determinant = s22 * s33 - s23 * s23
    a = (y2 * s33 - y3 * s23) / determinant
    b = (s22 * y3 - s23 * y2) / determinant
    rates = [float(run['gflops']) for run in calibration if isinstance(run.get('gflops'), (int, float)) and run['gflops'] > 0]
    solve_only = 2.0 / (3.0 * max(rates) * 1e9) if rates else 0.0
    if b < solve_only:
        b = solve_only
        a = sum((s - b * n ** 3) * n ** 2 for n, s in points) / s22
    if a < 0:
        a, b = 0.0, max(y3 / s33, solve_only)
    if b <= 0:
        raise HplInputError("the calibration runs %s did not take longer as N grew: calibrate at "
                            "larger N (benchmark_calibration_n)" % (list(calibration),))
    return 2.0 / (3.0 * b * 1e9), a


# What a node's address may be: a host name, an IPv4 or an IPv6 address. It is written
# into the hostfile and known_hosts and handed to ssh, where a space, a newline or a
# leading dash would be another word, line or option.
ADDRESS = re.compile(r'[A-Za-z0-9:][A-Za-z0-9._:%-]{0,252}')


def node_address(node, name):
    """The address MPI reaches ``node`` at (its name when it has none), checked."""
    address = str(node.get('address') or name)
    if not ADDRESS.fullmatch(address):
        raise HplInputError("node %r has the address %r, which is not a host name or an IP address: give "
                            "hpl_node_address (or ansible_host) as, for example, pi1, pi1.lan or 192.168.1.11"
                            % (name, address))
    return address


def normalise_nodes(nodes):
    """Validate the node list and fill in defaults (ranks = cores, address = name)."""
    if not isinstance(nodes, (list, tuple)) or not nodes:
        raise HplInputError("nodes must be a non-empty list of {name, memory_mb, cores}")
    seen, addresses = set(), {}
    out = []
    for index, node in enumerate(nodes):
        if not isinstance(node, Mapping):
            raise HplInputError("nodes[%d] must be a mapping with name, memory_mb and cores, got %r"
                                % (index, node))
        name = node.get('name')
        if not name:
            raise HplInputError("nodes[%d] has no name: give each node the inventory hostname" % index)
        name = str(name)
        if name in seen:
            raise HplInputError("node %r is listed twice: each node must appear once" % name)
        seen.add(name)
        label = "node %r" % name
        memory_mb = _positive_number(node.get('memory_mb'), label + " memory_mb (MiB, as ansible_memtotal_mb)",
                                     MOST['memory_mb'])
        cores = _positive_int(node.get('cores'), label + " cores", MOST['cores'])
        ranks = node.get('ranks')
        ranks = cores if ranks is None else _positive_int(ranks, label + " ranks", MOST['cores'])
        if ranks > cores:
            raise HplInputError("%s has %d ranks but %d cores: ranks would share cores and HPL slow down; give it "
                                "at most %d ranks (hpl_node_ranks)" % (label, ranks, cores, cores))
        address = node_address(node, name)
        if address in addresses:
            raise HplInputError("nodes %r and %r have the same address %r: MPI would start both nodes' ranks on one "
                                "machine; give each node its own address (ansible_host)"
                                % (addresses[address], name, address))
        addresses[address] = name
        out.append({'name': name, 'address': address, 'memory_mb': memory_mb, 'cores': cores, 'ranks': ranks})
    return out


def hostfile_lines(nodes):
    """Hostfile lines for OpenMPI (``host slots=N``) and MPICH/Hydra (``host:N``)."""
    return {
        'openmpi': ['%s slots=%d' % (n['address'], n['ranks']) for n in nodes],
        'mpich': ['%s:%d' % (n['address'], n['ranks']) for n in nodes],
    }


def hpl_params(nodes, memory_fraction=0.8, nb=None, blas=None, grid_shape='square',
               max_n=None, max_seconds=None, expected_gflops=None, overhead_seconds_per_n2=0.0,
               calibration=None):
    """Size an HPL run for a cluster.

    Returns a dict with ``n``, ``nb`` (the BLAS's default unless given, smaller for a small N:
    ``small_n_nb``), ``p``, ``q``, ``depth`` (``depth_for``), ``ranks``, ``bounding_node``,
    ``memory_per_rank_bytes`` (the bounding share), per-node usage in ``nodes``, the
    ``hostfile`` lines, what capped N (``limited_by``) and human-readable ``warnings``.
    """
    nodes = normalise_nodes(nodes)
    memory_fraction = _fraction(memory_fraction)
    ranks = sum(n['ranks'] for n in nodes)
    bounding = _bounding_node(nodes)

    def size(nb):
        n_value, limited_by = _n_by_memory(bounding, ranks, nb, memory_fraction), 'memory'
        if max_n is not None:
            n_value, limited_by = _capped((n_value, limited_by), _n_by_max_n(max_n, nb), 'max_n')
        if max_seconds is None:
            return n_value, limited_by, None
        rate, overhead = _rate(expected_gflops, overhead_seconds_per_n2, calibration)
        seconds = _positive_number(max_seconds, 'max_seconds', MOST['seconds'])
        n_value, limited_by = _capped((n_value, limited_by), _n_by_seconds(seconds, rate, nb, overhead), 'max_seconds')
        return n_value, limited_by, {
            'seconds': seconds, 'expected_gflops': round(rate, 3), 'overhead_seconds_per_n2': overhead,
            'estimated_seconds': round(seconds_for(n_value, rate) + overhead * n_value ** 2, 1)}

    if nb is None:
        # The BLAS's block, or a smaller one when N comes out small with it.
        nb = default_nb(blas)
        n_value, limited_by, time_budget = size(nb)
        smaller = small_n_nb(n_value, nb)
        if smaller != nb:
            nb = smaller
            n_value, limited_by, time_budget = size(nb)
    else:
        nb = _positive_int(nb, 'nb', MOST['nb'])
        n_value, limited_by, time_budget = size(nb)
    warnings = _setting_warnings(nb, memory_fraction)
    p, q = hpl_grid(ranks, grid_shape)
    usage = _memory_use(nodes, n_value, ranks, memory_fraction)
    warnings += _idle_warning(usage, bounding, memory_fraction)
    return {
        'n': n_value, 'nb': nb, 'p': p, 'q': q, 'depth': depth_for(len(nodes)), 'ranks': ranks,
        'grid_shape': grid_shape,
        'memory_fraction': memory_fraction, 'bounding_node': bounding['name'],
        'memory_per_rank_bytes': bounding['memory_per_rank_bytes'],
        'matrix_bytes': BYTES_PER_ELEMENT * n_value ** 2, 'limited_by': limited_by,
        'time_budget': time_budget, 'nodes': usage, 'hostfile': hostfile_lines(nodes), 'warnings': warnings,
    }


def _capped(current, cap, reason):
    """(N, what limits it): the cap and its reason when it is below the current N."""
    return (cap, reason) if cap < current[0] else current


def _setting_warnings(nb, memory_fraction):
    warnings = []
    if not 32 <= nb <= 256:
        warnings.append("nb=%d is outside 32..256, where HPL's block size almost always belongs" % nb)
    if memory_fraction > 0.9:
        warnings.append("memory_fraction %.2f leaves little for the OS and MPI; a swapping node "
                        "ruins the run" % memory_fraction)
    return warnings


def _bounding_node(nodes):
    """The node with the least memory per rank (ties by name); sets each node's share."""
    for n in nodes:
        n['memory_per_rank_bytes'] = int(n['memory_mb'] * MIB) // n['ranks']
    return min(nodes, key=lambda n: (n['memory_per_rank_bytes'], n['name']))


def _n_by_memory(bounding, ranks, nb, memory_fraction):
    per_rank = bounding['memory_per_rank_bytes']
    n_value = hpl_problem_size(per_rank, ranks, nb, memory_fraction)
    if n_value < nb:
        raise HplInputError(
            "node %r has too little memory per rank (%d MiB) for even one %d x %d block: "
            "lower nb, give that node fewer ranks, or raise memory_fraction"
            % (bounding['name'], per_rank // MIB, nb, nb))
    return n_value


def _n_by_max_n(max_n, nb):
    cap = (_positive_int(max_n, 'max_n', MOST['n']) // nb) * nb
    if cap < nb:
        raise HplInputError("max_n=%s is below nb=%d: raise max_n or lower nb" % (max_n, nb))
    return cap


def _rate(expected_gflops, overhead_seconds_per_n2, calibration):
    """(GFLOPS, seconds per N^2) for a time budget: given, or fitted to calibration runs."""
    if calibration is not None:
        if expected_gflops is not None:
            raise HplInputError("give either calibration or expected_gflops, not both")
        expected_gflops, overhead_seconds_per_n2 = time_model(calibration)
    if expected_gflops is None:
        raise HplInputError("max_seconds needs expected_gflops (the rate you expect the "
                            "cluster to reach) or calibration (measured runs) to turn a time into N")
    rate = _positive_number(expected_gflops, 'expected_gflops', MOST['gflops'])
    overhead = float(overhead_seconds_per_n2 or 0.0)
    if overhead < 0:
        raise HplInputError("overhead_seconds_per_n2 must not be negative, got %r" % (overhead_seconds_per_n2,))
    return rate, overhead


def _n_by_seconds(seconds, rate, nb, overhead):
    cap = n_for_seconds(seconds, rate, nb, overhead)
    if cap < nb:
        raise HplInputError("max_seconds=%s is too short for one %d x %d block at %s GFLOPS: "
                            "raise max_seconds or lower nb" % (seconds, nb, nb, rate))
    return cap


def _memory_use(nodes, n_value, ranks, memory_fraction):
    """Each node's share of the matrix, and how much of its budget it leaves idle."""
    matrix_bytes_per_rank = BYTES_PER_ELEMENT * n_value ** 2 / ranks
    usage = []
    for n in nodes:
        node_bytes = n['memory_mb'] * MIB
        used = matrix_bytes_per_rank * n['ranks']
        usage.append(dict(
            dict((key, n[key]) for key in ('name', 'address', 'memory_mb', 'cores', 'ranks', 'memory_per_rank_bytes')),
            matrix_mb=round(used / MIB, 1), memory_fraction_used=round(used / node_bytes, 4),
            idle_mb=round(max(0.0, memory_fraction * node_bytes - used) / MIB, 1)))
    return usage


def _idle_warning(usage, bounding, memory_fraction):
    """Nodes with more memory per rank than the bound leave part of their budget unused."""
    per_rank = bounding['memory_per_rank_bytes']
    idle = [u for u in usage if u['memory_per_rank_bytes'] > per_rank and u['idle_mb'] >= 1]
    if not idle:
        return []
    return ["%s bounds N with %d MiB per rank; at this N %s" % (
        bounding['name'], per_rank // MIB,
        '; '.join("%s leaves %.0f MiB of its %.0f%% budget idle" % (u['name'], u['idle_mb'], memory_fraction * 100)
                  for u in idle))]


# What no cluster has, per node or run: a larger figure is a typo or a unit mix-up, and
# would only reach the maths as an absurd N or an overflow.
MOST = {'memory_mb': 2 ** 26, 'cores': 4096, 'nb': 4096, 'n': 2 ** 31 - 1, 'seconds': 30 * 86400.0,
        'gflops': 1e12, 'repeats': 1000}


def _positive_int(value, what, most=None):
    if isinstance(value, bool):
        raise HplInputError("%s must be a whole number, got %r" % (what, value))
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        raise HplInputError("%s must be a whole number, got %r" % (what, value))
    if number != value and str(number) != str(value).strip():
        raise HplInputError("%s must be a whole number, got %r" % (what, value))
    if number < 1:
        raise HplInputError("%s must be at least 1, got %r" % (what, value))
    return _at_most(number, what, most)


def _positive_number(value, what, most=None):
    if isinstance(value, bool):
        raise HplInputError("%s must be a number, got %r" % (what, value))
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise HplInputError("%s must be a number, got %r" % (what, value))
    if math.isnan(number) or math.isinf(number) or number <= 0:
        raise HplInputError("%s must be a positive number, got %r" % (what, value))
    return _at_most(int(number) if number.is_integer() else number, what, most)


def _at_most(number, what, most):
    if most is not None and number > most:
        limit = '%g' % most if isinstance(most, float) else most
        raise HplInputError("%s must be at most %s, got %r" % (what, limit, number))
    return number


def _fraction(value):
    number = _positive_number(value, 'memory_fraction')
    if number > MAX_MEMORY_FRACTION:
        raise HplInputError("memory_fraction %r is above %.2f: the OS and MPI need memory too; "
                            "use about 0.80" % (value, MAX_MEMORY_FRACTION))
    return float(number)


def nodes_from_hostvars(hosts):
    """Build the ``nodes`` list from each host's variables (``hostvars[host]``).

    Memory is an explicit ``hpl_node_memory_mb`` if set, else the smaller of the
    ``picluster_hpl_node.memory_mb`` fact (which honours a container's cgroup limit) and
    ``ansible_facts.memtotal_mb``. Cores come from
    ``processor_vcpus``; ``hpl_node_ranks`` sets the ranks. The address MPI uses is
    ``hpl_node_address``, else ``ansible_host``, else the inventory name.
    """
    nodes = []
    for index, host in enumerate(hosts or []):
        if not isinstance(host, Mapping):
            raise HplInputError("host %d is not a mapping of host variables: pass "
                                "groups['cluster'] | map('extract', hostvars)" % index)
        name = host.get('inventory_hostname')
        facts = host.get('ansible_facts') or {}
        node_facts = host.get('picluster_hpl_node') or facts.get('picluster_hpl_node') or {}
        if not facts.get('memtotal_mb') and not node_facts.get('memory_mb') \
                and host.get('hpl_node_memory_mb') is None:
            raise HplInputError("host %r has no memory facts: gather facts first "
                                "(gather_facts: true) or set hpl_node_memory_mb" % (name,))
        if host.get('hpl_node_memory_mb') is not None:
            memory_mb = host['hpl_node_memory_mb']
        else:
            memory_mb = min(float(m) for m in (node_facts.get('memory_mb'), facts.get('memtotal_mb')) if m)
        cores = node_facts.get('cores') or facts.get('processor_vcpus') or facts.get('processor_cores')
        node = {'name': name, 'memory_mb': memory_mb, 'cores': cores}
        if host.get('hpl_node_ranks') is not None:
            node['ranks'] = host['hpl_node_ranks']
        address = host.get('hpl_node_address') or host.get('ansible_host')
        if address:
            node['address'] = address
        nodes.append(node)
    return normalise_nodes(nodes)
