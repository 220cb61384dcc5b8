"""The side-by-side benchmark's plans and table: the sweep is every combination the issue
names (checked against a sweep recorded with HPL), each plan is an HPL.dat HPL reads, and
the ratios come from the measured rows."""

import itertools

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import bench, hpl_dat, hpl_output, sizing, tuning
from conftest import read_fixture


def combinations(params):
    return set(itertools.product(params['nbs'], [tuple(grid) for grid in params['grids']], params['bcasts'],
                                 params['depths'], params['pfacts'], params['rfacts'], params['nbmins']))


def recorded(name):
    return hpl_output.parse_hpl_output(read_fixture('sweep', name + '.out'))['results']


def test_the_full_sweep_is_what_hpl_ran_in_the_recorded_one():
    """The recorded sweep on 2 ranks ran every NB 32 ... 384 by 32, both grids, BCAST 0-5
    and DEPTH 0-2: the plan asks for exactly those tests, and then the 27 at its best."""
    rows = recorded('zen4-2ranks-n3072')
    params = bench.plan('sweep', 3072, 2)
    assert params['ns'] == [3072] and hpl_dat.count_tests(params) == 432
    ran = set((row['nb'], (row['p'], row['q']), row['bcast'], row['depth'], row['pfact'], row['rfact'], row['nbmin'])
              for row in rows)
    assert combinations(params) == ran
    best = tuning.best(rows)
    refine = bench.plan('refine', 3072, row=best)
    assert hpl_dat.count_tests(refine) == 27
    refined = recorded('zen4-2ranks-n3072-factorisation-best')
    assert combinations(refine) == set((row['nb'], (row['p'], row['q']), row['bcast'], row['depth'], row['pfact'],
                                        row['rfact'], row['nbmin']) for row in refined)


@pytest.mark.parametrize('ranks', [1, 2, 3, 4, 6, 8, 12, 16, 48])
@pytest.mark.parametrize('sweep', ['full', 'trim'])
def test_every_plan_is_an_hpl_dat_that_hpl_takes(ranks, sweep):
    params = bench.plan('sweep', 4032, ranks, sweep=sweep)
    assert hpl_dat.parse_hpl_dat(hpl_dat.render_hpl_dat(params))['ns'] == [4032]
    assert all(p * q == ranks for p, q in params['grids'])
    if sweep == 'full':
        assert len(params['grids']) == len([p for p in range(1, ranks + 1) if ranks % p == 0])
    else:
        assert all(p <= q for p, q in params['grids']) and params['nbs'] == [64, 128, 192, 256, 320, 384]
        assert 6 * hpl_dat.count_tests(params) <= hpl_dat.count_tests(bench.plan('sweep', 4032, ranks))
    best = dict(tuning.START, p=params['grids'][-1][0], q=params['grids'][-1][1], nb=params['nbs'][-1])
    for what in ('refine', 'repeat'):
        hpl_dat.parse_hpl_dat(hpl_dat.render_hpl_dat(bench.plan(what, 4032, row=best, repeats=3)))


def test_more_grids_than_hpl_reads_in_one_run_asks_for_the_trimmed_sweep():
    with pytest.raises(sizing.HplInputError, match='bench_sweep=trim'):
        bench.plan('sweep', 4032, 720)
    assert len(bench.plan('sweep', 4032, 720, sweep='trim')['grids']) == 15


