"""Every role in Docker arm64 containers (molecule, testinfra), and the three-node cluster
that really runs HPL across containers. scripts/molecule sets up dockerd, arm64 emulation
and the base image itself, as a new machine has none of them."""

import os
import re
import time

import pytest

from helpers import ROOT, ansible_env, run

pytestmark = pytest.mark.slow


@pytest.mark.parametrize('scenario', ['mpi', 'blas', 'hpl', 'benchmark', 'cluster', 'netboot'])
def test_scenario(scenario):
    started = time.time()
    result = run([os.path.join(ROOT, 'scripts', 'molecule'), 'test', scenario],
                 ansible_env(os.path.join(ROOT, '.cache', 'collections')), timeout=2400)
    print('molecule %s: %.0f s' % (scenario, time.time() - started))
    assert result.returncode == 0, result.stdout[-8000:]
    # The testinfra verifier ran and every check passed (a skipped verify prints no summary).
    summary = [line for line in result.stdout.splitlines() if re.match(r'=+ .*\d+ passed.* in [\d.]+s', line)]
    assert summary and not any(word in summary[-1] for word in ('failed', 'error', 'skipped')), summary
