# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ATLAS tuned on the board: what a tuning is valid for, and how far a build has come.

ATLAS tunes itself while it builds, by timing its kernels on the CPU it builds on, so a
built package holds for another node only when nothing its timings depend on differs: the
CPU (ARM's implementer and part numbers, x86's vendor, family and model), the architecture,
the Debian release (its compiler) and the ATLAS package version. :func:`cache_key` names
that; a package built under one key is kept on the controller under it (one directory a key,
holding the .deb and :data:`RECORD`), so every other node with that key installs it instead
of spending hours building its own.

While a build runs, its log (Debian's ``dpkg-buildpackage`` around ATLAS's own
``BEGIN STAGE 1-0-0: SYSTEM PROBE/AUX COMPILE at 21:02`` banners) says how far it is
(:func:`stage`); when it fails, :func:`failure_reason` finds ATLAS's own reason in it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.picluster.hpl.plugins.module_utils.progress import elapsed_text

# What the controller keeps beside each built package: the key and its parts, the build's
# date and length, and the node that built it.
RECORD = 'build.json'
# The build script's own step lines, and ATLAS's stage banners.
STEP = re.compile(r'^picluster-atlas-build: step (\S+)')
ATLAS_STAGE = re.compile(r'^\s*BEGIN STAGE (\d+-\d+-\d+)(?::\s*(.*?))?\s+at\s+\d\d:\d\d\s*$')
# A make target that failed. ATLAS's configure and searches fail some on purpose (a probe,
# a kernel that does not compile) and go on, so only the last chain of them tells.
MAKE_ERROR = re.compile(r'^make(\[\d+\])?: \*\*\* .*')
# Most specific first: ATLAS refusing to tune, ATLAS's own error, then the tools around it.
REASONS = (
    # Its refusals only: its configure also says "Cannot detect CPU throttling." when all is well.
    re.compile(r'.*(It appears you have cpu throttling enabled|CPU Throttling apparently enabled).*', re.IGNORECASE),
    re.compile(r'.*ERROR \d+ DURING .*'),
    re.compile(r'^picluster-atlas-build: error: .*'),
    re.compile(r'^E: .*'),
    re.compile(r'^dpkg-checkbuilddeps: error: .*'),
    MAKE_ERROR,
    re.compile(r'^dpkg-buildpackage: error: .*'),
)
STEPS = {
    'build-dep': "installing ATLAS's build dependencies",
    'source': "fetching ATLAS's Debian source",
    'build': 'building and tuning ATLAS',
    'package': 'keeping the package',
}


def cpu_id(cpuinfo):
    """What ATLAS's tuning depends on in ``/proc/cpuinfo``: ``arm-0x41-0xd08`` (ARM's
    implementer and part, a Cortex-A72), ``x86-AuthenticAMD-23-49`` (vendor, family,
    model), else the model name."""
    fields = {}
    for line in (cpuinfo or '').splitlines():
        name, sep, value = line.partition(':')
        if sep and name.strip() not in fields:
            fields[name.strip()] = value.strip()
    if fields.get('CPU implementer') and fields.get('CPU part'):
        return 'arm-%s-%s' % (fields['CPU implementer'].lower(), fields['CPU part'].lower())
    if fields.get('vendor_id') and fields.get('cpu family') and fields.get('model'):
        return 'x86-%s-%s-%s' % (fields['vendor_id'], fields['cpu family'], fields['model'])
    model = fields.get('model name') or fields.get('Model') or fields.get('Hardware')
    if not model:
        raise ValueError('/proc/cpuinfo names no CPU model (no CPU implementer and part, '
                         'vendor_id and family, or model name)')
    return 'cpu-' + model


def _safe(text):
    return re.sub(r'[^A-Za-z0-9.+-]+', '_', str(text)).strip('_')


def cache_key(cpu, arch, release, version):
    """The name a tuned build is kept under: ``arm64-bookworm-atlas3.10.3-13-arm-0x41-0xd08``."""
    parts = {'cpu': cpu, 'arch': arch, 'release': release, 'version': version}
    missing = sorted(name for name, value in parts.items() if not value)
    if missing:
        raise ValueError('an ATLAS build key needs the %s' % ', '.join(missing))
    return '%s-%s-atlas%s-%s' % (_safe(arch), _safe(release), _safe(version), _safe(cpu))


def stage(log):
    """How far the build in ``log`` has come, in words, or None before it says."""
    step, banner = None, None
    for line in (log or '').splitlines():
        found = STEP.match(line)
        if found:
            step, banner = found.group(1), None
            continue
        found = ATLAS_STAGE.match(line)
        if found:
            banner = 'ATLAS stage %s%s' % (found.group(1), ' (%s)' % found.group(2).lower() if found.group(2) else '')
    if step is None:
        return None
    words = STEPS.get(step, step)
    return '%s, %s' % (words, banner) if banner else words


def failure_reason(log):
    """The line of ``log`` that says why the build failed, with the lines that end its
    sentence: ATLAS's own reason when it gave one, else the first error of the tools around
    it (of make's, the innermost of the last failure), else the log's last line."""
    lines = [line.strip() for line in (log or '').splitlines() if line.strip()]
    for pattern in REASONS:
        found = [index for index, line in enumerate(lines) if pattern.match(line)]
        if found:
            if pattern is MAKE_ERROR:
                return lines[_last_chain(found)]
            index = found[0]
            reason = [lines[index]]
            for more in lines[index + 1:index + 3]:
                if reason[-1].endswith(('.', '!', ':')) or any(other.match(more) for other in REASONS):
                    break
                reason.append(more)
            return ' '.join(reason)
    return lines[-1] if lines else 'the build wrote nothing to its log'


def _last_chain(found):
    """The first of the last run of ``found`` line numbers (a line apart at most, as make prints them)."""
    index = found[-1]
    for earlier in reversed(found[:-1]):
        if index - earlier > 2:
            break
        index = earlier
    return index


def ended_reason(status, log):
    """Why a build that ended without a package failed, from its ``status.json`` and log."""
    if not status:
        return 'it ended without a status (the node lost power, or the unit was killed)'
    if status.get('rc') == 143:
        return 'it was stopped (systemctl stop, or a shutdown) during: %s' % (stage(log) or 'its start')
    return failure_reason(log)


def expected_seconds(records, cpu, arch):
    """How long a build should take on this board: the last successful build of the same CPU
    and architecture (of any release or ATLAS version) in ``records``, else None."""
    same = [record for record in records or []
            if isinstance(record, dict) and record.get('cpu') == cpu and record.get('arch') == arch
            and isinstance(record.get('seconds'), (int, float)) and record['seconds'] > 0]
    if not same:
        return None
    return sorted(same, key=lambda record: str(record.get('built') or ''))[-1]['seconds']


def progress_text(node_stage, elapsed, expected=None):
    """One line for a build that is still running."""
    return 'ATLAS build: %s, %s' % (node_stage or 'starting', elapsed_text(elapsed, expected))
