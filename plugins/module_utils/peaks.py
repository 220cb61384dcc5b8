# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Theoretical double-precision peak (Rpeak) of a node, for HPL efficiency.

Rpeak per core = clock x double-precision FLOP per cycle, and FLOP per cycle = doubles per
vector x 2 (a fused multiply-add, or a multiply and an add in separate pipes) x vector
units. Raspberry Pi boards come from their device-tree model (``BOARDS``); any other CPU is
derived from what the node reports: the vector width and FMA from its flags, the number of
FMA units from the core's model where it is known (``X86_CORES``, ``ARM_CORES``; else one,
and the result says so), the clock from cpufreq's maximum, else the model name's nominal,
else /proc/cpuinfo's current figure. Every ingredient is kept in the result, so that a
reader can check the figure, and so is the reason when there is none.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

# (device-tree model pattern, core, default GHz, DP FLOP/cycle/core)
BOARDS = (
    (r'Raspberry Pi 5|Compute Module 5|Raspberry Pi 500', 'Cortex-A76', 2.4, 8),
    (r'Raspberry Pi 4|Compute Module 4|Raspberry Pi 400', 'Cortex-A72', 1.5, 4),
    (r'Raspberry Pi 3 Model B Plus|Compute Module 3 Plus', 'Cortex-A53', 1.4, 4),
    (r'Raspberry Pi 3|Compute Module 3|Raspberry Pi Zero 2', 'Cortex-A53', 1.2, 4),
)

# Arm cores by /proc/cpuinfo "CPU implementer" 0x41 and "CPU part": (core, DP FLOP/cycle).
# A53/A55/A57/A72/A73: 4 (two 64-bit FMA lanes a cycle); A76 and its successors two
# 128-bit FMA pipes (8); X1/V1/V2 four (16).
ARM_CORES = {
    '0xd03': ('Cortex-A53', 4), '0xd05': ('Cortex-A55', 4), '0xd07': ('Cortex-A57', 4),
    '0xd08': ('Cortex-A72', 4), '0xd09': ('Cortex-A73', 4), '0xd0b': ('Cortex-A76', 8),
    '0xd0c': ('Neoverse-N1', 8), '0xd0d': ('Cortex-A77', 8), '0xd41': ('Cortex-A78', 8),
    '0xd44': ('Cortex-X1', 16), '0xd40': ('Neoverse-V1', 16), '0xd49': ('Neoverse-N2', 8),
    '0xd4f': ('Neoverse-V2', 16),
}

# x86 cores: (vendor, family, models, name, DP FLOP/cycle at the widest vector it has).
X86_CORES = (
    ('GenuineIntel', 6, (42, 45, 58, 62), 'Sandy/Ivy Bridge', 8),
    ('GenuineIntel', 6, (60, 63, 69, 70, 61, 71, 79, 86, 78, 94, 142, 158, 165, 166), 'Haswell to Comet Lake', 16),
    ('GenuineIntel', 6, (106, 108, 143, 207, 173, 174), 'Ice Lake-SP to Granite Rapids', 32),
    ('GenuineIntel', 6, (125, 126, 140, 141, 167), 'Ice Lake to Rocket Lake (client)', 16),
    ('GenuineIntel', 6, (151, 154, 183, 186, 191, 170, 172, 197, 198), 'Alder Lake and later (client)', 16),
    ('AuthenticAMD', 21, tuple(range(0x00, 0x100)), 'Bulldozer to Excavator (one FPU per two cores)', 4),
    ('AuthenticAMD', 22, tuple(range(0x00, 0x100)), 'Jaguar / Puma (128-bit pipes)', 4),
    ('AuthenticAMD', 23, tuple(range(0x00, 0x30)), 'Zen / Zen+ (AVX2 on 128-bit pipes)', 8),
    ('AuthenticAMD', 23, tuple(range(0x30, 0x100)), 'Zen 2', 16),
    ('AuthenticAMD', 25, tuple(range(0x00, 0x100)), 'Zen 3 / Zen 4 (AVX-512 on 256-bit pipes)', 16),
    ('AuthenticAMD', 26, tuple(range(0x00, 0x20)) + tuple(range(0x40, 0x50)), 'Zen 5 (512-bit pipes)', 32),
)
# Skylake-SP/Cascade Lake/Cooper Lake and Skylake-X (model 85): two AVX-512 FMA units (32),
# but one (16) on Bronze, Silver, Gold 51xx/52xx other than 5122/5222, i7-7800X/7820X.
SKYLAKE_SP_ONE_UNIT = re.compile(r'Bronze|Silver|Gold [A-Z]?5[12](?!22)\d\d|i7-78[02]0X')