def test_a_repeat_runs_the_choice_n_times_whatever_form_it_comes_in():
    row = tuning.best(recorded('zen4-2ranks-n3072'))
    repeated = bench.plan('repeat', 4992, row=row, repeats=3)
    assert repeated['ns'] == [4992] * 3 and hpl_dat.count_tests(repeated) == 3
    assert (repeated['nbs'], repeated['grids'], repeated['bcasts'], repeated['depths']) == (
        [row['nb']], [[row['p'], row['q']]], [row['bcast']], [row['depth']])
    # The tune role's vars file gives the same run.
    assert bench.plan('repeat', 4992, row=tuning.tuned_vars(row), repeats=3) == repeated
    # A rule names N, NB and the grid alone: the rest is the benchmark role's.
    assert bench.plan('repeat', 4514, row={'n': 4514, 'nb': 256, 'p': 1, 'q': 2}, repeats=2) == {
        'ns': [4514, 4514], 'nbs': [256], 'grids': [[1, 2]]}
    with pytest.raises(sizing.HplInputError, match='nb, p and q'):
        bench.plan('repeat', 4992, row={'nb': 192})


def test_the_rules_as_published_for_a_memory_budget():
    rules = bench.plan('rules', ranks=2, repeats=3, memory_bytes=256 * 2 ** 20)
    # 0.9 * sqrt(0.75 * 2**28 / 8) = 4514.9, not rounded to NB; sqrt(0.8 * 2**28 / 8) = 5181.1
    assert rules['rule_top500_benchmark'] == {'ns': [4514] * 3, 'nbs': [256], 'grids': [[1, 2]]}
    assert rules['rule_sqrt80'] == {'ns': [5181] * 3, 'nbs': [71], 'grids': [[1, 2]]}
    with pytest.raises(sizing.HplInputError):
        bench.plan('rules', ranks=2, memory_bytes=-1)


def test_rounds_run_every_method_once_a_round_each_round_starting_one_later():
    plans = dict((method, {'ns': [4992], 'nbs': [number * 32], 'grids': [[1, 2]]})
                 for number, method in enumerate(bench.METHODS[:5], 1))
    order = bench.rounds(plans, 3)
    assert [method for method, _params in order] == [
        'defaults', 'tune', 'sweep_best', 'rule_top500_benchmark', 'rule_sqrt80',
        'tune', 'sweep_best', 'rule_top500_benchmark', 'rule_sqrt80', 'defaults',
        'sweep_best', 'rule_top500_benchmark', 'rule_sqrt80', 'defaults', 'tune']
    assert all(params is plans[method] for method, params in order)
    # Whatever order the mapping came in; more rounds than methods go round again.
    two = bench.rounds({'tune': plans['tune'], 'defaults': plans['defaults']}, 3)
    assert [method for method, _params in two] == ['defaults', 'tune', 'tune', 'defaults', 'defaults', 'tune']
    with pytest.raises(sizing.HplInputError, match='fastest: not one of'):
        bench.rounds({'fastest': plans['tune']}, 1)
    with pytest.raises(sizing.HplInputError, match='repeats'):
        bench.rounds(plans, 0)


def test_spread_counts_failed_runs_but_takes_the_median_of_those_that_passed():
    rows = [{'gflops': g, 'status': 'passed'} for g in (50.0, 52.0, 51.0, 60.0)]
    assert bench.spread(rows) == {'gflops_median': 51.5, 'gflops_min': 50.0, 'gflops_max': 60.0, 'runs': 4,
                                  'passed': 4}
    rows.append({'gflops': 99.0, 'status': 'failed'})
    assert bench.spread(rows)['gflops_median'] == 51.5 and bench.spread(rows)['runs'] == 5
    assert bench.spread([])['gflops_median'] is None


