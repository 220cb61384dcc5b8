"""The report of a results directory, from documents the results module builds out of
recorded HPL runs (tests/support/report_fixtures.py): the CSV holds every row with the
numbers of its JSON, the summary names the best untainted run, and a comparison says what
differs."""

import csv
import io
import os

import pytest

import report_fixtures
from ansible_collections.picluster.hpl.plugins.module_utils import conditions, report
from report_fixtures import write_results


@pytest.fixture
def directory(tmp_path):
    write_results(tmp_path, bench=False)
    (tmp_path / 'hpl-broken.json').write_text('{"results": ')
    return tmp_path


def test_every_row_of_every_run_is_one_csv_line_with_its_json_numbers(directory):
    runs, _benches, problems = report.load(str(directory))
    assert [doc['id'][:15] for doc in runs] == ['20261124T030000', '20261124T031000', '20261124T032000',
                                                '20261124T033000']
    assert [os.path.basename(problem['path']) for problem in problems] == ['hpl-broken.json']
    lines = list(csv.DictReader(io.StringIO(report.to_csv(report.csv_rows(runs)))))
    assert len(lines) == sum(len(doc['results']) for doc in runs) > 3
    by_run = dict((doc['id'], doc) for doc in runs)
    for line in lines:
        doc = by_run[line['run_id']]
        row = doc['results'][[r for r in lines if r['run_id'] == line['run_id']].index(line)]
        assert (float(line['gflops']), int(line['n']), int(line['nb']), line['tv']) == (
            row['gflops'], row['n'], row['nb'], row['tv'])
        assert line['status'] == row['status'] and line['boot_medium'] == doc['boot_medium']
        # Two Pi 4s, every core: 2 x 4 x 6.0 GFLOPS.
        assert float(line['rpeak_gflops']) == doc['rpeak_gflops'] == 48.0
        assert float(line['efficiency']) == pytest.approx(row['gflops'] / 48.0, abs=1e-4)
        assert line['cluster'] == 'pi1,pi2' and line['mpi'] == 'openmpi 4.1.4'
        # The conditions the samplers reported, over both nodes.
        assert (line['governors'], float(line['temp_c_max']), float(line['freq_mhz_min'])) == ('performance', 63.0, 1500.0)
        assert line['throttled'] == ('under-voltage' if doc['conditions']['tainted'] else '')
        assert line['tainted'] == '; '.join(doc['conditions']['tainted'])
        if doc['best']:
            assert float(line['gflops_per_watt']) == doc['conditions']['gflops_per_watt'] == round(
                doc['best']['gflops'] / 7.5, 4)


def test_the_summary_names_the_best_run_and_leaves_a_tainted_one_out(directory):
    runs, benches, _problems = report.load(str(directory))
    best = max((doc for doc in runs if doc['status'] == 'passed' and not report.tainted(doc)),
               key=lambda doc: doc['best']['gflops'])
    text = report.summary(runs, benches)
    assert text.startswith('# HPL results\n\n**%s GFLOPS on 2 nodes (pi1,pi2), run %s.**' % (
        best['best']['gflops'], best['id']))
    assert 'Raspberry Pi 4 Model B Rev 1.4' in text and 'TOP500' in text
    assert '(tainted: pi2: under-voltage during the run)' in text
    # The best run, tainted too (a node throttled during it): marked, and no longer the best.
    best['conditions'] = {'tainted': ['pi2 throttled']}
    assert report.best_run(runs)['id'] != best['id']
    assert '(tainted: pi2 throttled)' in report.summary(runs, benches)
    assert 'pi2 throttled' in report.to_csv(report.csv_rows(runs))


def test_a_comparison_says_what_differs_and_the_gflops_change(directory):
    runs, _benches, _problems = report.load(str(directory))
    comparison = report.compare(runs[0], runs[1])
    differs = dict((item['what'], (item['before'], item['after'])) for item in comparison['differences'])
    assert differs['node pi1'][0]['boot_medium'] == 'sd' and differs['node pi1'][1]['boot_medium'] == 'nfs'
    assert 'HPL.dat nbs' in differs and 'mpi' not in differs
    assert comparison['ratio'] == pytest.approx(runs[1]['best']['gflops'] / runs[0]['best']['gflops'], abs=1e-4)
    same = report.compare(runs[1], runs[1])
    assert same['differences'] == [] and same['ratio'] == 1.0
    assert 'Nothing else differs' in '\n'.join(report.comparison_lines(same))


def test_the_command_writes_the_report_and_says_what_to_change_on_bad_input(directory, tmp_path, capsys):
    out = tmp_path / 'out'
    runs, _benches, _problems = report.load(str(directory))
    assert report.main([str(directory), '--out', str(out), '--compare', runs[0]['id'], runs[2]['id']]) == 0
    assert sorted(os.listdir(str(out))) == ['charts', 'index.html', 'report.md', 'results.csv']
    assert '## %s against %s' % (runs[2]['id'], runs[0]['id']) in (out / 'report.md').read_text()
    assert 'skipped' in capsys.readouterr().err
    assert report.main([str(tmp_path / 'none')]) == 2
    assert 'is not a directory' in capsys.readouterr().err
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert report.main([str(empty)]) == 2 and 'holds no results' in capsys.readouterr().err
    assert report.main([str(directory), '--compare', 'nope', runs[0]['id']]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


def test_the_nodes_alone_are_a_section_naming_the_weak_one_or_none(directory):
    runs, benches, _problems = report.load(str(directory))
    text = report.summary(runs, benches)
    assert '## Each node alone (run %s)' % runs[1]['id'] in text
    assert 'pi2 more than 10 % below the median 66.745 GFLOPS' in text
    assert '| pi2 | 59.33 | 88.9 % | passed | weak |' in text
    runs[1]['per_node']['weak'] = []
    assert 'No node is more than 10 % below the median, 66.745 GFLOPS.' in report.summary(runs, benches)
    runs[1]['per_node'].update(median_gflops=None, weak=['pi1', 'pi2'])
    assert 'No node passed alone' in report.summary(runs, benches)


def test_a_flag_seen_only_in_the_since_boot_bits_is_in_the_csv_too():
    doc = report_fixtures.run_document('single_passed', 0, throttled=0)
    doc['conditions'] = conditions.summarise({'pi1': report_fixtures.sampler_report(before=0, after=0x20000)})
    (line,) = report.csv_rows([doc])
    assert line['throttled'] == 'frequency capped' and line['tainted'] == 'pi1: frequency capped during the run'
