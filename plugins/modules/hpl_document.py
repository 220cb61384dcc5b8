#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: hpl_document
short_description: Make the results document of an HPL run, and write it when no callback will
version_added: 0.1.0
description:
  - Builds the JSON results document of one benchmark run (the shape of
    C(schemas/hpl_results.schema.json)) from the run's record and the facts of every node
    that took part (C(hostvars), gathered facts and the C(picluster_hpl_node) fact), and
    returns it with its one-line summary. The output is parsed here, once.
  - Runs on the controller. When the C(picluster.hpl.hpl_results) callback is not enabled,
    it writes the document itself into the callback's C(results_dir) setting (same
    C(ansible.cfg) key and environment variable), so no run ends unrecorded. When the
    callback is enabled, the callback writes the document found in the C(document) key of
    the C(picluster_hpl_run) fact.
  - Without O(run), it only reports whether the callback is enabled and where results go,
    and warns when it is not enabled (the picluster.hpl.benchmark role does so first).
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Writes a document only for a run that happened.
  diff_mode:
    support: none
    description: No diff.
options:
  run:
    description:
      - The run's record. C(output) (the text of the xhpl or hpcc run) is required; C(hosts),
        C(head), C(hpl_dat) (the parameters HPL.dat was rendered from), C(mpi), C(blas),
        C(hpl), C(sizing), C(command), C(rc), C(started), C(finished), C(directory),
        C(rpeak_gflops), C(dgemm_gflops) and C(slurm) (what C(scontrol show job --oneliner)
        printed of the run's Slurm job) are optional.
    type: dict
  expect:
    description:
      - Instead of making a document, say how long a run should take, in RV(expected).
      - C(hosts) (the nodes), C(hpl_dat) (the parameters, C(ns) required) and optionally
        C(time_budget) (M(picluster.hpl.hpl_params)' time budget, calibrated). Without a
        time budget, the rate is that of the recorded run in the results directory on
        exactly these nodes whose N is nearest (passed and untainted), plus the time that
        run took besides its solves (start-up, checks).
    type: dict
notes:
  - An action plugin; nothing runs on the target.
'''

EXAMPLES = r'''
- name: Make the results document of a run from its output
  picluster.hpl.hpl_document:
    run:
      output: "{{ lookup('ansible.builtin.file', 'HPL.out') }}"
      hpl_dat: {ns: [8000], nbs: [192], grids: [[1, 2]]}
  register: made

- name: Show its one-line summary
  ansible.builtin.debug:
    msg: "{{ made.headline }}"
'''

RETURN = r'''
document:
  description: The results document.
  returned: when run is given
  type: dict
headline:
  description: The run in one line, as the console shows it.
  returned: when run is given
  type: str
path:
  description: Where this task wrote the document (only when the callback is not enabled).
  returned: when written
  type: str
callback_enabled:
  description: Whether the picluster.hpl.hpl_results callback is enabled.
  returned: always
  type: bool
expected:
  description:
    - How long the run should take (O(expect) given).
    - C(tests) (how many HPL runs), C(seconds), C(gflops) (the rate it assumes), C(source)
      (where the rate comes from), C(ends) (the controller's local time) and C(text) (all
      of it in words). C(seconds), C(gflops), C(source) and C(ends) are null when no
      calibration and no recorded run on these nodes says.
  returned: when expect is given
  type: dict
results_dir:
  description: The results directory, absolute.
  returned: always
  type: str
'''
