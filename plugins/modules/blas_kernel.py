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
  - With O(kernel=auto), when the library chose a kernel that does not make the most of the
    CPU (a generic fallback such as OpenBLAS's C(Prescott) or BLIS's C(generic) on a CPU
    newer than the library), tries the better kernels the CPU's flags allow, best first,
    each in its own process, and keeps the first that the library has, that computes the
    right product and that is faster (OpenBLAS through C(OPENBLAS_CORETYPE), BLIS through
    C(BLIS_ARCH_TYPE)). The library's variable already set on the node (its environment,
    or C(/etc/environment)) is honoured and recorded, never overridden.
  - What O(kernel=auto) found is kept in O(cache), when given, and is not compared again
    until the library's file or the CPU changes (or O(remeasure)); each run then checks the
    kept kernel's product and measures its DGEMM only.
  - Under an emulator (an arm64 container on an x86 host) nothing is measured.
  - Sets the C(picluster_hpl_blas) fact; changes nothing but O(cache).
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Measures as it would, so check mode gives the real answer; writes no O(cache).
  diff_mode:
    support: none
    description: Only O(cache) changes, and it shows no diff.
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
  kernel:
    description:
      - C(auto) (a better kernel when the library's own choice is not the best for the CPU,
        confirmed by measuring), C(library) (the library's own choice), or the name of a
        kernel to force (OpenBLAS C(Haswell), C(SkylakeX), C(CORTEXA72), ...; BLIS C(skx),
        C(haswell), C(zen3), C(cortexa57), ...).
      - Ignored for ATLAS, and whenever the node sets the library's variable itself
        (C(OPENBLAS_CORETYPE), C(BLIS_ARCH_TYPE)).
    type: str
    default: auto
  dgemm_n:
    description: Order of the square matrices DGEMM is timed on; 0 measures nothing.
    type: int
    default: 1000
  cache:
    description:
      - A JSON file where what O(kernel=auto) found is kept, per library, with what it holds
        for (the library's file, the CPU). Without it, every run compares the kernels.
    type: path
  remeasure:
    description: Compare the kernels again even when O(cache) keeps an answer, and keep the new one.
    type: bool
    default: false
  build:
    description:
      - ATLAS only, which build the library is, recorded in the fact as C(build) - C({kind generic}),
        or C({kind tuned, key, built, node}) for ATLAS tuned on the board (the picluster.hpl.blas
        role's C(blas_atlas_build=tuned)), whose kernel is then C(tuned).
    type: dict
'''

EXAMPLES = r'''
- name: Check which kernel OpenBLAS runs, and fix a generic fallback
  picluster.hpl.blas_kernel:
    library: /usr/lib/{{ ansible_facts.architecture }}-linux-gnu/openblas-pthread/libblas.so.3

- name: The same, comparing the kernels once and keeping the answer until the library changes
  picluster.hpl.blas_kernel:
    library: /usr/lib/{{ ansible_facts.architecture }}-linux-gnu/openblas-pthread/libblas.so.3
    cache: /var/lib/picluster-hpl/blas-kernel.json

- name: Leave the library's own choice, but record it
  picluster.hpl.blas_kernel:
    library: /usr/lib/{{ ansible_facts.architecture }}-linux-gnu/openblas-pthread/libblas.so.3
    kernel: library
'''

RETURN = r'''
ansible_facts:
  description: Facts added.
  returned: always
  type: dict
  contains:
    picluster_hpl_blas:
      description:
        - The kernel every HPL rank on this node gets, and why.
        - C(kernel), C(source) (C(node environment), C(library), C(forced) or C(auto)),
          C(environment) (what the ranks need set to run it), C(reason).
        - C(library_kernel), C(library_dgemm_gflops) and C(probes) - the library's own choice
          and the kernels compared with it (as measured on the day C(decided) says, when the
          answer was kept in O(cache)); C(dgemm_gflops) and C(dgemm_correct) - the chosen
          kernel as measured on this run.
        - C(decided) - the day C(auto) compared the kernels and kept the answer in O(cache), or null.
        - C(processor) - the processor every DGEMM ran on, on a CPU whose cores differ (else null).
        - C(build) - ATLAS only, O(build) as given (generic, or tuned with its key and build date), else null.
      type: dict
      returned: always
      sample:
        name: openblas
        kernel: SkylakeX
        source: auto
        environment: {OPENBLAS_CORETYPE: SkylakeX}
        reason: >-
          the library chose Prescott (DGEMM 24.1 GFLOPS on one core); SkylakeX is 4.9x faster
          (118.2 GFLOPS) and computes the right product
        library_kernel: Prescott
        library_dgemm_gflops: 24.1
        config: OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Prescott MAX_THREADS=64
        dgemm_correct: true
        dgemm_gflops: 118.2
        emulated: false
        probes: {SkylakeX: {corename: SkylakeX, offered: true, dgemm_correct: true, dgemm_gflops: 118.2}}
        decided: "2026-12-04"
        processor: null
'''

import json
import os
import platform
import sys
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.picluster.hpl.plugins.module_utils import blas_kernel, node_info, peaks
from ansible_collections.picluster.hpl.plugins.module_utils.files import atomic_write

SINGLE_THREAD = {'OPENBLAS_NUM_THREADS': '1', 'OMP_NUM_THREADS': '1', 'BLIS_NUM_THREADS': '1'}


def node_setting(variable):
    """The node's own setting of ``variable``: its environment, else /etc/environment."""
    if os.environ.get(variable):
        return os.environ[variable]
    for line in (node_info.read_text('/', '/etc/environment') or '').splitlines():
        key, dummy, value = line.strip().partition('=')
        key = key.strip()
        key = key[len('export '):].strip() if key.startswith('export ') else key
        if key == variable and value.strip().strip('"\''):
            return value.strip().strip('"\'')
    return None


def probe(module, library, n, variable=None, name=None, value=None):
    """What PROBE reports in a process of its own, with ``variable=value`` if given (to run
    the kernel ``name``), or without ``variable`` at all when ``value`` is None."""
    env = dict(SINGLE_THREAD, **({variable: str(value)} if variable and value is not None else {}))
    unset = ['env', '-u', variable] if variable and value is None else []
    pinned = [str(module.params['processor'])] if module.params.get('processor') is not None else []
    rc, out, err = module.run_command(unset + [sys.executable, '-c', blas_kernel.PROBE, library, str(n)] + pinned,
                                      environ_update=env)
    found = {'value': value}
    if rc != 0:
        return dict(found, failed='exit %d: %s' % (rc, (err or out).strip()[-300:]))
    try:
        found.update(json.loads(out.strip().splitlines()[-1]))
    except (ValueError, IndexError):
        return dict(found, failed='no answer: %s' % (out + err).strip()[-300:])
    if name and variable == 'BLIS_ARCH_TYPE' and not found.get('corename'):
        # BLIS aborts on a configuration it was not built with: it ran, so it has this one.
        found['corename'] = name
    if name:
        found['offered'] = (found.get('corename') or '').lower() == name.lower()
    return found


def value_of(library, probed, name):
    """What the library's variable takes to run the kernel ``name`` (BLIS: its number)."""
    if library != 'blis':
        return name
    arches = probed.get('arches') or []
    return arches.index(name) if name in arches else None


def try_kernels(module, params, library, cpu, setting):
    """The probes of the kernels to try: the better ones (auto) or the forced one."""
    variable = blas_kernel.VARIABLE[params['name']]
    names = blas_kernel.better_than(library.get('corename'), cpu, params['name']) if setting == 'auto' else [setting]
    probes = {}
    for name in names:
        value = value_of(params['name'], library, name)
        probes[name] = {'value': None, 'offered': False, 'corename': None} if value is None else \
            probe(module, params['library'], params['dgemm_n'], variable, name, value)
        if setting == 'auto' and blas_kernel.faster(probes[name], library):
            break  # the best one that is faster: no need to try worse ones
    if setting not in ('auto', 'library') and not probes[setting].get('offered'):
        module.fail_json(msg='blas_kernel: %s has no kernel %s (it ran %s); use auto, library or one of: %s'
                             % (params['name'], setting, probes[setting].get('corename'),
                                ', '.join(blas_kernel.candidates(cpu, params['name'])) or 'its own'))
    return probes


def decide(module, params, cpu, variable, own, setting):
    """A decision made now: (chosen, the library's own probe, the probes of the others)."""
    # As the ranks will run it: with the node's own setting, if it makes one.
    library = probe(module, params['library'], max(params['dgemm_n'], 0), variable if own else None, None, own)
    if 'failed' in library:
        module.fail_json(msg='blas_kernel: %s failed to load or run: %s' % (params['library'], library['failed']))
    if own and variable == 'BLIS_ARCH_TYPE' and not library.get('corename'):
        # BLIS forced by the node's own number: its name, from the list BLIS gives unforced.
        arches = probe(module, params['library'], 0, variable).get('arches') or []
        library['corename'] = arches[int(own)] if own.isdigit() and int(own) < len(arches) else 'BLIS_ARCH_TYPE=%s' % own
    probes = try_kernels(module, params, library, cpu, setting) if setting != 'library' and not own else {}
    return blas_kernel.choose(setting, own, library, probes, variable), library, probes


def read_cache(path):
    """Everything the cache at ``path`` keeps, by library; {} when it is missing or unreadable."""
    try:
        with open(path) as handle:
            everything = json.load(handle)
    except (IOError, OSError, ValueError):
        return {}
    return everything if isinstance(everything, dict) else {}


def kept(module, params, key, variable):
    """The decision the cache keeps for ``key``, its kernel measured now: (chosen, library,
    probes, record, measured now), or None when there is none, or the library or the kernel
    no longer agree with it."""
    library = probe(module, params['library'], 0, variable)
    record = blas_kernel.recall(read_cache(params['cache']).get(params['library']), key, library)
    if record is None:
        return None
    chosen = dict(record['chosen'], reason=blas_kernel.kept_reason(record))
    value = chosen['environment'].get(variable)
    now = probe(module, params['library'], params['dgemm_n'], variable, chosen['kernel'] if value else None, value)
    if 'failed' in now or not now.get('dgemm_correct') or (value and not now.get('offered')):
        return None
    # The comparison as it was made; the kept kernel as it runs now.
    library.update(dgemm_gflops=record.get('library_dgemm_gflops'))
    return chosen, library, record.get('probes') or {}, record, now


def keep(module, params, key, chosen, library, probes):
    """Write the decision to the cache: the record written, or None (check mode, or a cache
    that cannot be written, which is a warning: the next run compares again)."""
    record = {'key': key, 'decided': time.strftime('%Y-%m-%d'), 'chosen': chosen,
              'library_kernel': library.get('corename'), 'library_dgemm_gflops': library.get('dgemm_gflops'),
              'probes': probes}
    if module.check_mode:
        return None
    everything = dict(read_cache(params['cache']), **{params['library']: record})
    try:
        atomic_write(params['cache'], json.dumps(everything, indent=1, sort_keys=True).encode('utf-8'))
    except (IOError, OSError) as error:
        module.warn('blas_kernel: cannot keep the answer in %s (%s): the next run compares the kernels again'
                    % (params['cache'], error))
        return None
    return record


def answer(module, params, cpu, variable, own, setting):
    """(chosen, the library's probe, the others', the chosen kernel's, the kept record,
    changed): the kept answer of auto, else one made now (and kept, for auto)."""
    # Only auto compares kernels: what it found is kept, so each run does not toss a coin
    # between two kernels within the noise of each other.
    cached = setting == 'auto' and not own and params['cache'] and params['dgemm_n'] > 0
    key = blas_kernel.decision_key(params['library'], os.stat(os.path.realpath(params['library'])), cpu,
                                   params['name'], setting)
    found = kept(module, params, key, variable) if cached and not params['remeasure'] else None
    if found:
        chosen, library, probes, record, measured = found
        return chosen, library, probes, measured, record, False
    chosen, library, probes = decide(module, params, cpu, variable, own, setting)
    measured = probes.get(chosen['kernel'], library) if chosen['source'] in ('auto', 'forced') else library
    record = keep(module, params, key, chosen, library, probes) if cached else None
    # Changed when the comparison was written down (or would be, in check mode).
    return chosen, library, probes, measured, record, bool(record) or bool(cached and module.check_mode)


def main():
    module = AnsibleModule(
        argument_spec=dict(library=dict(type='path', required=True),
                           name=dict(type='str', choices=['openblas', 'blis', 'atlas'], default='openblas'),
                           kernel=dict(type='str', default='auto'),
                           dgemm_n=dict(type='int', default=1000),
                           cache=dict(type='path'),
                           remeasure=dict(type='bool', default=False),
                           build=dict(type='dict')),
        supports_check_mode=True,
    )
    params = module.params
    params['cache'] = os.path.abspath(params['cache']) if params['cache'] else None
    if not os.path.exists(params['library']):
        module.fail_json(msg='blas_kernel: %s does not exist: install the BLAS first' % params['library'])
    cpu = node_info.parse_cpuinfo(node_info.read_text('/', '/proc/cpuinfo'))
    # On a hybrid CPU every kernel is measured on the same, fastest, core.
    params['processor'] = node_info.fastest_processor(node_info.each_processor('/', cpu))
    emulated = peaks.emulated(cpu, platform.machine())
    if emulated:
        params['dgemm_n'] = 0
    variable = blas_kernel.VARIABLE.get(params['name'])
    own = node_setting(variable) if variable else None
    setting = params['kernel'] if variable and not emulated else 'library'
    chosen, library, probes, measured, record, changed = answer(module, params, cpu, variable, own, setting)
    build = params['build'] if params['name'] == 'atlas' else None
    if build and build.get('kind') == 'tuned':
        chosen.update(kernel='tuned', reason='ATLAS tuned on this board model (%s, built %s on %s)'
                      % (build.get('key'), build.get('built'), build.get('node')))
    elif params['name'] == 'atlas':
        chosen.update(kernel='generic', reason="ATLAS names no kernel: Debian's libatlas3-base is its generic build")
    fact = dict(chosen, name=params['name'], library_kernel=library.get('corename'), config=library.get('config'),
                library_dgemm_gflops=library.get('dgemm_gflops'),
                dgemm_correct=measured.get('dgemm_correct'), dgemm_gflops=measured.get('dgemm_gflops'),
                emulated=bool(emulated), probes=probes, decided=(record or {}).get('decided'),
                processor=params['processor'], build=build)
    if emulated:
        fact['reason'] = '%s; emulated: nothing measured' % chosen['reason']
    module.exit_json(changed=changed, ansible_facts=dict(picluster_hpl_blas=fact))


if __name__ == '__main__':
    main()
