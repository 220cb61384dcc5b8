# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a node is, for HPL: board model, CPU, clock, usable memory and boot medium.

Ansible's own facts miss what matters here: a Raspberry Pi's model and clock (its peak),
a container's memory limit (inside one, MemTotal is the host's), and whether the root
filesystem is on the SD card or on NFS. Everything is read from files below ``root``
(``/`` on a real node), so it is tested on real file trees.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.picluster.hpl.plugins.module_utils.peaks import megahertz, node_peak

MIB = 1024 * 1024
# cgroup v1 reports "no limit" as a huge page-aligned number.
CGROUP_UNLIMITED = 1 << 60


def read_text(root, path):
    """Text of ``root/path``, or None when it does not exist or cannot be read."""
    try:
        with open(os.path.join(root, path.lstrip('/')), 'rb') as handle:
            return handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return None


def memtotal_mb(meminfo):
    match = re.search(r'^MemTotal:\s+(\d+)\s*kB', meminfo or '', re.MULTILINE)
    return int(match.group(1)) // 1024 if match else None


def cgroup_limit_mb(root='/'):
    """The tightest memory limit on this process's cgroup and its ancestors, in MiB.

    /proc/self/cgroup names the process's cgroup: ``0::<path>`` under cgroup v2,
    ``<n>:memory:<path>`` under v1. A container with its own cgroup namespace sees its
    cgroup as the root of /sys/fs/cgroup; one sharing the host's (``--cgroupns=host``, the
    only kind on cgroup v1) finds it at the full path, e.g. /sys/fs/cgroup/memory/docker/<id>.
    None when no limit is set.
    """
    limits = []
    for line in (read_text(root, '/proc/self/cgroup') or '0::/').splitlines():
        fields = line.split(':', 2)
        if len(fields) != 3:
            continue
        hierarchy, controllers, path = fields
        if hierarchy == '0' and not controllers:
            base, name = '/sys/fs/cgroup', 'memory.max'
        elif 'memory' in controllers.split(','):
            base, name = '/sys/fs/cgroup/memory', 'memory.limit_in_bytes'
        else:
            continue
        parts = [part for part in path.split('/') if part]
        for depth in range(len(parts), -1, -1):
            value = (read_text(root, '/'.join([base] + parts[:depth] + [name])) or '').strip()
            if value.isdigit() and int(value) < CGROUP_UNLIMITED:
                limits.append(int(value) // MIB)
    return min(limits) if limits else None


# What /proc/cpuinfo says of the first processor (and, on a Pi, of the board) that the
# peak and the facts need.
CPUINFO_KEYS = ('model name', 'vendor_id', 'cpu family', 'model', 'cpu mhz', 'flags', 'features',
                'cpu implementer', 'cpu part', 'hardware', 'revision', 'serial')
# lscpu's names for the same, for what /proc/cpuinfo leaves out.
LSCPU_KEYS = {'model name': 'model name', 'vendor id': 'vendor_id', 'cpu family': 'cpu family',
              'model': 'model', 'flags': 'flags', 'cpu max mhz': 'cpufreq_max_mhz'}


def parse_cpuinfo(text, lscpu=None):
    """The CPU as /proc/cpuinfo describes its first processor (keys in lower case), the
    number of processors, and from ``lscpu``'s output what /proc/cpuinfo lacks."""
    info = {'processors': 0, 'numbers': [], 'parts': []}
    for line in (text or '').splitlines():
        key, dummy, value = line.partition(':')
        key, value = key.strip().lower(), value.strip()
        if key == 'processor':
            info['processors'] += 1
            info['numbers'].append(int(value) if value.isdigit() else info['processors'] - 1)
        elif key == 'cpu part':
            # Each processor's: big.LITTLE boards (RK3588: Cortex-A55 and A76) mix them.
            info['parts'].append(value)
        if key in CPUINFO_KEYS and key not in info:
            info[key] = value
    for line in (lscpu or '').splitlines():
        key, dummy, value = line.partition(':')
        name = LSCPU_KEYS.get(key.strip().lower())
        if name and value.strip() and name not in info:
            info[name] = value.strip()
    if 'cpufreq_max_mhz' in info:
        mhz = megahertz(info['cpufreq_max_mhz'])
        info['cpufreq_max_mhz'] = int(mhz) if mhz else None
    return info


def each_processor(root, cpu):
    """What differs between the processors of a hybrid CPU, one entry each (by the numbers
    /proc/cpuinfo gives them): the Arm core (``cpu part``), cpufreq's maximum clock, and
    Intel's E-cores (``core_type`` atom)."""
    atoms = cpu_list(read_text(root, '/sys/devices/cpu_atom/cpus'))
    parts = cpu.get('parts') or []
    each = []
    for index, number in enumerate(cpu.get('numbers') or [0]):
        max_khz = (read_text(root, '/sys/devices/system/cpu/cpu%d/cpufreq/cpuinfo_max_freq' % number) or '').strip()
        each.append({'processor': number, 'cpu part': parts[index] if index < len(parts) else cpu.get('cpu part'),
                     'cpufreq_max_mhz': int(max_khz) // 1000 if max_khz.isdigit() and int(max_khz) else None,
                     'core_type': 'atom' if number in atoms else None})
    return each


def fastest_processor(each):
    """The number of a processor of the fastest clock (not an E-core) when the processors'
    clocks differ, to run one-core measurements on; else None."""
    clocks = set(entry['cpufreq_max_mhz'] for entry in each if entry['cpufreq_max_mhz'])
    if len(clocks) < 2:
        return None
    return max(each, key=lambda entry: (entry['core_type'] != 'atom', entry['cpufreq_max_mhz'] or 0))['processor']


def cpu_list(text):
    """The processor numbers of a list such as ``0-3,8``."""
    numbers = set()
    for part in (text or '').strip().split(','):
        first, dummy, last = part.partition('-')
        if first.strip().isdigit() and (not last or last.strip().isdigit()):
            numbers.update(range(int(first), int(last or first) + 1))
    return numbers


def root_mount(mounts):
    """(source, fstype) of the filesystem mounted at / (the last such line wins)."""
    found = (None, None)
    for line in (mounts or '').splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == '/':
            found = (fields[0], fields[2])
    return found


def boot_medium(source, fstype, mmc_type=None, in_container=False):
    """sd, emmc, nfs, usb, nvme, disk, container or unknown."""
    if fstype and fstype.startswith('nfs'):
        return 'nfs'
    if in_container or fstype == 'overlay':
        return 'container'
    source = source or ''
    if source.startswith('/dev/mmcblk'):
        return 'emmc' if (mmc_type or '').strip().upper() == 'MMC' else 'sd'
    if source.startswith('/dev/nvme'):
        return 'nvme'
    if re.match(r'/dev/sd[a-z]', source):
        return 'usb'
    if source.startswith('/dev/'):
        return 'disk'
    return 'unknown'


def gather(root='/', rpeak_override=None, arch=None, lscpu=None):
    """All of the above for the node whose filesystem is at ``root`` and whose machine
    (``uname -m``) is ``arch``; ``lscpu``, a function giving lscpu's output, is asked only
    when /proc/cpuinfo names no vector features."""
    cpuinfo = read_text(root, '/proc/cpuinfo')
    cpu = parse_cpuinfo(cpuinfo)
    if lscpu and 'flags' not in cpu and 'features' not in cpu:
        cpu = parse_cpuinfo(cpuinfo, lscpu())
    board = (read_text(root, '/proc/device-tree/model') or '').rstrip('\x00\n ')
    model = board or (read_text(root, '/sys/class/dmi/id/product_name') or '').strip() \
        or cpu.get('model name') or cpu.get('model') or cpu.get('hardware') or ''
    cpu['each'] = each_processor(root, cpu)
    clocks = [entry['cpufreq_max_mhz'] for entry in cpu['each'] if entry['cpufreq_max_mhz']]
    if clocks:
        cpu['cpufreq_max_mhz'] = max(clocks)
    cpu_max_mhz = cpu.get('cpufreq_max_mhz')
    total = memtotal_mb(read_text(root, '/proc/meminfo'))
    limit = cgroup_limit_mb(root)
    memory = min(m for m in (total, limit) if m) if (total or limit) else None
    source, fstype = root_mount(read_text(root, '/proc/mounts'))
    mmc = re.match(r'/dev/(mmcblk\d+)', source or '')
    mmc_type = read_text(root, '/sys/block/%s/device/type' % mmc.group(1)) if mmc else None
    in_container = os.path.exists(os.path.join(root, '.dockerenv')) \
        or os.path.exists(os.path.join(root, 'run/.containerenv'))
    serial = cpu.get('serial') or ''
    image = image_record(read_text(root, '/etc/picluster/image.json'))
    return {
        'model': model,
        'cpu_part': cpu.get('cpu part'),
        'cpu_max_mhz': cpu_max_mhz,
        'cores': cpu['processors'] or None,
        'memtotal_mb': total,
        'cgroup_memory_limit_mb': limit,
        'memory_mb': memory,
        'root_source': source,
        'root_fstype': fstype,
        'boot_medium': boot_medium(source, fstype, mmc_type, in_container),
        'serial': serial[-8:] if serial else None,
        'peak': node_peak(cpu, arch, board or model, rpeak_override),
        'image': image,
        'overclocks': (image or {}).get('overclocks') or {},
    }


def image_record(text):
    """The record picluster.hpl's pi_image module left on the node (image, first-boot form,
    config.txt overclocks), or None for a node not installed that way."""
    try:
        record = json.loads(text) if text else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
