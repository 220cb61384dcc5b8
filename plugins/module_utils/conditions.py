# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The conditions a run had on each node, and whether they spoil its figures.

Each node's sampler (the benchmark role's ``picluster-hpl-conditions.py``) reports raw
values from just before HPL started to just after it ended: the CPU frequency governor,
the frequency, the load, the SoC temperature, the Raspberry Pi firmware's throttling flags
(``vcgencmd get_throttled``) and the CPU time other processes took. Here they are decoded
and judged: a run is tainted, with the reasons, when the firmware under-volted, capped,
throttled or hit its soft temperature limit during the run, or when other processes took
a share of the CPUs that a benchmark cannot shrug off.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# vcgencmd get_throttled: bits 0-3 are the state now, bits 16-19 the same since boot.
THROTTLED_BITS = ((0, 'under-voltage'), (1, 'frequency capped'), (2, 'throttled'), (3, 'soft temperature limit'))
SINCE_BOOT = 16
# Other processes using more than this many cores on average while HPL ran taint the run:
# a quarter of one core is about 6 % of a Pi 4's four, more than the spread between two
# clean runs.
OTHER_CORES_LIMIT = 0.25


def decode_throttled(value):
    """``{'now': [...], 'since_boot': [...]}`` of vcgencmd get_throttled's bits, or None."""
    if value is None:
        return None
    value = int(value)
    return {'now': [name for bit, name in THROTTLED_BITS if value & (1 << bit)],
            'since_boot': [name for bit, name in THROTTLED_BITS if value & (1 << (bit + SINCE_BOOT))]}


def node_conditions(raw):
    """One node's sampler report -> what the results document keeps of it."""
    raw = raw or {}
    before, after = raw.get('before') or {}, raw.get('after') or {}
    measured = raw.get('measured_seconds') or 0
    other = raw.get('other_cpu_seconds') or 0
    return {
        'samples': raw.get('samples') or 0,
        'governors': list(raw.get('governors') or []),
        # Each a [least, most] pair across the node's CPUs.
        'freq_mhz': {'before': before.get('freq_mhz'), 'after': after.get('freq_mhz'), 'during': raw.get('freq_mhz')},
        'load': {'before': _first(before.get('load')), 'after': _first(after.get('load')),
                 'max': raw.get('load_max')},
        'temp_c': {'before': before.get('temp_c'), 'after': after.get('temp_c'), 'max': raw.get('temp_c_max'),
                   'source': after.get('temp_source') or before.get('temp_source')},
        'throttled': {'before': before.get('throttled'), 'after': after.get('throttled'),
                      'during': raw.get('throttled_any') if after.get('throttled') is not None else None},
        'other_cores': round(other / measured, 3) if measured > 0 else None,
        'steal_cores': round((raw.get('steal_cpu_seconds') or 0) / measured, 3) if measured > 0 else None,
        'other_top': list(raw.get('other_top') or []),
    }


def throttled_during(node):
    """The firmware's flags that fired during the run on ``node``: seen in a sample, or
    come up and gone between two (then only the since-boot bits show it)."""
    throttled = node.get('throttled') or {}
    if throttled.get('after') is None:
        return []
    now = decode_throttled(throttled.get('during') or 0)['now']
    newly = (throttled['after'] & ~(throttled.get('before') or 0)) >> SINCE_BOOT
    return [what for bit, what in THROTTLED_BITS if what in now or newly & (1 << bit)]


def reasons(name, node):
    """Why ``node``'s conditions spoil the run (empty when they do not)."""
    found = ['%s: %s during the run' % (name, what) for what in throttled_during(node)]
    cores = node.get('other_cores')
    if cores is not None and cores > OTHER_CORES_LIMIT:
        top = ', '.join('%s %.1f s' % (comm, seconds) for comm, seconds in node.get('other_top') or [])
        found.append('%s: other processes used %.2f of a core while HPL ran%s' % (
            name, cores, ' (%s)' % top if top else ''))
    return found


def summarise(raw_by_node, power_watts=None, gflops=None):
    """The document's ``conditions``: each node's, the reasons the run is tainted, and
    GFLOPS per watt when the power at the wall was given."""
    nodes = dict((name, node_conditions(raw)) for name, raw in sorted((raw_by_node or {}).items()))
    tainted = [reason for name, node in sorted(nodes.items()) for reason in reasons(name, node)]
    conditions = {'nodes': nodes, 'tainted': tainted, 'power_watts': power_watts, 'gflops_per_watt': None}
    if power_watts and gflops:
        conditions['gflops_per_watt'] = round(float(gflops) / float(power_watts), 4)
    return conditions


def _first(pair):
    return pair[0] if isinstance(pair, (list, tuple)) and pair else pair
