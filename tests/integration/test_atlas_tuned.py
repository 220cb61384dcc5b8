"""ATLAS tuned on the board (blas_atlas_build tuned), on two nodes of one board model.

Two containers of this machine's own architecture (scripts/nodes): the same CPU, so one key.
The build really runs, by Debian's recipe, in its transient unit: it waits for the dpkg
lock this test holds (as an unattended upgrade would) while a play with no time to wait
leaves it running, and a second play re-attaches to it; then it is stopped, as a user
would, and the generic package stays; the next play builds again and says how the last
build ended. (Left to go on, it fails here at ATLAS's source,
which the archive these machines reach does not serve; a tuned build takes hours.) So the
cache is given a package (the archive's own libatlas3-base, standing for a build copied
from another controller) for the nodes to install, held, in the generic one's place.
"""

import json
import os
import subprocess
import time

import pytest

from helpers import BIN, ROOT, ansible_env, nodes, on, run, sh

pytestmark = pytest.mark.slow

NODES = ('atl1', 'atl2')
NETWORK = 'picluster-atlas'
PLAY = '''- name: ATLAS, and what the role recorded of it
  hosts: cluster
  become: true
  roles:
    - role: picluster.hpl.blas
  post_tasks:
    - name: Keep blas_installed
      ansible.builtin.copy:
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        content: "{{ blas_installed | to_json }}"
        mode: "0644"
      delegate_to: localhost
      become: false
'''


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp('atlas')
    try:
        nodes('up', sh('dpkg', '--print-architecture').strip(), NETWORK, *NODES)
        (directory / 'inventory.yml').write_text(json.dumps({'cluster': {
            'hosts': {node: {'ansible_connection': 'community.docker.docker'} for node in NODES},
            'vars': {'ansible_python_interpreter': '/usr/bin/python3', 'blas_library': 'atlas',
                     'blas_atlas_cache': str(directory / 'cache'), 'out': str(directory)}}}))
        (directory / 'play.yml').write_text(PLAY)
        yield directory
    finally:
        nodes('down', NETWORK, *NODES)


def play(directory, *args, background=False):
    command = ['ansible-playbook', '-i', str(directory / 'inventory.yml'), str(directory / 'play.yml')] + list(args)
    env = ansible_env(os.path.join(ROOT, '.cache', 'collections'))
    if not background:
        return run(command, env)
    log = open(str(directory / 'play.log'), 'w')
    return subprocess.Popen([os.path.join(BIN, command[0])] + command[1:],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, universal_newlines=True)


def failed(result):
    """The play's output from its first failure on, for an assertion's message."""
    return result.stdout[result.stdout.find('fatal:'):][:4000]


def installed(directory, node):
    return json.loads((directory / ('%s.json' % node)).read_text())


def selected(node):
    """Where libblas.so.3 points, and what apt holds."""
    return on(node, 'readlink /etc/alternatives/libblas.so.3-*; apt-mark showhold').split()


def hold_dpkg_lock(node):
    """apt's own lock (fcntl, as apt and dpkg take it: flock(1) would not stop them), held
    in a unit of its own until the test stops it."""
    on(node, "systemd-run --unit=hold-dpkg-lock /usr/bin/python3 -c 'import apt_pkg, time; apt_pkg.init(); "
             "apt_pkg.pkgsystem_lock(); time.sleep(900)'")
    on(node, 'for _ in $(seq 50); do python3 -c "import apt_pkg; apt_pkg.init(); apt_pkg.pkgsystem_lock()" '
             '2>/dev/null || exit 0; sleep 0.1; done; exit 1')


def unit_started(node):
    return on(node, 'systemctl show --property=ExecMainStartTimestampMonotonic --property=ActiveState'
                    ' picluster-atlas-build.service')


def test_the_generic_package_is_recorded_as_generic(cluster):
    result = play(cluster)
    assert result.returncode == 0, result.stdout[-4000:]
    for node in NODES:
        assert installed(cluster, node)['build'] == {'kind': 'generic'}
        assert selected(node)[0].endswith('/atlas/libblas.so.3') and len(selected(node)) == 1


