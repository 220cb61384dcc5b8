#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: blas_kernel
short_description: Which kernel a node's BLAS really runs, and a better one if it fell back
version_added: 0.1.0
description:
  - Loads the BLAS library in a process of its own and asks it which kernel it runs
    (OpenBLAS's C(openblas_get_corename()), BLIS's configuration), checks that its DGEMM
    computes the right product, and measures DGEMM on one core.
  - For OpenBLAS, with O(coretype=auto), when the library chose a kernel that does not make
    the most of the CPU (a generic fallback such as C(Prescott) on a CPU newer than the
    library), tries the better kernels the CPU's flags allow, best first, each in its own
    process, and keeps the first that the library has, that computes the right product and
    that is faster. An C(OPENBLAS_CORETYPE) already set on the node (its environment, or
    C(/etc/environment)) is honoured and recorded, never overridden.
  - Under an emulator (an arm64 container on an x86 host) nothing is measured.
  - Sets the C(picluster_hpl_blas) fact; changes nothing.
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Reads and measures only, so check mode gives the real answer.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  facts:
    support: full
    description: Returns the C(picluster_hpl_blas) fact.
options:
  library:
    description: The BLAS shared library to load, for example C(/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3).
    type: path
    required: true
  name:
    description: Which library it is.
    type: str
    choices: [openblas, blis, atlas]
    default: openblas
  coretype:
    description:
      - For OpenBLAS, C(auto) (a better kernel when the library's own choice is not the best
        for the CPU, confirmed by measuring), C(library) (the library's own choice), or the
        name of a kernel to force (C(Haswell), C(SkylakeX), C(CORTEXA72), ...).
      - Ignored for other libraries, and whenever the node sets C(OPENBLAS_CORETYPE) itself.
    type: str
    default: auto
  dgemm_n:
    description: Order of the square matrices DGEMM is timed on; 0 measures nothing.
    type: int
    default: 1000
'''

EXAMPLES = r'''
- name: Check which kernel OpenBLAS runs, and fix a generic fallback
  picluster.hpl.blas_kernel:
    library: /usr/lib/{{ ansible_facts.architecture }}-linux-gnu/openblas-pthread/libblas.so.3

- name: Leave the library's own choice, but record it
  picluster.hpl.blas_kernel:
    library: /usr/lib/{{ ansible_facts.architecture }}-linux-gnu/openblas-pthread/libblas.so.3
    coretype: library
'''

RETURN = r'''
ansible_facts:
  description: Facts added.
  returned: always
  type: dict
  contains:
    picluster_hpl_blas:
      description: The kernel every HPL rank on this node gets, and why.
      type: dict
      returned: always
      sample:
        name: openblas
        kernel: Cooperlake
        source: auto
        environment: {OPENBLAS_CORETYPE: Cooperlake}
        reason: >-
          the library chose Prescott (DGEMM 24.1 GFLOPS on one core); Cooperlake is 4.9x faster
          (118.2 GFLOPS) and computes the right product
        library_kernel: Prescott
        config: OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64
        dgemm_gflops: 118.2
        emulated: false
        probes: {Cooperlake: {corename: Cooperlake, offered: true, dgemm_correct: true, dgemm_gflops: 118.2}}
'''

import json
import os
import platform
import sys

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.picluster.hpl.plugins.module_utils import blas_kernel, node_info, peaks

SINGLE_THREAD = {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'BLIS_NUM_THREADS': '1'}


def node_coretype():
    """The node's own OPENBLAS_CORETYPE: its environment, else /etc/environment."""
    if os.environ.get('OPENBLAS_CORETYPE'):
        return os.environ['OPENBLAS_CORETYPE']
    for line in (node_info.read_text('/', '/etc/environment') or '').splitlines():
        key, dummy, value = line.strip().partition('=')
        if key.strip() == 'OPENBLAS_CORETYPE' and value.strip().strip('"\''):
            return value.strip().strip('"\'')
    return None


def probe(module, library, n, coretype=None):
    """What PROBE reports in a process of its own, with OPENBLAS_CORETYPE=coretype if given."""
    env = dict(SINGLE_THREAD, **({'OPENBLAS_CORETYPE': coretype} if coretype else {}))
    rc, out, err = module.run_command([sys.executable, '-c', blas_kernel.PROBE, library, str(n)],
                                      environ_update=env)
    if rc != 0:
        return {'failed': 'exit %d: %s' % (rc, (err or out).strip()[-300:])}
    try:
        found = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {'failed': 'no answer: %s' % (out + err).strip()[-300:]}
    if coretype:
        found['offered'] = (found.get('corename') or '').lower() == coretype.lower()
    return found


def main():
    module = AnsibleModule(
        argument_spec=dict(library=dict(type='path', required=True),
                           name=dict(type='str', choices=['openblas', 'blis', 'atlas'], default='openblas'),
                           coretype=dict(type='str', default='auto'),
                           dgemm_n=dict(type='int', default=1000)),
        supports_check_mode=True,
    )
    params = module.params
    if not os.path.exists(params['library']):
        module.fail_json(msg='blas_kernel: %s does not exist: install the BLAS first' % params['library'])
    cpu = node_info.parse_cpuinfo(node_info.read_text('/', '/proc/cpuinfo'))
    emulated = peaks.emulated(cpu, platform.machine())
    n = 0 if emulated else max(params['dgemm_n'], 0)
    own = node_coretype() if params['name'] == 'openblas' else None
    library = probe(module, params['library'], n)
    if 'failed' in library:
        module.fail_json(msg='blas_kernel: %s failed to load or run: %s' % (params['library'], library['failed']))
    setting = params['coretype'] if params['name'] == 'openblas' and not emulated else 'library'
    probes = {}
    if setting == 'auto' and not own:
        for name in blas_kernel.better_than(library.get('corename'), cpu):
            probes[name] = probe(module, params['library'], n, name)
    elif setting not in ('auto', 'library') and not own:
        probes[setting] = probe(module, params['library'], n, setting)
        if not probes[setting].get('offered'):
            module.fail_json(msg='blas_openblas_coretype=%s: this OpenBLAS has no such kernel (it ran %s); use auto, '
                                 'library or one of %s' % (setting, probes[setting].get('corename'),
                                                           ', '.join(blas_kernel.candidates(cpu)) or 'its kernels'))
    chosen = blas_kernel.choose(setting, own, library, probes)
    if params['name'] == 'blis':
        chosen.update(kernel=library.get('corename'), reason='BLIS chose its %s configuration' % library.get('corename'))
    elif params['name'] == 'atlas':
        chosen.update(kernel='generic', reason="ATLAS names no kernel: Debian's libatlas3-base is its generic build")
    measured = probes.get(chosen['kernel'], library) if chosen['source'] in ('auto', 'forced') else library
    fact = dict(chosen, name=params['name'], library_kernel=library.get('corename'), config=library.get('config'),
                dgemm_correct=measured.get('dgemm_correct'), dgemm_gflops=measured.get('dgemm_gflops'),
                emulated=bool(emulated), probes=probes)
    if emulated:
        fact['reason'] = '%s; %s' % (chosen['reason'], 'emulated: nothing measured')
    module.exit_json(changed=False, ansible_facts=dict(picluster_hpl_blas=fact))


if __name__ == '__main__':
    main()
