"""What the atlas_build module reads of a node's build directory: a build that ended well,
one that failed or vanished, and the tuned build the node runs (the marker checked against
the library's own bytes)."""

import hashlib
import json
import time

from ansible_collections.picluster.hpl.plugins.modules import atlas_build

KEY = 'arm64-bookworm-atlas3.10.3-13-arm-0x41-0xd08'


def params(tmp_path, **more):
    return dict({'dir': str(tmp_path / 'atlas'), 'marker': str(tmp_path / 'atlas-tuned.json'),
                 'library': str(tmp_path / 'libblas.so.3')}, **more)


def build(tmp_path, log, status=None, deb=None):
    work = tmp_path / 'atlas' / KEY
    work.mkdir(parents=True)
    (work / 'build.log').write_text(log)
    (work / 'started').write_text('%d\n' % (time.time() - 90))
    if status is not None:
        (work / 'status.json').write_text(status if isinstance(status, str) else json.dumps(status))
    if deb:
        (work / deb).write_bytes(b'!<arch>\n')


def test_a_build_that_ended_well_gives_its_package(tmp_path):
    build(tmp_path, 'picluster-atlas-build: step package at x\n',
          {'result': 'success', 'rc': 0, 'deb': 'libatlas3-base_3.10.3-13_arm64.deb'}, 'libatlas3-base_3.10.3-13_arm64.deb')
    found = atlas_build.where(params(tmp_path), KEY)
    assert found['deb'].endswith('/%s/libatlas3-base_3.10.3-13_arm64.deb' % KEY)
    assert found['reason'] is None and 90 <= found['elapsed'] < 100 and found['stage'] == 'keeping the package'


def test_a_failed_a_vanished_and_a_running_build(tmp_path):
    build(tmp_path, 'picluster-atlas-build: step source at x\nE: Failed to fetch atlas 404  Not Found\n',
          {'result': 'failed', 'rc': 100, 'deb': ''})
    assert atlas_build.where(params(tmp_path), KEY)['reason'] == 'E: Failed to fetch atlas 404  Not Found'
    (tmp_path / 'atlas' / KEY / 'status.json').write_text('{"result": "succ')  # half written
    assert atlas_build.where(params(tmp_path), KEY)['reason'].startswith('it ended without a status')
    running = atlas_build.where(params(tmp_path), KEY, running=True)
    assert running['reason'] is None and running['deb'] is None


def test_the_marker_holds_only_while_the_library_is_the_one_it_installed(tmp_path):
    library = tmp_path / 'libblas.so.3'
    library.write_bytes(b'tuned bytes')
    record = {'key': KEY, 'built': '2026-11-02T07:00:00Z', 'node': 'pi1',
              'library_sha256': hashlib.sha256(b'tuned bytes').hexdigest()}
    (tmp_path / 'atlas-tuned.json').write_text(json.dumps(record))
    assert atlas_build.installed(params(tmp_path)) == {'key': KEY, 'built': '2026-11-02T07:00:00Z', 'node': 'pi1'}
    library.write_bytes(b'generic bytes, reinstalled since')
    assert atlas_build.installed(params(tmp_path)) is None
    assert atlas_build.installed(params(tmp_path, library=None)) is None
