"""The network boot server in an arm64 container (molecule/netboot), probed by a container
that boots like a Raspberry Pi 4: proxy DHCP, TFTP and the NFS root."""

import pytest

from scenario import molecule

pytestmark = pytest.mark.slow


# pi2's password hash (molecule/netboot/molecule.yml), which the scenario's -v output must
# not show anywhere.
HASH = '$6$picluster$PvcZRo8Iap7LPKR/8eKewq9xRbHWbAdsPe1NM3Le2U7I.QC9Gy9LFYYcjBs1nVVLLkUUFOHME67UrOE6TyS/b.'


def test_netboot_scenario():
    output = molecule('netboot')
    assert HASH not in output and HASH.split('$')[3] not in output
    # pi2 has no netboot_address, pi1 has one: only pi2's root goes to the whole subnet.
    assert 'WARNING: pi2 has no netboot_address' in output and 'pi1 has no netboot_address' not in output