def test_the_table_takes_its_ratios_from_the_measured_medians():
    rows = recorded('zen4-2ranks-n3072')
    best = tuning.best(rows)
    same = [r for r in rows if tuning.settings(r) == tuning.settings(best)]

    def like(settings, *rates):
        return [dict(settings, gflops=rate, status='passed', n=3072, time_s=0.3) for rate in rates]
    runs = {
        'defaults': {'rows': like(best, 60.0, 62.0, 61.0), 'wall_s': 9.0},
        'tune': {'rows': like(best, 63.0, 62.0, 64.0), 'wall_s': 9.0, 'search_wall_s': 40.0, 'search_tests': 29},
        'sweep_best': {'rows': like(best, 63.5, 64.0, 64.5), 'wall_s': 9.0, 'search_wall_s': 220.0,
                       'search_tests': len(rows) + 27},
        'rule_top500_benchmark': {'rows': like(dict(best, nb=256), 55.0, 56.0, 57.0), 'wall_s': 9.0},
        'rule_sqrt80': {'rows': like(dict(best, nb=55), 58.0, 50.0, 59.0), 'wall_s': 9.0},
    }
    document = bench.table(runs, dgemm_gflops=105.0, meta={'ranks': 2})
    by = dict((row['method'], row) for row in document['rows'])
    assert [row['method'] for row in document['rows']] == list(bench.METHODS)
    assert by['sweep_best']['gflops_median'] == 64.0 and by['sweep_best']['ratio_to_sweep_best'] == 1.0
    assert by['defaults']['ratio_to_sweep_best'] == round(61.0 / 64.0, 4)
    assert by['tune']['ratio_to_dgemm'] == round(63.0 / 105.0, 4)
    assert by['dgemm']['gflops_median'] == 105.0 and by['rule_sqrt80']['gflops_min'] == 50.0
    assert by['defaults']['memory_bytes'] == 8 * 3072 ** 2 and by['defaults']['nb'] == best['nb']
    assert document['tune_time_ratio'] == round(40.0 / 220.0, 4) and document['ranks'] == 2
    assert document['checks'] == {'defaults_within_target': False, 'tune_within_target': True,
                                  'tune_time_within_target': True, 'defaults_ahead_of_rules': True,
                                  'tune_ahead_of_rules': True}
    table = document['markdown'].splitlines()
    assert table[0].startswith('| method | GFLOPS median') and len([line for line in table if line.startswith('| ')]) == 8
    # Each round's own ratio: 60/63.5, 62/64 and 61/64.5.
    assert by['defaults']['ratio_paired'] == round(61.0 / 64.5, 4)
    assert '| defaults | 61.00 | 60.00 | 62.00 | 0.953 | 0.946 | 0.581 | 3072 |' in document['markdown']
    assert 'Tuning took 40 s (29 tests), the sweep 220 s (459 tests): 18 % of its time.' in document['markdown']
    assert 'Missed: defaults_within_target.' in document['markdown']


def test_a_method_without_a_passed_row_has_no_ratio_and_no_verdict():
    failed = [{'nb': 192, 'p': 1, 'q': 2, 'n': 2000, 'gflops': 50.0, 'status': 'failed'}]
    document = bench.table({'defaults': {'rows': failed}, 'sweep_best': {'rows': []}})
    assert document['rows'][0]['gflops_median'] is None and document['rows'][0]['ratio_to_sweep_best'] is None
    assert document['checks']['defaults_within_target'] is None and document['checks']['tune_time_within_target'] is None


def test_the_paired_ratio_compares_runs_of_the_same_round():
    # The machine ran the second round at 0.6 of its speed, and the defaults' run of the
    # third was disturbed. The medians then come from different rounds (0.875); each
    # round's own ratio is 0.98, 0.979 and 0.795, whose median keeps the disturbance out.
    def rows(*rates):
        return [{'nb': 192, 'p': 1, 'q': 2, 'n': 4000, 'gflops': rate, 'status': 'passed', 'time_s': 1.0}
                for rate in rates]
    runs = {'defaults': {'rows': rows(78.4, 47.0, 70.0)}, 'sweep_best': {'rows': rows(80.0, 48.0, 88.0)},
            'rule_sqrt80': {'rows': rows(80.0, 47.0, 60.0)}}
    by = dict((row['method'], row) for row in bench.table(runs)['rows'])
    assert by['defaults']['ratio_to_sweep_best'] == 0.875 and by['defaults']['ratio_paired'] == round(47.0 / 48, 4)
    assert bench.table(runs)['checks']['defaults_within_target'] is True
    # A round without a passed row on both sides does not count.
    runs['defaults']['rows'][1]['status'] = 'failed'
    assert bench.paired_ratio(runs['defaults']['rows'], runs['sweep_best']['rows']) == round((0.98 + 70.0 / 88) / 2, 4)
    assert bench.paired_ratio(runs['defaults']['rows'], []) is None
    # Rows that say their round are paired by it, not by place (a run that printed no row).
    numbered = [dict(row, round=index) for index, row in enumerate(runs['sweep_best']['rows'])]
    assert bench.paired_ratio([dict(rows(70.0)[0], round=2)], numbered) == round(70.0 / 88, 4)


