#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: node_facts
short_description: Facts about a node that HPL needs and Ansible's facts lack
version_added: 0.1.0
description:
  - Sets the C(picluster_hpl_node) fact - board model (a Raspberry Pi's device-tree model),
    Arm CPU part, maximum clock, memory usable by the benchmark (the smaller of MemTotal and
    the cgroup memory limit, since inside a container MemTotal is the host's), the root
    filesystem and the boot medium (C(sd), C(emmc), C(nfs), C(usb), C(nvme), C(disk),
    C(container) or C(unknown)), the Pi's serial (as its netboot directory is named), and
    the theoretical peak per core with every ingredient of it (in C(peak) the vector width,
    FMA, FMA units, clock and where each came from, or why there is none, as under an
    emulator, whose /proc/cpuinfo describes the host).
  - Reads files only; changes nothing.
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode gives the real answer.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  facts:
    support: full
    description: Returns the C(picluster_hpl_node) fact.
options:
  rpeak_gflops_per_core:
    description:
      - Theoretical double-precision peak of one core, in GFLOPS. Overrides the peak the
        module derives (a Raspberry Pi from its board's table, any other CPU from its vector
        width, FMA, FMA units and clock).
    type: float
'''

EXAMPLES = r'''
- name: Read the node's model, memory budget and boot medium
  picluster.hpl.node_facts:

- name: Tell the peak of an x86 core (16 DP FLOP/cycle at 3.0 GHz)
  picluster.hpl.node_facts:
    rpeak_gflops_per_core: 48.0
'''

RETURN = r'''
ansible_facts:
  description: Facts added.
  returned: always
  type: dict
  contains:
    picluster_hpl_node:
      description: What the node is.
      type: dict
      returned: always
      sample:
        model: Raspberry Pi 4 Model B Rev 1.4
        cpu_part: "0xd08"
        cpu_max_mhz: 1800
        cores: 4
        memtotal_mb: 7812
        cgroup_memory_limit_mb: null
        memory_mb: 7812
        root_source: /dev/mmcblk0p2
        root_fstype: ext4
        boot_medium: sd
        serial: 3a4b5c6d
        peak:
          gflops: 7.2
          source: board
          core: Cortex-A72
          ghz: 1.8
          ghz_from: cpufreq maximum
          flops_per_cycle: 4
          vector_bits: 128
          fma: true
          fma_units: 1
          fma_units_known: true
          explain: >-
            Cortex-A72 (Raspberry Pi 4 Model B Rev 1.4): 128-bit FMA x 1 unit = 4 FLOP/cycle
            x 1.800 GHz (cpufreq maximum) = 7.20 GFLOPS per core
'''

import platform

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.picluster.hpl.plugins.module_utils.node_info import gather


def lscpu(module):
    """lscpu's output, or None."""
    path = module.get_bin_path('lscpu')
    if not path:
        return None
    rc, out, dummy = module.run_command([path], environ_update={'LC_ALL': 'C'})
    return out if rc == 0 else None


def main():
    module = AnsibleModule(
        argument_spec=dict(rpeak_gflops_per_core=dict(type='float')),
        supports_check_mode=True,
    )
    node = gather('/', module.params['rpeak_gflops_per_core'], platform.machine(), lambda: lscpu(module))
    module.exit_json(changed=False, ansible_facts=dict(picluster_hpl_node=node))


if __name__ == '__main__':
    main()
