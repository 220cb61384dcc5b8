# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Theoretical double-precision peak (Rpeak) of a node, for HPL efficiency.

Rpeak per core = clock (GHz) x double-precision FLOP per cycle. Raspberry Pi boards are
known by their device-tree model; other Arm cores by their CPU part number. x86 clocks in
a VM or under boost are not knowable from inside, so x86 gets no guess: give the peak per
core explicitly (``benchmark_rpeak_gflops_per_core``) to have an efficiency there.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# (device-tree model pattern, core, default GHz, DP FLOP/cycle/core)
BOARDS = (
    (r'Raspberry Pi 5|Compute Module 5|Raspberry Pi 500', 'Cortex-A76', 2.4, 8),
    (r'Raspberry Pi 4|Compute Module 4|Raspberry Pi 400', 'Cortex-A72', 1.5, 4),
    (r'Raspberry Pi 3 Model B Plus|Compute Module 3 Plus', 'Cortex-A53', 1.4, 4),
    (r'Raspberry Pi 3|Compute Module 3|Raspberry Pi Zero 2', 'Cortex-A53', 1.2, 4),
)

# Arm CPU part numbers (/proc/cpuinfo "CPU part") -> (core, DP FLOP/cycle/core). Two
# 128-bit FMA pipes give 8; one gives 4.
ARM_CORES = {
    '0xd03': ('Cortex-A53', 4),
    '0xd08': ('Cortex-A72', 4),
    '0xd0b': ('Cortex-A76', 8),
    '0xd0c': ('Neoverse-N1', 8),
}


def peak_per_core(model='', cpu_part=None, cpu_max_mhz=None, override_gflops=None):
    """Rpeak of one core as ``{'gflops', 'core', 'ghz', 'flops_per_cycle', 'source'}``.

    ``source`` is ``override`` (given by the user), ``board`` (Raspberry Pi model table),
    ``cpu`` (Arm core table) or ``unknown`` (``gflops`` None). A measured maximum clock
    (``cpu_max_mhz``, from cpufreq) wins over the board's default, so an overclocked or
    1.8 GHz Pi 4 gets its own peak.
    """
    if override_gflops is not None:
        return {'gflops': float(override_gflops), 'core': None, 'ghz': None,
                'flops_per_cycle': None, 'source': 'override'}
    ghz = float(cpu_max_mhz) / 1000.0 if cpu_max_mhz else None
    for pattern, core, default_ghz, flops in BOARDS:
        if re.search(pattern, model or ''):
            clock = ghz or default_ghz
            return {'gflops': round(clock * flops, 4), 'core': core, 'ghz': clock,
                    'flops_per_cycle': flops, 'source': 'board'}
    part = (cpu_part or '').lower()
    if part in ARM_CORES and ghz:
        core, flops = ARM_CORES[part]
        return {'gflops': round(ghz * flops, 4), 'core': core, 'ghz': ghz,
                'flops_per_cycle': flops, 'source': 'cpu'}
    return {'gflops': None, 'core': None, 'ghz': ghz, 'flops_per_cycle': None, 'source': 'unknown'}


def cluster_rpeak(nodes):
    """Sum of ``ranks x peak per core`` over nodes; None if any node's peak is unknown.

    Each node is ``{'name', 'ranks', 'peak': peak_per_core(...)}``: HPL uses one core per rank,
    so cores left without a rank do not count towards the peak the run could reach.
    """
    total = 0.0
    for node in nodes:
        gflops = (node.get('peak') or {}).get('gflops')
        if gflops is None:
            return None
        total += gflops * node['ranks']
    return round(total, 4)


def efficiency(gflops, rpeak):
    """Fraction of Rpeak reached (0..1), or None when the peak is not known."""
    if not rpeak or gflops is None:
        return None
    return round(float(gflops) / float(rpeak), 4)