GHZ_IN_NAME = re.compile(r'@\s*([0-9]+(?:\.[0-9]+)?)\s*GHz', re.IGNORECASE)


def peak_per_core(cpu, arch=None, board='', override_gflops=None):
    """Rpeak of one core and how it was found, from ``cpu`` (``node_info.parse_cpuinfo``
    with ``cpufreq_max_mhz`` added) on a node of machine ``arch`` (``uname -m``).

    Returns ``{'gflops', 'source', 'core', 'ghz', 'ghz_from', 'flops_per_cycle',
    'vector_bits', 'fma', 'fma_units', 'fma_units_known', 'explain'}``; ``source`` is
    ``override``, ``board``, ``cpu``, ``emulated`` or ``unknown`` (``gflops`` None, and
    ``explain`` says why).
    """
    cpu = cpu or {}
    if override_gflops is not None:
        return _peak('override', gflops=float(override_gflops),
                     explain='benchmark_rpeak_gflops_per_core = %g GFLOPS' % float(override_gflops))
    why = emulated(cpu, arch)
    if why:
        return _peak('emulated', explain=why)
    for pattern, core, default_ghz, flops in BOARDS:
        if re.search(pattern, board or ''):
            ghz, ghz_from = clock(cpu) if cpu.get('cpufreq_max_mhz') else (default_ghz, 'the board table')
            return _done(_peak('board', **_units(core, 128, True, flops)), ghz, ghz_from, '%s (%s)' % (core, board))
    units = _vector_units(cpu)
    if units is None:
        return _peak('unknown', explain='no vector width or FMA in /proc/cpuinfo for this %s CPU'
                     % (arch or 'unknown'))
    ghz, ghz_from = clock(cpu)
    return _done(_peak('cpu', **units), ghz, ghz_from, units['core'])


def node_peak(cpu, arch=None, board='', override_gflops=None):
    """``peak_per_core`` of the node's fastest core; on a node whose cores differ (``cpu['each']``
    from ``node_info.each_processor``: an RK3588's Cortex-A76 and A55, an Alder Lake's P- and
    E-cores), with ``core_types``: each kind's peak at its highest clock and how many cores
    it has, fastest first, for ``cluster_rpeak`` to count the ranks' cores."""
    kinds = {}
    for each in (cpu or {}).get('each') or []:
        kind = kinds.setdefault((each.get('cpu part'), each.get('core_type')), {'cores': 0, 'mhz': None})
        kind['cores'] += 1
        kind['mhz'] = max(filter(None, (kind['mhz'], each.get('cpufreq_max_mhz'))), default=None)
    if len(kinds) < 2 or override_gflops is not None:
        return peak_per_core(cpu, arch, board, override_gflops)
    types = []
    for (part, core_type), kind in kinds.items():
        variant = dict(cpu, **{'cpu part': part, 'core_type': core_type,
                               'cpufreq_max_mhz': kind['mhz'] or cpu.get('cpufreq_max_mhz')})
        types.append(dict(peak_per_core(variant, arch, board), cores=kind['cores']))
    if any(peak['gflops'] is None for peak in types):
        return peak_per_core(cpu, arch, board)  # as the first processor says, for want of better
    types.sort(key=lambda peak: -peak['gflops'])
    kept = ('cores', 'core', 'ghz', 'flops_per_cycle', 'gflops')
    fastest = dict(types[0], core_types=[dict((key, peak[key]) for key in kept) for peak in types])
    fastest['explain'] = '%d kinds of core, counted fastest first for the ranks: %s' % (
        len(types), '; '.join('%d x %s' % (peak['cores'], peak['explain']) for peak in types))
    return fastest


