import datetime

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import progress

PARAMS = {'ns': [4000, 8000], 'nbs': [128, 192], 'grids': [[1, 2]], 'bcasts': ['1rM', '2rg', '1rg'], 'depths': [1]}
NOW = datetime.datetime(2026, 12, 5, 10, 0, 0)


def run(run_id, nodes, n, gflops, status='passed', tainted=(), wall=None, solve=None):
    started = datetime.datetime(2026, 12, 4, 9, 0, 0)
    document = {'id': run_id, 'status': status, 'nodes': [{'name': name} for name in nodes],
                'best': {'n': n, 'gflops': gflops}, 'conditions': {'tainted': list(tainted)},
                'results': [{'time_s': solve}] if solve is not None else []}
    if wall is not None:
        document['run'] = {'started': str(started), 'finished': str(started + datetime.timedelta(seconds=wall))}
    return document


def test_every_list_of_the_test_matrix_multiplies_the_tests():
    assert progress.tests_per_n(PARAMS) == 6
    assert progress.tests_per_n({'ns': [1000]}) == 1
    # HPL's operation count, 2/3 N^3 + 2 N^2, at 1 GFLOPS: 6 tests at each N.
    flops = sum(2.0 / 3 * n ** 3 + 2.0 * n ** 2 for n in PARAMS['ns'])
    assert progress.solve_seconds(PARAMS, 1.0) == pytest.approx(6 * flops / 1e9)


def test_the_calibration_gives_the_rate_and_its_overhead():
    expected = progress.expect({'ns': [10000]}, {'expected_gflops': 2.0, 'overhead_seconds_per_n2': 1e-7}, now=NOW)
    seconds = (2.0 / 3 * 1e12 + 2e8) / 2e9 + 10.0
    assert expected['seconds'] == pytest.approx(seconds, abs=0.1)
    assert expected['source'] == 'the calibration' and expected['tests'] == 1
    assert expected['ends'] == (NOW + datetime.timedelta(seconds=seconds)).strftime('%Y-%m-%d %H:%M:%S')
    assert expected['text'] == '1 test, about 5 min 43 s at 2 GFLOPS (from the calibration), ending about 10:05:43'


def test_the_run_on_the_same_nodes_nearest_in_size_gives_the_rate():
    documents = [
        run('20261201T000000Z-pi1', ['pi1', 'pi2', 'pi3'], 8000, 9.0),
        run('20261202T000000Z-pi1', ['pi1', 'pi2', 'pi3'], 2000, 5.0),   # small: a tuning stage
        run('20261203T000000Z-pi1', ['pi1', 'pi2'], 8000, 7.0),          # other nodes
        run('20261204T000000Z-pi1', ['pi3', 'pi2', 'pi1'], 7000, 8.0, wall=60, solve=50),
        run('20261205T000000Z-pi1', ['pi1', 'pi2', 'pi3'], 8000, 20.0, tainted=['pi2: under-voltage']),
        run('20261206T000000Z-pi1', ['pi1', 'pi2', 'pi3'], 8000, 20.0, status='failed'),
    ]
    previous = progress.nearest_run(documents, ['pi1', 'pi2', 'pi3'], 8000)
    assert previous == {'id': '20261201T000000Z-pi1', 'gflops': 9.0, 'n': 8000, 'besides_seconds': None,
                        'besides_per_n2': None, 'besides_per_test': None}
    # Of two as near, the latest; its time besides the solves (start-up, checks) is added once.
    documents.append(run('20261207T000000Z-pi1', ['pi1', 'pi2', 'pi3'], 8000, 8.0, wall=60, solve=50))
    previous = progress.nearest_run(documents, ['pi1', 'pi2', 'pi3'], 8000)
    assert previous['id'] == '20261207T000000Z-pi1' and previous['besides_seconds'] == 10
    expected = progress.expect({'ns': [8000]}, None, previous, now=NOW)
    assert expected['seconds'] == pytest.approx((2.0 / 3 * 8000 ** 3 + 2 * 8000 ** 2) / 8e9 + 10, abs=0.1)
    assert expected['source'] == 'hpl-20261207T000000Z-pi1 at N=8000 on these nodes'
    assert progress.nearest_run(documents, ['pi4'], 8000) is None


