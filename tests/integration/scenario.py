"""Run a molecule scenario the way a developer does (scripts/molecule sets up dockerd, arm64
emulation and the base image itself, as a new machine has none of them) and check that
its testinfra verifier ran and passed."""

import os
import re
import time

from helpers import ROOT, ansible_env, run

RECAP = re.compile(r'^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', re.M)


def molecule(scenario):
    started = time.time()
    result = run([os.path.join(ROOT, 'scripts', 'molecule'), 'test', scenario],
                 # Plain output: the side_effect markers and recaps are read below. The bound
                 # is for a hang: a cold cluster run takes 28 min here and machines differ 2x.
                 ansible_env(os.path.join(ROOT, '.cache', 'collections'), NO_COLOR='1'), timeout=4200)
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
