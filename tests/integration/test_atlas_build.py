"""The whole tuned ATLAS build, for real: opt-in, as it takes hours (see the README).

    PICLUSTER_ATLAS_BUILD=debian ./test tests/integration/test_atlas_build.py

builds Debian's own atlas source package from Debian's archive, as a user's node does.

    PICLUSTER_ATLAS_BUILD=stand-in [PICLUSTER_ATLAS_ORIG=URL|PATH] ./test tests/integration/test_atlas_build.py

builds the source package of tests/support/make-atlas-archive.sh instead, for machines that
reach no archive serving Debian's ATLAS packaging: upstream's tarball (the one Debian's
source is made from, checked by its sha256), tuned by the same configure and make, from a
signed archive of its own (blas_atlas_deb_src and blas_atlas_deb_src_keyring).

Two containers of this machine's board model: the first builds, by the role's recipe, in its
transient unit; the second takes the package from the controller's cache instead of building
its own. Both run it held, through the alternatives, recorded with the key, the date and the
builder; DGEMM through it computes the right product; the build's time is kept for the
next build's expected time. The figures (build time, DGEMM of the generic and the tuned
library) are printed: run with -s to see them.
"""

import json
import os
import subprocess

import pytest

from helpers import ROOT, ansible_env, nodes, on, run, sh

KIND = os.environ.get('PICLUSTER_ATLAS_BUILD', '')
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(KIND not in ('debian', 'stand-in'),
                                 reason='opt-in, hours long: PICLUSTER_ATLAS_BUILD=debian or stand-in')]

NODES = ('atb1', 'atb2')
NETWORK = 'picluster-atlas-build'
ARCHIVE = '/srv/picluster-atlas-archive'
PLAY = '''- name: ATLAS, and what the role recorded of it
  hosts: cluster
  become: true
  roles:
    - role: picluster.hpl.blas
  post_tasks:
    - name: Keep what the role recorded
      ansible.builtin.copy:
        dest: "{{ out }}/{{ inventory_hostname }}-{{ blas_atlas_build | default('package') }}.json"
        content: "{{ {'installed': blas_installed, 'kernel': ansible_facts.picluster_hpl_blas} | to_json }}"
        mode: "0644"
      delegate_to: localhost
      become: false
      # DGEMM is measured again on every run: a record, not a change.
      changed_when: false
'''


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    directory = tmp_path_factory.mktemp('atlas-build')
    options = {'blas_library': 'atlas', 'blas_atlas_cache': str(directory / 'cache'), 'out': str(directory)}
    try:
        nodes('up', sh('dpkg', '--print-architecture').strip(), NETWORK, *NODES)
        if KIND == 'stand-in':
            archive = directory / 'archive'
            sh(os.path.join(ROOT, 'tests', 'support', 'make-atlas-archive.sh'), str(archive),
               *[os.environ[name] for name in ['PICLUSTER_ATLAS_ORIG'] if os.environ.get(name)])
            for node in NODES:
                sh('docker', 'cp', str(archive), '%s:%s' % (node, ARCHIVE))
            options.update(blas_atlas_deb_src='file:' + ARCHIVE, blas_atlas_deb_src_keyring=ARCHIVE + '/keyring.gpg')
        (directory / 'inventory.yml').write_text(json.dumps({'cluster': {
            'hosts': {node: {'ansible_connection': 'community.docker.docker'} for node in NODES},
            'vars': dict(options, ansible_python_interpreter='/usr/bin/python3')}}))
        (directory / 'play.yml').write_text(PLAY)
        yield directory
    finally:
        # The build's log and status outlive the nodes, for a build that failed after hours.
        for node in NODES:
            subprocess.run(['docker', 'cp', '%s:/var/lib/picluster-hpl/atlas' % node, str(directory / ('%s-atlas' % node))],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        nodes('down', NETWORK, *NODES)


def play(directory, *args):
    command = ['ansible-playbook', '-i', str(directory / 'inventory.yml'), str(directory / 'play.yml')] + list(args)
    result = run(command, ansible_env(os.path.join(ROOT, '.cache', 'collections')), timeout=12 * 3600)
    (directory / 'play.log').write_text(result.stdout)
    return result


def recorded(directory, node, build):
    return json.loads((directory / ('%s-%s.json' % (node, build))).read_text())


def test_atlas_tuned_on_one_node_runs_on_both(cluster):
    generic = play(cluster)
    assert generic.returncode == 0, generic.stdout[-4000:]

    tuned = play(cluster, '-e', 'blas_atlas_build=tuned')
    assert tuned.returncode == 0, tuned.stdout[-6000:]
    assert 'Started the ATLAS build at' in tuned.stdout
    (key,) = os.listdir(str(cluster / 'cache'))
    cached = cluster / 'cache' / key
    built = json.loads((cached / 'build.json').read_text())
    assert built['node'] == NODES[0] and built['seconds'] > 0
    assert [name for name in os.listdir(str(cached)) if name.endswith('.deb')] == [built['deb']]
    expected = {'kind': 'tuned', 'key': key, 'built': built['built'], 'node': NODES[0]}
    for node in NODES:
        tuned_record = recorded(cluster, node, 'tuned')
        assert tuned_record['installed']['build'] == expected
        assert tuned_record['kernel']['kernel'] == 'tuned' and tuned_record['kernel']['dgemm_correct']
        assert on(node, 'apt-mark showhold').split() == ['libatlas3-base']
        assert on(node, 'readlink -f /usr/lib/*/libblas.so.3').strip().endswith('/atlas/libblas.so.3.10.3')
    # Only the first node built: the second installed the first one's package.
    assert 'ActiveState=inactive' in on(NODES[1], 'systemctl show --property=ActiveState picluster-atlas-build.service')
    assert on(NODES[1], 'ls /var/lib/picluster-hpl/atlas/%s' % key).split() == [built['deb']]
    print('\nATLAS %s build of %s on %s: %d s; DGEMM on one core: generic %s GFLOPS, tuned %s GFLOPS'
          % (KIND, key, NODES[0], built['seconds'], recorded(cluster, NODES[0], 'package')['kernel']['dgemm_gflops'],
             recorded(cluster, NODES[0], 'tuned')['kernel']['dgemm_gflops']))

    # Run again: the tuned package is there on both, nothing changes.
    again = play(cluster, '-e', 'blas_atlas_build=tuned')
    assert again.returncode == 0 and again.stdout.count('changed=0') == len(NODES), again.stdout[-3000:]
