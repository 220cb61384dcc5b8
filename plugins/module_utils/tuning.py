# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A staged search for HPL's parameters, much cheaper than sweeping every combination.

HPL's parameters do not matter equally, nor independently of each other as much as a full
sweep assumes. The block size NB and the process grid P x Q decide most of the rate (NB
fits the BLAS kernel's blocking; a flat grid suits plain Ethernet), so they are searched
first, together: NB coarsely over 64 ... 384, every grid with P <= Q (HPL's advice: P > Q
only adds communication along the column, never less), then NB again, 32 either side of
the best. The panel broadcast and the look-ahead depth come next, one at a time at the
best so far, then the panel and recursive factorisations together, then the recursion's
stopping width. Each stage is one HPL run over the lists it varies (HPL runs every
combination of its HPL.dat lists), at one N for all of them, so the rows compare.

``plan`` gives a stage's HPL.dat lists from the rows measured so far; ``search`` runs the
stages with a function that measures (the playbook runs HPL; the tests look rows up in a
recorded sweep). Rows are ``hpl_output.parse_hpl_output`` result rows.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat, sizing

# (stage, what it varies)
STAGES = (
    ('nb_grid', 'NB (coarse) and the P x Q grid'),
    ('nb', 'NB, 32 either side of the best'),
    ('bcast', 'the panel broadcast'),
    ('depth', 'the look-ahead depth'),
    ('factorisation', 'the panel and recursive factorisations'),
    ('nbmin', 'the recursion\'s stopping width'),
)
NB_LOW, NB_HIGH, NB_COARSE, NB_FINE = 32, 384, 64, 32
# The netlib TUNING starting point (WR11C2R4): what every stage varies away from.
START = {'nb': 192, 'p': 1, 'q': 1, 'bcast': '1rM', 'depth': 1, 'pfact': 'right', 'rfact': 'crout', 'nbmin': 4,
         'ndiv': 2}


def grids(ranks):
    """Every P x Q grid of ``ranks`` processes with P <= Q, flattest first."""
    return [[p, ranks // p] for p in range(1, int(ranks ** 0.5) + 1) if ranks % p == 0]


def settings(row):
    """What a result row ran with, as ``START`` names it."""
    return dict((key, row[key]) for key in START)


def best(rows):
    """The fastest row whose residual passed, or None."""
    passed = [row for row in rows if row.get('status') == 'passed' and row.get('gflops')]
    return max(passed, key=lambda row: row['gflops']) if passed else None


def plan(stage, ranks, n, rows, start=None):
    """The HPL.dat parameters of ``stage`` at problem size ``n`` on ``ranks`` processes,
    around the best of ``rows`` so far (else ``start``, else ``START`` on the flattest grid);
    None when the stage has nothing left to try."""
    at = settings(best(rows)) if best(rows) else dict(START, **(start or {}))
    if not best(rows) and at['p'] * at['q'] != ranks:
        at['p'], at['q'] = grids(ranks)[0]
    tried = set(row['nb'] for row in rows if (row['p'], row['q']) == (at['p'], at['q']))
    lists = {
        'nb_grid': {'nbs': list(range(NB_COARSE, NB_HIGH + 1, NB_COARSE)), 'grids': grids(ranks)},
        'nb': {'nbs': [nb for nb in (at['nb'] - NB_FINE, at['nb'] + NB_FINE)
                       if NB_LOW <= nb <= NB_HIGH and nb not in tried]},
        'bcast': {'bcasts': list(hpl_dat.BCASTS)},
        'depth': {'depths': [0, 1, 2]},
        'factorisation': {'pfacts': list(hpl_dat.FACTS), 'rfacts': list(hpl_dat.FACTS)},
        'nbmin': {'nbmins': [2, 4, 8]},
    }[stage]
    if not all(lists.values()):
        return None
    params = {'ns': [n], 'nbs': [at['nb']], 'grids': [[at['p'], at['q']]], 'bcasts': [at['bcast']],
              'depths': [at['depth']], 'pfacts': [at['pfact']], 'rfacts': [at['rfact']], 'nbmins': [at['nbmin']],
              'ndivs': [at['ndiv']]}
    params.update(lists)
    hpl_dat.normalise(params)  # an HPL.dat HPL takes, or HplDatError
    # Only the lists: the threshold, PMAP and SWAP stay as the benchmark's options set them.
    return params


def step(stage, ranks, n, rows, spent_seconds=0.0, budget_seconds=None, rate_gflops=None, start=None,
         overhead_seconds=0.0):
    """What ``stage`` runs next: ``{'stage', 'what', 'params', 'tests', 'expected_seconds',
    'skipped'}``, with ``params`` None and ``skipped`` saying why when it runs nothing: it
    has nothing left to try, or its tests (at ``rate_gflops``, else the best row's rate)
    and the run's own ``overhead_seconds`` (set-up, hpcc's other tests) would not fit in what
    is left of ``budget_seconds`` (never the first stage: without it there is nothing to
    tune)."""
    what = dict(STAGES)[stage]
    params = plan(stage, ranks, n, rows, start)
    if params is None:
        return {'stage': stage, 'what': what, 'params': None, 'tests': 0, 'expected_seconds': 0.0,
                'skipped': 'nothing left to try'}
    tests = hpl_dat.count_tests(params)
    rate = rate_gflops or (best(rows) or {}).get('gflops')
    expected = round(tests * sizing.seconds_for(n, rate) + overhead_seconds, 1) if rate else None
    # The first stage runs whatever the budget: without it there is nothing to tune (a
    # busy or slow cluster then takes longer than asked, and the stage says so).
    late = (budget_seconds is not None and expected is not None and spent_seconds + expected > budget_seconds
            and stage != STAGES[0][0])
    return {'stage': stage, 'what': what, 'params': None if late else params, 'tests': tests,
            'expected_seconds': expected, 'skipped': 'over the time budget' if late else None}


def search(ranks, n, measure, budget_seconds=None, rate_gflops=None, start=None):
    """Run the stages with ``measure(params) -> rows``; returns ``{'winner', 'rows', 'stages'}``:
    the best row, every row with its ``stage``, and each stage's ``step`` (with the best
    rate it found). A stage over the budget is skipped; a later, smaller one may still fit
    (as the tune role runs them)."""
    rows, stages, spent = [], [], 0.0
    for stage, _what in STAGES:
        planned = step(stage, ranks, n, rows, spent, budget_seconds, rate_gflops, start)
        stages.append(dict((key, value) for key, value in planned.items() if key != 'params'))
        if planned['params'] is None:
            continue
        measured = [dict(row, stage=stage) for row in measure(planned['params'])]
        spent += sum(row.get('time_s') or 0.0 for row in measured)
        rows += measured
        stages[-1]['best_gflops'] = (best(measured) or {}).get('gflops')
    return {'winner': best(rows), 'rows': rows, 'stages': stages}


def tuned_vars(row):
    """The winner as the benchmark role's options, for site.yml to run with: its NB (N is
    sized by memory as ever) and every other HPL.dat choice."""
    return {'benchmark_nb': row['nb'],
            'benchmark_hpl_dat': {'grids': [[row['p'], row['q']]], 'bcasts': [row['bcast']],
                                  'depths': [row['depth']], 'pfacts': [row['pfact']], 'rfacts': [row['rfact']],
                                  'nbmins': [row['nbmin']], 'ndivs': [row['ndiv']]}}


def vars_settings(tuned):
    """The tune role's vars (as :func:`tuned_vars` gives them) back as a row's settings."""
    hpl_dat_lists = tuned['benchmark_hpl_dat']
    (p, q), = hpl_dat_lists['grids']
    settings = {'nb': tuned['benchmark_nb'], 'p': p, 'q': q}
    for key, name in (('bcast', 'bcasts'), ('depth', 'depths'), ('pfact', 'pfacts'), ('rfact', 'rfacts'),
                      ('nbmin', 'nbmins'), ('ndiv', 'ndivs')):
        (settings[key],) = hpl_dat_lists[name]
    return settings
