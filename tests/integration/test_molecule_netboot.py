"""The network boot server in an arm64 container (molecule/netboot), probed by a container
that boots like a Raspberry Pi 4: proxy DHCP, TFTP and the NFS root."""

import pytest

from scenario import molecule

pytestmark = pytest.mark.slow


def test_netboot_scenario():
    molecule('netboot')
