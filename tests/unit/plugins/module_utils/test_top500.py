import pytest
from hypothesis import given, strategies as st

from ansible_collections.picluster.hpl.plugins.module_utils import top500


def by_list(result):
    return dict((p['list'], p) for p in result['lists'])


def test_the_original_three_pi_cluster():
    result = top500.top500_rank(31.322)
    lists = by_list(result)
    # Between #250 (34.17) and #500 (24.7) of June 1999; below the cut from November 1999.
    assert 250 < lists['1999-06']['rank'] < 500
    assert lists['1999-06']['rank'] == 336
    assert lists['1999-06']['cut_gflops'] == 24.7
    assert lists['1999-11']['rank'] is None and lists['2003-06']['rank'] is None
    assert (result['latest_list'], result['latest_rank']) == ('1999-06', 336)
    assert result['summary'].startswith('31.32 GFLOPS would have ranked #336 on the June 1999 TOP500 list')
    assert 'November 1999' in result['summary']


def test_2003_claim_is_wrong():
    # "Would have been in the TOP500 in 2003": the June 2003 cut was 245.1 GFLOPS.
    assert by_list(top500.top500_rank(31.322))['2003-06']['cut_gflops'] == 245.1
    # Ten systems tie at 245.1 (#491-#500): a tie shares the first of their ranks.
    assert by_list(top500.top500_rank(245.1))['2003-06']['rank'] == 491
    assert by_list(top500.top500_rank(245.0))['2003-06']['rank'] is None


def test_every_list_is_there_including_later_cuts():
    lists = top500.top500_rank(10)['lists']
    assert len(lists) == 44 + len(top500.LATER_CUTS)
    assert lists[0]['list'] == '1993-06' and lists[43]['list'] == '2014-11'
    later = lists[44:]
    assert [p['list'] for p in later] == ['2019-06', '2020-06', '2020-11']
    assert all(p['rank'] is None and not p['in_top500'] for p in later)


def test_first_system_and_nothing():
    assert by_list(top500.top500_rank(60))['1993-06']['rank'] == 1
    result = top500.top500_rank(0.1)
    assert result['latest_list'] is None and result['best_rank'] is None
    assert 'below the #500 entry of every TOP500 list' in result['summary']


@pytest.mark.parametrize('bad', ['fast', None, -1, float('nan')])
def test_bad_gflops(bad):
    with pytest.raises(ValueError):
        top500.top500_rank(bad)


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6))
def test_more_gflops_never_ranks_worse(a, b):
    low, high = sorted((a, b))
    for p_low, p_high in zip(top500.top500_rank(low)['lists'], top500.top500_rank(high)['lists']):
        if p_low['rank'] is not None:
            assert p_high['rank'] is not None and p_high['rank'] <= p_low['rank']