def _peak(source, **values):
    peak = dict.fromkeys(('gflops', 'core', 'ghz', 'ghz_from', 'flops_per_cycle', 'vector_bits', 'fma',
                          'fma_units', 'fma_units_known', 'explain'))
    peak.update(values, source=source)
    return peak


def _done(peak, ghz, ghz_from, core_text):
    """``peak`` with its clock and GFLOPS, and the sum written out."""
    width = '%d-bit %s' % (peak['vector_bits'], 'FMA' if peak['fma'] else 'add + multiply')
    units = '' if peak['fma_units'] is None else ' x %d unit%s%s' % (
        peak['fma_units'], 's' if peak['fma_units'] > 1 else '',
        '' if peak['fma_units_known'] else ' (not known for this model: one assumed)')
    if not ghz:
        peak.update(source='unknown', explain='%s: %s%s = %d FLOP/cycle, but no clock (no cpufreq, no GHz in '
                    'the model name): set benchmark_rpeak_gflops_per_core' % (core_text, width, units,
                                                                              peak['flops_per_cycle']))
        return peak
    peak.update(ghz=round(ghz, 4), ghz_from=ghz_from, gflops=round(ghz * peak['flops_per_cycle'], 4))
    peak['explain'] = '%s: %s%s = %d FLOP/cycle x %.3f GHz (%s) = %.2f GFLOPS per core' % (
        core_text, width, units, peak['flops_per_cycle'], ghz, ghz_from, peak['gflops'])
    return peak


def emulated(cpu, arch):
    """Why the CPU described is not the one the node's code runs on (qemu-user shows the
    host's /proc/cpuinfo), or None."""
    # qemu 8.2 and later write their own /proc/cpuinfo for an Arm guest, implementer 0x00.
    if (arch or '').startswith(('aarch64', 'arm')) and cpu.get('cpu implementer', '').lower() == '0x00':
        return ('emulated: /proc/cpuinfo names CPU implementer 0x00, as qemu describes the CPU it emulates: '
                'the node has no peak of its own')
    described = _described(cpu)
    running = 'x86' if arch in ('x86_64', 'i686', 'i386') else 'arm' if (arch or '').startswith(('aarch64', 'arm')) else None
    if described and running and described != running:
        return ('emulated: /proc/cpuinfo describes an %s CPU (%s), but the node runs %s code, through an emulator '
                'such as qemu: it has no peak of its own' % (described, cpu.get('model name') or 'unnamed', arch))
    return None


def _described(cpu):
    """Which kind of CPU /proc/cpuinfo describes: x86, arm or None."""
    if cpu.get('vendor_id') or 'flags' in cpu:
        return 'x86'
    return 'arm' if 'cpu implementer' in cpu else None


def _vector_units(cpu):
    """Vector width, FMA and FMA units (known or assumed) of the CPU, or None."""
    described = _described(cpu)
    return _x86_units(cpu) if described == 'x86' else _arm_units(cpu) if described == 'arm' else None


def _x86_units(cpu):
    flags = set(cpu.get('flags', '').split())
    if 'avx512f' in flags:
        bits, fma = 512, True
    elif 'avx' in flags:
        bits, fma = 256, 'fma' in flags
    elif 'sse2' in flags:
        bits, fma = 128, False
    else:
        return None
    vendor, family, model = cpu.get('vendor_id'), _int(cpu.get('cpu family')), _int(cpu.get('model'))
    core, flops = '%s family %s model %s' % (vendor or 'x86', family, model), None
    for known_vendor, known_family, models, name, known_flops in X86_CORES:
        if (vendor, family) == (known_vendor, known_family) and model in models:
            core, flops = '%s, %s' % (name, core), known_flops
    if vendor == 'GenuineIntel' and cpu.get('core_type') == 'atom':
        # A hybrid's E-core (Gracemont and later): AVX2 on two 128-bit FMA pipes.
        core, flops = 'E-core (Gracemont and later), %s' % core, 8
    if (vendor, family, model) == ('GenuineIntel', 6, 85):
        flops = 16 if SKYLAKE_SP_ONE_UNIT.search(cpu.get('model name', '')) else 32
        core = 'Skylake-SP to Cooper Lake, %s' % core
    return _units(core, bits, fma, flops)


