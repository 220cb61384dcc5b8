#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: hpl_report
short_description: Write the report of a directory of HPL results
version_added: 0.1.0
description:
  - Reads every results document (C(hpl-*.json)) and side-by-side benchmark table
    (C(bench/bench-*.json)) of a directory and writes C(report.md), a short summary that
    pastes into an issue or a forum post (the best run with its parameters, efficiency and
    TOP500 placement, every run, the benchmark tables, what changed between the last two
    runs); C(results.csv), one line per HPL result row of every run; and C(index.html), the
    same summary after PNG charts in C(charts/) (GFLOPS by NB for each grid, a P x Q by NB
    heatmap, GFLOPS by boot medium, the runs over time, efficiency against Rpeak and DGEMM,
    each node alone, the best run against the TOP500 lists, the side-by-side benchmark),
    each drawn when the results hold what it shows.
  - The charts need matplotlib on the controller (in the collection's requirements.txt);
    without it the page says so and the rest is written.
  - A run whose conditions say it is tainted is marked in every view (a red cross, a hatched
    bar, a highlighted row) and never taken as the best.
  - Files that are not results documents are skipped with a warning; a directory without
    any result is refused.
  - Runs on the controller. The same report without Ansible, from the collection's
    directory on the Python path -
    C(python3 -m ansible_collections.picluster.hpl.plugins.module_utils.report DIRECTORY).
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Says which files would change, writes none.
  diff_mode:
    support: none
    description: No diff.
options:
  directory:
    description:
      - The results directory. When not given, the one the benchmark writes to (the
        C(picluster.hpl.hpl_results) callback's C(results_dir) setting, C(results/) by default).
    type: path
  out:
    description: Where to write the report; C(DIRECTORY/report) when not given.
    type: path
  compare:
    description: Two run ids (or their file names), before and after, whose differences the report adds.
    type: list
    elements: str
notes:
  - An action plugin; nothing runs on the target.
'''

EXAMPLES = r'''
- name: Write the report of the results the benchmark wrote
  picluster.hpl.hpl_report:

- name: Compare two runs as well
  picluster.hpl.hpl_report:
    directory: results
    compare: [20261124T030000Z-pi1, 20261125T030000Z-pi1]
'''

RETURN = r'''
out:
  description: The report's directory.
  returned: always
  type: str
files:
  description: The files of the report.
  returned: always
  type: list
  elements: str
  sample: [charts/history.png, charts/top500.png, index.html, report.md, results.csv]
changed_files:
  description: The files whose content changed (or would, in check mode).
  returned: always
  type: list
  elements: str
runs:
  description: How many run documents were read.
  returned: always
  type: int
benches:
  description: How many side-by-side benchmark tables were read.
  returned: always
  type: int
charts:
  description: How many charts were drawn.
  returned: always
  type: int
note:
  description: Why there are no charts (matplotlib missing), or null.
  returned: always
  type: str
problems:
  description: The files skipped, each with why.
  returned: always
  type: list
  elements: dict
'''
