import os

import pytest

from ansible_collections.picluster.hpl.plugins.module_utils import atlas
from conftest import read_fixture


def test_the_cpu_is_named_by_what_atlas_tuning_depends_on():
    assert atlas.cpu_id(read_fixture('cpu', 'pi4-cortex-a72.cpuinfo')) == 'arm-0x41-0xd08'
    assert atlas.cpu_id(read_fixture('cpu', 'pi5-cortex-a76.cpuinfo')) == 'arm-0x41-0xd0b'
    assert atlas.cpu_id(read_fixture('cpu', 'epyc-9654-zen4.cpuinfo')) == 'x86-AuthenticAMD-25-17'
    assert atlas.cpu_id('model name\t: Some board\n') == 'cpu-Some board'
    with pytest.raises(ValueError, match='names no CPU model'):
        atlas.cpu_id('processor\t: 0\n')


def test_the_key_holds_every_part_and_is_a_file_name():
    key = atlas.cache_key('arm-0x41-0xd08', 'arm64', 'bookworm', '3.10.3-13')
    assert key == 'arm64-bookworm-atlas3.10.3-13-arm-0x41-0xd08'
    odd = atlas.cache_key('cpu-Some board/v2', 'armhf', 'trixie', '1:3.10.3-14+b1')
    assert os.sep not in odd and ' ' not in odd and ':' not in odd
    # Two boards, two keys; another ATLAS version, another key.
    assert atlas.cache_key('arm-0x41-0xd0b', 'arm64', 'bookworm', '3.10.3-13') != key
    assert atlas.cache_key('arm-0x41-0xd08', 'arm64', 'bookworm', '3.10.3-14') != key
    with pytest.raises(ValueError, match='release, version'):
        atlas.cache_key('arm-0x41-0xd08', 'arm64', '', None)


def test_the_stage_follows_the_build_step_and_atlas_banners():
    assert atlas.stage('') is None
    assert atlas.stage('picluster-atlas-build: step build-dep at 2026-12-05T21:00:02Z\n') == \
        "installing ATLAS's build dependencies"
    assert atlas.stage(read_fixture('atlas', 'running.log')) == \
        "building and tuning ATLAS, ATLAS stage 2-1-0 (tuning prec='d' (precision 1 of 4))"
    # A real tuned build on this kind of machine, 50 minutes in, when it was stopped.
    real = read_fixture('atlas', 'tuned-amd64-excerpt.log')
    assert atlas.stage(real) == 'building and tuning ATLAS, ATLAS stage 2-1-3 (small/large crossover)'
    assert atlas.ended_reason({'result': 'failed', 'rc': 143}, real) == (
        'it was stopped (systemctl stop, or a shutdown) during: building and tuning ATLAS, '
        'ATLAS stage 2-1-3 (small/large crossover)')