def _arm_units(cpu):
    if 'asimd' not in cpu.get('features', '').split():
        return None
    part = (cpu.get('cpu part') or '').lower()
    known = ARM_CORES.get(part) if cpu.get('cpu implementer', '').lower() == '0x41' else None
    core, flops = known or ('Arm core %s/%s' % (cpu.get('cpu implementer'), part or '?'), None)
    return _units(core, 128, True, flops)


def _units(core, bits, fma, flops):
    """The vector units: ``flops`` per cycle where the core is known (no more than two FMA
    pipes of the width the flags expose, or one add and one multiply without FMA: a VM may
    hide AVX-512 or FMA), else one unit."""
    # 64-bit doubles per vector, x 2 for the multiply and the add.
    per_unit = bits // 64 * 2
    if flops:
        flops = min(flops, per_unit * (2 if fma else 1))
    return {'core': core, 'vector_bits': bits, 'fma': fma, 'fma_units': max(1, (flops or per_unit) // per_unit),
            'fma_units_known': flops is not None, 'flops_per_cycle': flops or per_unit}


def clock(cpu):
    """(GHz, where it came from): cpufreq's maximum, the model name's nominal, or the
    current clock /proc/cpuinfo shows (on a VM, the host's nominal); (None, None)."""
    if cpu.get('cpufreq_max_mhz'):
        return float(cpu['cpufreq_max_mhz']) / 1000, 'cpufreq maximum'
    named = GHZ_IN_NAME.search(cpu.get('model name', ''))
    if named:
        return float(named.group(1)), 'model name'
    mhz = megahertz(cpu.get('cpu mhz'))
    return (mhz / 1000, '/proc/cpuinfo cpu MHz') if mhz else (None, None)


def megahertz(text):
    """A clock in MHz as a number, or None for what is not a positive, finite, earthly one."""
    try:
        mhz = float(text)
    except (TypeError, ValueError):
        return None
    return mhz if 0 < mhz < 1e6 else None


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def at_least(peak, dgemm_gflops):
    """``peak``, its clock raised when one core's measured DGEMM beats it: no core computes
    faster than its peak, so it runs at least DGEMM / FLOP per cycle (a VM's cpu MHz is the
    host's nominal clock, and boost runs above it). Overrides and board tables stay."""
    if not peak or peak.get('source') != 'cpu' or not peak.get('gflops') or not dgemm_gflops \
            or dgemm_gflops <= peak['gflops'] or peak.get('core_types'):
        return peak
    ghz = float(dgemm_gflops) / peak['flops_per_cycle']
    raised = dict(peak, ghz=round(ghz, 4), gflops=round(float(dgemm_gflops), 4),
                  ghz_from='at least, from DGEMM %.1f GFLOPS on one core' % dgemm_gflops)
    raised['explain'] = '%s; but one core\'s DGEMM measured %.2f GFLOPS, so the clock is at least %.3f GHz ' \
        'and the peak at least %.2f GFLOPS per core' % (peak['explain'], dgemm_gflops, ghz, dgemm_gflops)
    return raised


def cluster_rpeak(nodes):
    """Sum of ``ranks x peak per core`` over nodes; None if any node's peak is unknown.

    Each node is ``{'name', 'ranks', 'peak': node_peak(...)}``: HPL uses one core per rank,
    so cores left without a rank do not count towards the peak the run could reach; on a
    node with cores of several kinds, the ranks count the fastest first.
    """
    total = 0.0
    for node in nodes:
        peak = node.get('peak') or {}
        if peak.get('gflops') is None:
            return None
        # A node of one kind counts each rank; one of several kinds its cores, fastest first.
        ranks, kinds = node['ranks'], peak.get('core_types') or [{'cores': node['ranks'], 'gflops': peak['gflops']}]
        for kind in kinds:
            total += kind['gflops'] * min(ranks, kind['cores'])
            ranks -= min(ranks, kind['cores'])
    return round(total, 4)


def efficiency(gflops, rpeak):
    """Fraction of Rpeak reached (0..1), or None when the peak is not known (or either
    figure is not a finite number, or the peak not above zero)."""
    try:
        gflops, rpeak = float(gflops), float(rpeak)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(gflops) and math.isfinite(rpeak)) or gflops < 0 or rpeak <= 0:
        return None
    return round(gflops / rpeak, 4)
