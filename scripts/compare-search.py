"""Compare the tune role's staged search with Optuna's samplers on recorded HPL sweeps.

Each recorded sweep (tests/unit/fixtures/sweep/*.out, every NB x grid x BCAST x DEPTH at one
N) is a table the searches look rows up in, instead of running HPL. The staged search's
first four stages (NB and grid, NB again, BCAST, DEPTH) take some number of tests; each
Optuna sampler gets the same number of tests, many times over with different seeds. The
score is the table's rate of the pick against the table's best. (The factorisation stages
come after and are the same for both.)

Optuna is not one of the collection's requirements; to run this:
    .venv/bin/pip install optuna && .venv/bin/python scripts/compare-search.py
"""

import glob
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, '.cache', 'collections'))

import optuna  # noqa: E402

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_output, tuning  # noqa: E402

KEYS = ('nb', 'p', 'q', 'bcast', 'depth')
STAGES = ('nb_grid', 'nb', 'bcast', 'depth')
SEEDS = 100


def table_of(path):
    with open(path) as handle:
        rows = hpl_output.parse_hpl_output(handle.read())['results']
    return dict((tuple(row[key] for key in KEYS), row) for row in rows)


def staged(table, ranks, n):
    """The tune role's stages on the table: the pick's rate and how many tests it took."""
    rows = []
    for stage in STAGES:
        params = tuning.plan(stage, ranks, n, rows)
        if params is None:
            continue
        for nb in params['nbs']:
            for p, q in params['grids']:
                for bcast in params['bcasts']:
                    for depth in params['depths']:
                        rows.append(table[(nb, p, q, bcast, depth)])
    return tuning.best(rows)['gflops'], len(rows)


def sampled(table, trials, sampler):
    nbs = sorted(set(key[0] for key in table))
    grids = sorted(set('%dx%d' % key[1:3] for key in table))
    bcasts = sorted(set(key[3] for key in table))
    depths = sorted(set(key[4] for key in table))

    def objective(trial):
        p, q = trial.suggest_categorical('grid', grids).split('x')
        key = (trial.suggest_categorical('nb', nbs), int(p), int(q), trial.suggest_categorical('bcast', bcasts),
               trial.suggest_categorical('depth', depths))
        return table[key]['gflops']

    study = optuna.create_study(direction='maximize', sampler=sampler)
    study.optimize(objective, n_trials=trials)
    return study.best_value


def main():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print('| sweep | tests | staged | TPE median (min) | random median (min) | best |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for path in sorted(glob.glob(os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'sweep', '*-n[0-9]*[0-9].out'))):
        table = table_of(path)
        ranks = max(p * q for _nb, p, q, _b, _d in table)
        n = int(path.rsplit('-n', 1)[1][:-len('.out')])
        best = max(row['gflops'] for row in table.values())
        found, tests = staged(table, ranks, n)
        tpe = [sampled(table, tests, optuna.samplers.TPESampler(seed=seed)) / best for seed in range(SEEDS)]
        rand = [sampled(table, tests, optuna.samplers.RandomSampler(seed=seed)) / best for seed in range(SEEDS)]
        print('| %s | %d | %.3f | %.3f (%.3f) | %.3f (%.3f) | %.2f GFLOPS |' % (
            os.path.basename(path), tests, found / best, statistics.median(tpe), min(tpe),
            statistics.median(rand), min(rand), best))


if __name__ == '__main__':
    main()
