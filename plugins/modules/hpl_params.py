#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: hpl_params
short_description: Size an HPL run (N, NB, P x Q) from each node's memory and cores
version_added: 0.1.0
description:
  - Computes the High Performance Linpack problem for a cluster from each node's memory and
    number of ranks.
  - The N x N matrix of doubles (8 N^2 bytes) is spread evenly over the P x Q ranks, so the
    node with the least memory per rank (the I(bounding_node)) bounds N; N is the largest
    multiple of NB whose matrix fits O(memory_fraction) of that node's memory per rank.
  - P x Q equals the total number of ranks with P <= Q, as square as possible unless
    O(grid_shape=flat).
  - On a cluster of unequal nodes the result says which node bounds N and how much of their
    budget the other nodes leave idle.
  - Reads nothing and changes nothing on the target; it is usually run once, on the
    controller.
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Reads only, so check mode gives the real answer.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  nodes:
    description:
      - The nodes that take part, one entry per node.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Inventory name of the node.
        type: str
        required: true
      memory_mb:
        description:
          - Memory the node has for the benchmark, in MiB, as C(ansible_facts.memtotal_mb)
            reports it (or a container's cgroup limit, whichever is smaller).
        type: float
        required: true
      cores:
        description: Number of CPU cores of the node.
        type: int
        required: true
      ranks:
        description: MPI ranks to run on the node. Defaults to O(nodes[].cores).
        type: int
      address:
        description: Host name or address MPI uses to reach the node. Defaults to O(nodes[].name).
        type: str
  memory_fraction:
    description:
      - Fraction of the bounding node's memory the matrix may take. About 0.80 leaves room
        for the OS and MPI; a node that swaps ruins the run. At most 0.95.
    type: float
    default: 0.80
  nb:
    description:
      - HPL block size. Defaults by O(blas) (openblas 192, blis 256, atlas 256,
        reference 64), or 192 if O(blas) is not given.
      - The default shrinks when N comes out under 40 blocks with it - to N / 40 down to a
        multiple of 32, at least 32 - and N is sized again with the smaller block - at a small
        N the panel factorisation outweighs what a bigger block gains. A block given is kept.
    type: int
  blas:
    description: The BLAS library HPL links, to choose the default O(nb).
    type: str
    choices: [openblas, blis, atlas, reference]
  grid_shape:
    description:
      - C(square) gives the most square P x Q with P <= Q; C(flat) gives 1 x ranks, which
        often wins on plain Ethernet.
    type: str
    choices: [square, flat]
    default: square
  max_n:
    description: Upper bound for N, for a quick run. Rounded down to a multiple of NB.
    type: int
  max_seconds:
    description:
      - Upper bound on the run time, for a quick run. Needs O(expected_gflops) or
        O(calibration) to turn time into N (HPL does 2/3 N^3 + 2 N^2 operations).
    type: float
  expected_gflops:
    description: The rate the cluster is expected to reach, used with O(max_seconds).
    type: float
  overhead_seconds_per_n2:
    description:
      - Run time besides the solve that grows with the matrix's memory, in seconds per N^2,
        used with O(max_seconds). hpcc sizes its STREAM, PTRANS, RandomAccess and FFT tests
        from HPL's N; a small calibration run measures this.
    type: float
    default: 0.0
  calibration:
    description:
      - Measured runs, each C({n, seconds}), instead of O(expected_gflops). With one run the
        rate comes from it; with two or more the whole-run time is fitted as
        a N^2 + b N^3 (hpcc's DGEMM grows like N^3, its other tests like N^2).
    type: list
    elements: dict
notes:
  - N is rounded down to a multiple of NB, as HPL's TUNING notes advise.
seealso:
  - name: HPL tuning
    description: The netlib HPL FAQ and tuning notes the sizing rules follow.
    link: https://www.netlib.org/benchmark/hpl/tuning.html
'''

EXAMPLES = r'''
- name: Size HPL for three Raspberry Pi 4 boards (two 8 GB, one 4 GB)
  picluster.hpl.hpl_params:
    nodes:
      - {name: pi1, memory_mb: 7812, cores: 4}
      - {name: pi2, memory_mb: 7812, cores: 4}
      - {name: pi3, memory_mb: 3794, cores: 4}
    blas: openblas
  register: hpl
  # hpl.n == 34368, hpl.p == 3, hpl.q == 4, hpl.bounding_node == 'pi3'

- name: Size HPL from the gathered facts of every host in the cluster group
  picluster.hpl.hpl_params:
    nodes: "{{ groups['cluster'] | map('extract', hostvars) | picluster.hpl.hpl_nodes }}"
    blas: openblas
  run_once: true
  delegate_to: localhost
  register: hpl

- name: A quick run of about two minutes on one node
  picluster.hpl.hpl_params:
    nodes:
      - name: "{{ inventory_hostname }}"
        memory_mb: "{{ ansible_facts.memtotal_mb }}"
        cores: "{{ ansible_facts.processor_vcpus }}"
    max_seconds: 120
    expected_gflops: 50
  register: quick
'''

RETURN = r'''
n:
  description: Problem size N, a multiple of O(nb).
  returned: success
  type: int
  sample: 34368
nb:
  description: Block size NB.
  returned: success
  type: int
  sample: 192
p:
  description: Process grid rows (P <= Q).
  returned: success
  type: int
  sample: 3
q:
  description: Process grid columns.
  returned: success
  type: int
  sample: 4
depth:
  description:
    - HPL's look-ahead depth - 0 when the run is on one node (nothing to hide behind it, and
      it splits the update), 1 across nodes.
  returned: success
  type: int
  sample: 1
ranks:
  description: Total MPI ranks, P x Q.
  returned: success
  type: int
  sample: 12
bounding_node:
  description: The node whose memory per rank bounds N.
  returned: success
  type: str
  sample: pi3
memory_per_rank_bytes:
  description: Memory per rank of the bounding node, in bytes.
  returned: success
  type: int
  sample: 994574336
matrix_bytes:
  description: Size of the whole matrix, 8 N^2 bytes.
  returned: success
  type: int
  sample: 9449275392
memory_fraction:
  description: The memory fraction the sizing aimed at.
  returned: success
  type: float
  sample: 0.8
grid_shape:
  description: The grid shape used.
  returned: success
  type: str
  sample: square
limited_by:
  description: What capped N, one of C(memory), C(max_n) or C(max_seconds).
  returned: success
  type: str
  sample: memory
time_budget:
  description:
    - With O(max_seconds), the time model used (C(seconds), C(expected_gflops),
      C(overhead_seconds_per_n2)) and the C(estimated_seconds) of a run at the chosen N;
      null otherwise.
  returned: success
  type: dict
  sample: {seconds: 120, expected_gflops: 33.5, overhead_seconds_per_n2: 4.6e-07, estimated_seconds: 118.2}
nodes:
  description:
    - Per node, the memory it has and the share of it the matrix takes
      (C(memory_fraction_used)), and C(idle_mb), what it leaves unused of its
      O(memory_fraction) budget.
  returned: success
  type: list
  elements: dict
  sample:
    - {name: pi1, address: pi1, memory_mb: 7812, cores: 4, ranks: 4,
       memory_per_rank_bytes: 2047868928, matrix_mb: 3003.8,
       memory_fraction_used: 0.3845, idle_mb: 3245.8}
hostfile:
  description: Hostfile lines for OpenMPI (C(host slots=N)) and MPICH (C(host:N)).
  returned: success
  type: dict
  sample: {openmpi: ["pi1 slots=4", "pi2 slots=4"], mpich: ["pi1:4", "pi2:4"]}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.picluster.hpl.plugins.module_utils.sizing import HplInputError, hpl_params

NODE_OPTIONS = dict(
    name=dict(type='str', required=True),
    memory_mb=dict(type='float', required=True),
    cores=dict(type='int', required=True),
    ranks=dict(type='int'),
    address=dict(type='str'),
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nodes=dict(type='list', elements='dict', required=True, options=NODE_OPTIONS),
            memory_fraction=dict(type='float', default=0.80),
            nb=dict(type='int'),
            blas=dict(type='str', choices=['openblas', 'blis', 'atlas', 'reference']),
            grid_shape=dict(type='str', choices=['square', 'flat'], default='square'),
            max_n=dict(type='int'),
            max_seconds=dict(type='float'),
            expected_gflops=dict(type='float'),
            overhead_seconds_per_n2=dict(type='float', default=0.0),
            calibration=dict(type='list', elements='dict'),
        ),
        mutually_exclusive=[('expected_gflops', 'calibration')],
        supports_check_mode=True,
    )
    params = dict((key, module.params[key]) for key in (
        'nodes', 'memory_fraction', 'nb', 'blas', 'grid_shape', 'max_n', 'max_seconds',
        'expected_gflops', 'overhead_seconds_per_n2', 'calibration'))
    try:
        result = hpl_params(**params)
    except HplInputError as exc:
        module.fail_json(msg=str(exc))
    for warning in result.pop('warnings'):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