def test_the_reason_is_atlas_own_when_it_gives_one():
    assert atlas.failure_reason(read_fixture('atlas', 'throttled.log')) == (
        'It appears you have cpu throttling enabled, which makes timings '
        'unreliable and an ATLAS install nonsensical.  Aborting.')
    assert atlas.failure_reason(read_fixture('atlas', 'no-source.log')).startswith(
        'E: Failed to fetch http://deb.debian.org/debian/pool/main/a/atlas/atlas_3.10.3.orig.tar.bz2  404')
    # ATLAS's configure saying throttling is off is no reason; its error later is.
    assert atlas.failure_reason('Cannot detect CPU throttling.\nERROR 512 DURING CACHESIZE SEARCH!!.\n'
                                'make: *** [Makefile:15: build] Error 1\n') == 'ERROR 512 DURING CACHESIZE SEARCH!!.'
    # make's errors: ATLAS's configure fails some probes on purpose (lines of a real build
    # here); the build failed where its last chain of them began.
    probes = ('ERROR: enum fam=0, chip=0, model=17, mach=0\nmake[5]: *** [Makefile:106: atlas_run] Error 100\n'
              'make[4]: *** [Makefile:449: IRunArchInfo_x86] Error 2\nCannot detect CPU throttling.\n')
    end = ('xgmmsearch.c:12: error: expected expression\nmake[5]: *** [Makefile:2005: xgmmsearch] Error 1\n'
           "make[4]: Leaving directory '/build/tune/blas/gemm'\nmake[4]: *** [Makefile:90: res/dMMRES] Error 2\n"
           'make: *** [debian/rules:31: build] Error 2\n'
           'dpkg-buildpackage: error: debian/rules build subprocess returned exit status 2\n')
    assert atlas.failure_reason(probes + end) == 'make[5]: *** [Makefile:2005: xgmmsearch] Error 1'
    # The build script's own refusal, over the apt error that would follow it.
    assert atlas.failure_reason('picluster-atlas-build: step build-dep at 2026-12-06T04:00:00Z\n'
                                'picluster-atlas-build: error: no keyring /srv/key.gpg to check file:/srv with: set '
                                "blas_atlas_deb_src_keyring to the archive's key on the node.\nE: later\n") == (
        'picluster-atlas-build: error: no keyring /srv/key.gpg to check file:/srv with: set '
        "blas_atlas_deb_src_keyring to the archive's key on the node.")
    assert atlas.failure_reason('one\nlast words\n') == 'last words'
    assert atlas.failure_reason('') == 'the build wrote nothing to its log'


def test_the_expected_time_is_this_board_models_last_build():
    records = [
        {'cpu': 'arm-0x41-0xd08', 'arch': 'arm64', 'seconds': 30000, 'built': '2026-10-01T07:00:00Z'},
        {'cpu': 'arm-0x41-0xd08', 'arch': 'arm64', 'seconds': 28000, 'built': '2026-11-01T07:00:00Z'},
        {'cpu': 'arm-0x41-0xd0b', 'arch': 'arm64', 'seconds': 9000, 'built': '2026-12-01T07:00:00Z'},
        {'cpu': 'arm-0x41-0xd08', 'arch': 'armhf', 'seconds': 40000, 'built': '2026-12-01T07:00:00Z'},
        {'cpu': 'arm-0x41-0xd08', 'arch': 'arm64', 'seconds': 'soon'}, 'not a record']
    assert atlas.expected_seconds(records, 'arm-0x41-0xd08', 'arm64') == 28000
    assert atlas.expected_seconds(records, 'x86-GenuineIntel-6-207', 'amd64') is None
    assert atlas.expected_seconds(None, 'arm-0x41-0xd08', 'arm64') is None


def test_the_progress_line_says_the_stage_and_the_time_against_the_last_build():
    assert atlas.progress_text('building and tuning ATLAS', 7260, 28800) == \
        'ATLAS build: building and tuning ATLAS, 2 h 01 min of about 8 h 00 min'
    assert atlas.progress_text(None, 50000, 28800).endswith('longer than expected')
    assert atlas.progress_text(None, 75) == 'ATLAS build: starting, 1 min 15 s gone'


def test_a_build_that_ended_without_a_package_says_how():
    log = read_fixture('atlas', 'running.log')
    assert atlas.ended_reason({'result': 'failed', 'rc': 143}, log) == (
        'it was stopped (systemctl stop, or a shutdown) during: building and tuning ATLAS, '
        "ATLAS stage 2-1-0 (tuning prec='d' (precision 1 of 4))")
    assert atlas.ended_reason(None, log).startswith('it ended without a status')
    assert atlas.ended_reason({'result': 'failed', 'rc': 2}, read_fixture('atlas', 'throttled.log')).startswith(
        'It appears you have cpu throttling enabled')
    # One apt error at a time, not the next one with it.
    assert atlas.failure_reason(read_fixture('atlas', 'no-source.log')).endswith('404  Not Found [IP: 203.0.113.80 80]')
