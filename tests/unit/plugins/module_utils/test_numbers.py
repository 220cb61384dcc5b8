"""Numbers that are not numbers (NaN, infinities) and absurd magnitudes: refused with what
to change before any maths, and never written into a results document as invalid JSON."""

import json
import stat

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_output, peaks, results, sizing, top500

NODE = {'name': 'pi1', 'memory_mb': 7812, 'cores': 4}
INF, NAN = float('inf'), float('nan')


@pytest.mark.parametrize('change, message', [
    ({'nodes': [dict(NODE, memory_mb=1e300)]}, "node 'pi1' memory_mb (MiB, as ansible_memtotal_mb) must be at most 67108864"),
    ({'nodes': [dict(NODE, memory_mb=INF)]}, 'must be a positive number, got inf'),
    ({'nodes': [dict(NODE, cores=1e20)]}, "node 'pi1' cores must be at most 4096"),
    ({'nodes': [dict(NODE, cores=INF)]}, "node 'pi1' cores must be a whole number, got inf"),
    ({'nodes': [dict(NODE, ranks=NAN)]}, "node 'pi1' ranks must be a whole number, got nan"),
    ({'nb': INF}, 'nb must be a whole number, got inf'),
    ({'nb': 10 ** 9}, 'nb must be at most 4096'),
    ({'max_n': INF}, 'max_n must be a whole number, got inf'),
    ({'max_n': 2 ** 40}, 'max_n must be at most 2147483647'),
    ({'max_seconds': 1e12, 'expected_gflops': 1.0}, 'max_seconds must be at most 2.592e+06'),
    ({'max_seconds': 60, 'expected_gflops': INF}, 'expected_gflops must be a positive number, got inf'),
    ({'max_seconds': 60, 'expected_gflops': 1e30}, 'expected_gflops must be at most 1e+12'),
    ({'max_seconds': 60, 'calibration': [{'n': 1000, 'seconds': NAN}]}, 'calibration[0].seconds must be a positive'),
    ({'memory_fraction': NAN}, 'memory_fraction must be a positive number, got nan'),
])
def test_sizing_refuses_what_no_cluster_has(change, message):
    args = dict({'nodes': [NODE]}, **change)
    with pytest.raises(sizing.HplInputError) as raised:
        sizing.hpl_params(**args)
    assert message in str(raised.value)


def test_the_largest_node_there_is_still_sizes():
    sized = sizing.hpl_params([{'name': 'big', 'memory_mb': 2 ** 26, 'cores': 4096}])
    assert 0 < sized['n'] < 2 ** 31 and sized['ranks'] == 4096


@pytest.mark.parametrize('gflops', [INF, NAN, -1.0])
def test_no_place_on_the_top500_for_what_is_not_a_rate(gflops):
    with pytest.raises(ValueError, match='finite, non-negative GFLOPS'):
        top500.top500_rank(gflops)


@pytest.mark.parametrize('gflops, rpeak', [(10.0, NAN), (10.0, -10.0), (10.0, 0.0), (10.0, INF), (INF, 100.0),
                                           (NAN, 100.0), ('ten', 100.0), (None, 100.0)])
def test_no_efficiency_from_a_peak_or_rate_that_is_not_one(gflops, rpeak):
    assert peaks.efficiency(gflops, rpeak) is None


@pytest.mark.parametrize('key', ['rpeak_gflops', 'dgemm_gflops'])
@pytest.mark.parametrize('value', [NAN, INF, -5.0, 0, 'fast', True, 1e15])
def test_a_run_record_with_a_rate_that_is_not_one_is_refused(key, value):
    with pytest.raises(ValueError, match='%s must be a positive number of GFLOPS' % key):
        results.build_document({'output': '', key: value}, {})


def test_a_nan_residual_is_a_failed_check_with_no_number(tmp_path):
    output = ('WR11C2R4        1000   128     1     2               0.10             6.667e+00\n'
              '||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=        nan ...... FAILED\n')
    (row,) = hpl_output.parse_hpl_output(output)['results']
    assert row['status'] == 'failed' and row['residual'] is None
    path = results.write_document(str(tmp_path), results.build_document({'output': output}, {}))
    with open(path) as handle:
        json.loads(handle.read(), parse_constant=pytest.fail)


def test_a_document_is_always_valid_json_and_readable_like_a_report(tmp_path):
    document = results.build_document({'output': ''}, {})
    document['conditions'] = {'power_watts': NAN, 'nodes': {'pi1': {'temp_c': {'max': INF}}}}
    path = results.write_document(str(tmp_path), document)
    with open(path) as handle:
        written = json.loads(handle.read(), parse_constant=pytest.fail)
    assert written['conditions'] == {'power_watts': None, 'nodes': {'pi1': {'temp_c': {'max': None}}}}
    assert any('not finite' in error for error in written['errors'])
    assert stat.S_IMODE((tmp_path / path.rsplit('/', 1)[1]).stat().st_mode) == 0o644