def test_blas_rounds_give_each_blas_its_role_options_and_rotate():
    order = bench.blas_rounds(['atlas-tuned', 'openblas', 'atlas'], 3)
    assert [pair[0] for pair in order] == ['atlas-tuned', 'openblas', 'atlas', 'openblas', 'atlas', 'atlas-tuned',
                                           'atlas', 'atlas-tuned', 'openblas']
    options = dict((name, given) for name, given in order)
    assert options['atlas-tuned'] == {'library': 'atlas', 'atlas_build': 'tuned'}
    assert options['atlas'] == {'library': 'atlas', 'atlas_build': 'package'}
    assert options['openblas'] == {'library': 'openblas', 'atlas_build': 'package'}


@pytest.mark.parametrize('names', [[], ['mkl'], ['atlas', 'atlas'], 'atlas', [None]])
def test_blas_rounds_refuse_what_is_no_list_of_known_blas_each_once(names):
    with pytest.raises(sizing.HplInputError, match='bench_blas'):
        bench.blas_rounds(names, 2)


def test_the_blas_table_rates_every_blas_against_the_best_in_its_round():
    def rows(*rates):
        return [{'n': 4992, 'nb': 192, 'p': 1, 'q': 2, 'gflops': rate, 'status': 'passed', 'round': index}
                for index, rate in enumerate(rates)]
    tuned = {'name': 'atlas', 'version': '3.10.3', 'kernel': 'tuned',
             'build': {'kind': 'tuned', 'key': 'amd64-bookworm-atlas3.10.3-13-x86-AuthenticAMD-25-17',
                       'built': '2026-12-06T05:00:00Z', 'node': 'atb1'}}
    runs = {'openblas': {'blas': {'name': 'openblas', 'version': '0.3.21', 'kernel': 'Zen'}, 'rows': rows(80.0, 40.0),
                         'wall_s': 30.0},
            'atlas-tuned': {'blas': tuned, 'rows': rows(60.0, 36.0), 'wall_s': 31.0},
            'atlas': {'blas': dict(tuned, kernel='generic', build={'kind': 'generic'}),
                      'rows': rows(20.0, 10.0) + [{'n': 4992, 'gflops': 99.0, 'status': 'failed', 'round': 2}]}}
    table = bench.blas_table(runs, {'n': 4992})
    by_blas = dict((row['blas'], row) for row in table['rows'])
    assert table['best'] == 'openblas' and table['n'] == 4992
    # Medians 60, 48 and 15: the ratio of medians, and the median of each round's ratio.
    assert by_blas['atlas-tuned']['ratio_to_best'] == 0.8 and by_blas['atlas-tuned']['ratio_paired'] == 0.825
    assert by_blas['atlas']['ratio_to_best'] == 0.25 and (by_blas['atlas']['runs'], by_blas['atlas']['passed']) == (3, 2)
    assert by_blas['atlas-tuned']['atlas_build'] == 'tuned' and by_blas['atlas']['atlas_build'] == 'generic'
    assert '| atlas-tuned | atlas 3.10.3 (tuned 2026-12-06T05:00:00Z) | tuned | 48.00 | 36.00 | 60.00 | 0.800 | 0.825 |' \
        in table['markdown']
    assert bench.blas_table({'atlas': {'rows': []}})['best'] is None