def test_a_build_outlives_the_play_and_a_second_play_reattaches(cluster):
    # The dpkg lock held, as by an unattended upgrade: the build waits in its first step.
    hold_dpkg_lock('atl1')
    first = play(cluster, '-e', 'blas_atlas_build=tuned', '-e', 'blas_atlas_wait=0')
    assert first.returncode != 0
    assert 'ATLAS is still building on atl1' in first.stdout and 'run the play again' in first.stdout
    # atl2 shares atl1's board model: it waits for atl1's build instead of starting its own.
    assert 'its build on atl1 did not finish' in first.stdout
    assert 'ActiveState=inactive' in on('atl2', 'systemctl show --property=ActiveState picluster-atlas-build.service')
    started = unit_started('atl1')
    assert 'ActiveState=active' in started

    second = play(cluster, '-e', 'blas_atlas_build=tuned', '-e', 'blas_atlas_wait=600', background=True)
    try:
        log = cluster / 'play.log'
        for dummy in range(240):
            if 'Found the ATLAS build running since' in log.read_text() or second.poll() is not None:
                break
            time.sleep(0.5)
        assert unit_started('atl1') == started, log.read_text()[-3000:]
        # Stopped, as a user would stop it (or a shutdown would): the play says so, and where.
        # The build first, then the lock: apt never gets to dpkg.
        on('atl1', 'systemctl stop picluster-atlas-build.service; systemctl stop hold-dpkg-lock')
        second.wait(timeout=300)
    finally:
        second.kill()
    output = log.read_text()
    assert second.returncode != 0
    assert 'Found the ATLAS build running since' in output
    assert ('The tuned ATLAS build failed on atl1: it was stopped (systemctl stop, or a shutdown) during: '
            "installing ATLAS's build dependencies.") in output, output[-4000:]
    key = on('atl1', 'ls /var/lib/picluster-hpl/atlas').split()[0]
    assert 'atl1:/var/lib/picluster-hpl/atlas/%s/build.log' % key in output
    assert 'step build-dep' in on('atl1', 'cat /var/lib/picluster-hpl/atlas/%s/build.log' % key)
    assert json.loads(on('atl1', 'cat /var/lib/picluster-hpl/atlas/%s/status.json' % key))['rc'] == 143
    for node in NODES:
        assert len(selected(node)) == 1, 'the generic package stays, unheld'

    # The next run builds again, and says how the last build ended, its log kept beside.
    hold_dpkg_lock('atl1')
    try:
        third = play(cluster, '-e', 'blas_atlas_build=tuned', '-e', 'blas_atlas_wait=0')
        assert 'The one before it failed: it was stopped (systemctl stop, or a shutdown)' in third.stdout, failed(third)
        assert 'ATLAS is still building on atl1' in third.stdout, failed(third)
        assert 'step build-dep' in on('atl1', 'cat /var/lib/picluster-hpl/atlas/%s/build.log.1' % key)
    finally:
        on('atl1', 'systemctl stop picluster-atlas-build.service || true; systemctl stop hold-dpkg-lock')


def test_a_cached_package_is_installed_held_and_recorded(cluster):
    key = on('atl1', 'ls /var/lib/picluster-hpl/atlas').split()[0]
    assert key.startswith(sh('dpkg', '--print-architecture').strip() + '-bookworm-atlas3.10.3')
    # A package built on another controller, copied here as its key's directory.
    cached = cluster / 'cache' / key
    cached.mkdir(parents=True)
    on('atl1', 'cd /tmp && apt-get download -q libatlas3-base >/dev/null')
    subprocess.run(['docker', 'cp', 'atl1:/tmp/' + on('atl1', 'cd /tmp && ls libatlas3-base_*.deb').strip(),
                    str(cached)], check=True)
    (cached / 'build.json').write_text(json.dumps({'key': key, 'node': 'pi4-elsewhere', 'built': '2026-11-02T07:00:00Z',
                                                  'seconds': 28800}))
    result = play(cluster, '-e', 'blas_atlas_build=tuned')
    assert result.returncode == 0, failed(result)
    for node in NODES:
        assert installed(cluster, node)['build'] == {'kind': 'tuned', 'key': key, 'built': '2026-11-02T07:00:00Z',
                                                     'node': 'pi4-elsewhere'}
        assert selected(node)[1:] == ['libatlas3-base']
    assert 'ActiveState=inactive' in unit_started('atl2')

    # Run again: nothing to do. Then back to Debian's package: the hold is lifted.
    again = play(cluster, '-e', 'blas_atlas_build=tuned')
    assert again.returncode == 0 and again.stdout.count('changed=0') == len(NODES), again.stdout[-3000:]
    back = play(cluster)
    assert back.returncode == 0, back.stdout[-4000:]
    for node in NODES:
        assert installed(cluster, node)['build'] == {'kind': 'generic'} and len(selected(node)) == 1
