"""The three-node arm64 cluster (molecule/cluster): HPL is tuned across the containers and
a second converge (the tune playbook again) finds it tuned and changes nothing; then each
node takes the roles' other choices twice, the second time changing nothing, and
testinfra checks the results and every node."""

import pytest

from scenario import RECAP, action_outputs, molecule

pytestmark = pytest.mark.slow


def test_cluster_scenario():
    output = molecule('cluster')
    # The search said where it stood while it ran; the second converge found it done.
    (converge,) = action_outputs(output, 'cluster', 'converge')
    assert 'Tuning, stage 1 of 6 (NB (coarse) and the P x Q grid): 6 tests at N=576' in ' '.join(converge.split())
    (again,) = action_outputs(output, 'cluster', 'idempotence')
    assert 'Tuned already on these nodes' in ' '.join(again.split())
    # variants.yml ran twice on all three nodes; molecule's idempotence action only re-runs
    # converge, so the second run's recap is checked here: it must change nothing.
    runs = action_outputs(output, 'cluster', 'side_effect')
    assert len(runs) == 2, 'expected two side_effect runs'
    first, second = ({host: int(changed) for host, changed, _u, _f in RECAP.findall(text)} for text in runs)
    assert set(second) >= {'pi1', 'pi2', 'pi3'}, second
    assert sum(first.values()) > 0, 'the first variants run changed nothing: were the variants applied?'
    assert all(changed == 0 for changed in second.values()), 'not idempotent: %s\n%s' % (second, runs[1][-6000:])
