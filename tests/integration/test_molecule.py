"""Every role in Docker arm64 containers (molecule, testinfra): the three-node cluster that
really runs HPL across containers and then takes each role's other choices, and the
network boot server. scripts/molecule sets up dockerd, arm64 emulation and the base image
itself, as a new machine has none of them."""

import os
import re
import time

import pytest

from helpers import ROOT, ansible_env, run

# One worker runs the scenarios one after the other (they share the emulated cores and the
# docker engine); the host's own tests run beside them on the other worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group('molecule')]
RECAP = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def molecule(scenario):
    started = time.time()
    result = run([os.path.join(ROOT, 'scripts', 'molecule'), 'test', scenario],
                 ansible_env(os.path.join(ROOT, '.cache', 'collections')), timeout=2700)
    print('molecule %s: %.0f s' % (scenario, time.time() - started))
    assert result.returncode == 0, result.stdout[-8000:]
    # The testinfra verifier ran and every check passed (a skipped verify prints no summary).
    summary = [line for line in result.stdout.splitlines() if re.match(r'=+ .*\d+ passed.* in [\d.]+s', line)]
    assert summary and not any(word in summary[-1] for word in ('failed', 'error', 'skipped')), summary
    return result.stdout


def action_outputs(output, scenario, action):
    """What each run of a molecule action printed, in order."""
    marker = re.compile(r'\[%s > %s\] Executing\n(.*?)\[%s > %s\] Executed' % (scenario, action, scenario, action),
                        re.S)
    return marker.findall(output)


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


def test_netboot_scenario():
    molecule('netboot')
