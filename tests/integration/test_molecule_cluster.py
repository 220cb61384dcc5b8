"""The three-node arm64 cluster (molecule/cluster): HPL really runs across the containers,
a second converge changes nothing, then each node takes the roles' other choices twice,
the second time changing nothing, and testinfra checks the result and every node."""

import pytest

from scenario import RECAP, action_outputs, molecule

pytestmark = pytest.mark.slow


def test_cluster_scenario():
    output = molecule('cluster')
    # variants.yml ran twice on all three nodes; molecule's idempotence action only re-runs
    # converge, so the second run's recap is checked here: it must change nothing.
    runs = action_outputs(output, 'cluster', 'side_effect')
    assert len(runs) == 2, 'expected two side_effect runs'
    first, second = ({host: int(changed) for host, changed, _u, _f in RECAP.findall(text)} for text in runs)
    assert set(second) >= {'pi1', 'pi2', 'pi3'}, second
    assert sum(first.values()) > 0, 'the first variants run changed nothing: were the variants applied?'
    assert all(changed == 0 for changed in second.values()), 'not idempotent: %s\n%s' % (second, runs[1][-6000:])