def test_many_tests_add_their_matrices_and_checks_to_the_estimate():
    # The bench's sweep: 432 tests at N 1000 after a run of one test at N 4000 that took
    # 8 s besides its solve. Each test generates and checks its matrix: about 432 x 8 s /
    # 16, not 8 s once (the estimate was 2.7 min short of a 7.7 min sweep).
    previous = progress.nearest_run([run('20261207T000000Z-pi1', ['pi1'], 4000, 50.0, wall=18, solve=10)], ['pi1'], 1000)
    assert previous['besides_seconds'] == 8 and previous['besides_per_n2'] == pytest.approx(8 / 4000 ** 2)
    sweep = {'ns': [1000], 'nbs': [64, 96, 128, 160, 192, 256], 'grids': [[1, 2], [2, 1]],
             'bcasts': ['1rg', '1rM', '2rg', '2rM', 'Lng', 'LnM'], 'depths': [0, 1], 'pfacts': ['left', 'right', 'crout']}
    assert progress.tests_per_n(sweep) == 432
    assert progress.besides_seconds(sweep, previous) == pytest.approx(432 * 8 / 16)
    # One small test still pays the start-up once; one large one is not charged its start-up
    # a hundred times over.
    assert progress.besides_seconds({'ns': [1000]}, previous) == 8
    assert progress.besides_seconds({'ns': [40000]}, previous) == 8


def test_nothing_to_go_by_says_so():
    expected = progress.expect(PARAMS, None, None, now=NOW)
    assert expected['seconds'] is None and expected['tests'] == 12 and 'no estimate' in expected['text']


@pytest.mark.parametrize('line, text', [
    ('hpl-progress elapsed=70 tests=1 done=0 expected=200 ',
     'HPL running: 1 min 10 s of about 3 min 20 s'),
    ('hpl-progress elapsed=5 tests=4 done=1 expected= ',
     'HPL running: test 2 of 4, 5 s gone'),
    # HPL 2.3's own report: a fifth of the columns is nearly half of the work.
    ('hpl-progress elapsed=400 tests=1 done=0 expected=200 Column=000001920 Fraction=20.0% Gflops=5.210e+00',
     'HPL running: 49 % of its work, 5.21 GFLOPS so far, 6 min 40 s of about 3 min 20 s, longer than expected'),
    ('hpl-progress elapsed=3 tests=2 done=2 expected=4.5 ', 'HPL running: test 2 of 2, 3 s of about 4 s'),
])
def test_progress_in_words(line, text):
    assert progress.progress_text('some output\n' + line) == text


@pytest.mark.parametrize('line', ['', '{"rc": 0}', 'hpl-progress elapsed=x tests=1 done=0', 'hpl-progress'])
def test_no_progress_line_is_no_progress(line):
    assert progress.progress_text(line) is None


@pytest.mark.parametrize('broken', [
    {'nodes': [{}]}, {'nodes': ['pi1']}, {'best': [1]}, {'best': {'n': 8000, 'gflops': 'fast'}},
    {'best': {'n': '8000.0', 'gflops': 1.0}}, {'conditions': ['hot']},
])
def test_a_document_this_collection_did_not_write_is_passed_over(broken):
    good = run('20261201T000000Z-pi1', ['pi1', 'pi2'], 8000, 9.0)
    bad = dict(run('20261209T000000Z-pi1', ['pi1', 'pi2'], 8000, 20.0), **broken)
    assert progress.nearest_run([good, bad], ['pi1', 'pi2'], 8000)['id'] == good['id']


@pytest.mark.parametrize('broken', [{'results': ['WR']}, {'run': {'started': 5, 'finished': []}}])
def test_a_run_whose_times_cannot_be_read_still_gives_its_rate(broken):
    bad = dict(run('20261209T000000Z-pi1', ['pi1', 'pi2'], 8000, 20.0, wall=60, solve=50), **broken)
    assert progress.nearest_run([bad], ['pi1', 'pi2'], 8000) == {
        'id': '20261209T000000Z-pi1', 'gflops': 20.0, 'n': 8000, 'besides_seconds': None, 'besides_per_n2': None,
        'besides_per_test': None}


def test_the_kept_output_leaves_the_progress_report_out():
    output = ('HPLinpack 2.3\nColumn=000000192 Fraction= 4.8% Gflops=5.210e+00\n'
              'Column=000000384 Fraction= 9.6% Gflops=5.300e+00\nWR11C2R4  4000  192  1  2  8.1  5.3e+00\n')
    assert progress.without_reports(output) == 'HPLinpack 2.3\nWR11C2R4  4000  192  1  2  8.1  5.3e+00\n'
    assert progress.without_reports('no report\n') == 'no report\n'
