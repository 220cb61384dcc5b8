import pytest
from hypothesis import given, strategies as st

from ansible_collections.picluster.hpl.plugins.module_utils import hpl_dat
from ansible_collections.picluster.hpl.plugins.module_utils.hpl_dat import HplDatError


def test_defaults_render_the_tuning_starting_point():
    text = hpl_dat.render_hpl_dat({'ns': [8000], 'nbs': [256], 'grids': [[1, 2]]})
    lines = text.splitlines()
    assert len(lines) == 31
    values = [line.split()[0] for line in lines[2:]]
    # output, device, #N, N, #NB, NB, PMAP, #grids, P, Q, threshold, #pfact, pfact(Right=2),
    # #nbmin, nbmin, #ndiv, ndiv, #rfact, rfact(Crout=1), #bcast, bcast(1rM=1), #depth, depth,
    # swap(mix), swap threshold, L1, U, equil, align
    assert values == ['HPL.out', '6', '1', '8000', '1', '256', '0', '1', '1', '2', '16.0', '1', '2',
                      '1', '4', '1', '2', '1', '1', '1', '1', '1', '1', '2', '64', '0', '0', '1', '8']


def test_test_matrix_round_trip_and_count():
    params = {'ns': [1000, 2000], 'nbs': [128, 192, 256], 'grids': [[1, 4], [2, 2], [4, 1]],
              'bcasts': ['1rg', 'LnM'], 'pfacts': ['left', 'crout', 'right'], 'depths': [0, 1],
              'pmap': 'column', 'threshold': -16.0}
    parsed = hpl_dat.parse_hpl_dat(hpl_dat.render_hpl_dat(params))
    for key, value in params.items():
        assert parsed[key] == value
    assert hpl_dat.count_tests(parsed) == 2 * 3 * 3 * 2 * 3 * 2


@pytest.mark.parametrize('params,message', [
    ({'ns': []}, 'at least one'),
    ({'nbs': list(range(1, 30))}, 'at most 20'),
    ({'grids': [[0, 4]]}, 'at least 1'),
    ({'grids': [4]}, r'\[P, Q\]'),
    ({'bcasts': ['ring']}, 'not one of'),
    ({'ndivs': [1]}, '>= 2'),
    ({'ns': [1.5]}, 'whole number'),
    ({'nb': 192}, 'unknown HPL.dat parameter'),
])
def test_render_refuses_what_hpl_would_reject(params, message):
    with pytest.raises(HplDatError, match=message):
        hpl_dat.render_hpl_dat(params)


def test_parse_refuses_a_short_file():
    with pytest.raises(HplDatError, match='31'):
        hpl_dat.parse_hpl_dat('HPLinpack\n' * 10)


small = st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=4)


@given(ns=st.lists(st.integers(min_value=1, max_value=10 ** 6), min_size=1, max_size=20),
       grids=st.lists(st.tuples(st.integers(1, 64), st.integers(1, 64)).map(list), min_size=1, max_size=5),
       nbmins=small, depths=st.lists(st.integers(0, 3), min_size=1, max_size=3),
       bcasts=st.lists(st.sampled_from(hpl_dat.BCASTS), min_size=1, max_size=6),
       swap=st.sampled_from(hpl_dat.SWAPS), l1=st.booleans(), equil=st.booleans())
def test_render_parse_round_trip(ns, grids, nbmins, depths, bcasts, swap, l1, equil):
    params = dict(ns=ns, grids=grids, nbmins=nbmins, depths=depths, bcasts=bcasts, swap=swap,
                  l1_transposed=l1, equilibration=equil)
    text = hpl_dat.render_hpl_dat(params)
    parsed = hpl_dat.parse_hpl_dat(text)
    assert dict((k, parsed[k]) for k in params) == params
    assert hpl_dat.render_hpl_dat(parsed) == text
    # What the results document records is what HPL reads, without reading the text back.
    assert hpl_dat.normalise(params) == parsed


def test_normalise_names_variants_and_makes_lists():
    params = hpl_dat.normalise({'ns': 4000, 'pfacts': [0, 'Crout'], 'bcasts': 5, 'swap': 1, 'pmap': 'Column'})
    assert (params['ns'], params['pfacts'], params['bcasts'], params['swap'], params['pmap']) == (
        [4000], ['left', 'crout'], ['LnM'], 'long', 'column')
    with pytest.raises(HplDatError, match='ndivs'):
        hpl_dat.normalise({'ndivs': [1]})


def test_hpccinf_is_hpl_dat_plus_ptrans():
    text = hpl_dat.render_hpccinf({'ns': [20000], 'nbs': [192, 256], 'grids': [[1, 2]]})
    lines = text.splitlines()
    assert len(lines) == 36
    assert hpl_dat.parse_hpl_dat(text)['ns'] == [20000]
    assert [line.split()[0] for line in lines[32:]] == ['1', '10000', '1', '192']
    assert hpl_dat.render_hpccinf({'ns': [1000]}, ptrans_ns=[500, 600], ptrans_nbs=[64]).splitlines()[33].split()[:2] == ['500', '600']


@pytest.mark.parametrize('params, named', [
    ({'output_file': 'HPL.out\n7'}, 'output_file'),
    ({'output_file': 'a b'}, 'output_file'),
    ({'output_file': '-x'}, 'output_file'),
    ({'output_file': 'HPL.out\n'}, 'output_file'),
    ({'threshold': float('nan')}, 'threshold'),
    ({'threshold': 'inf'}, 'threshold'),
    ({'threshold': '16\n1'}, 'threshold'),
    ({'device_out': '6\n1'}, 'device_out'),
    ({'equilibration': 'maybe'}, 'equilibration'),
])
def test_a_value_that_would_add_a_line_or_word_is_refused(params, named):
    with pytest.raises(hpl_dat.HplDatError, match=named):
        hpl_dat.render_hpl_dat(params)


def test_true_and_false_as_text_mean_what_they_say():
    text = hpl_dat.render_hpl_dat({'l1_transposed': 'false', 'u_transposed': 'true', 'equilibration': '0'})
    read = hpl_dat.parse_hpl_dat(text)
    assert (read['l1_transposed'], read['u_transposed'], read['equilibration']) == (False, True, False)
    assert len(text.splitlines()) == 31
    assert hpl_dat.parse_hpl_dat(hpl_dat.render_hpl_dat({'output_file': '/home/hpl/HPL.out'}))['output_file'] == \
        '/home/hpl/HPL.out'
