"""Mitogen's linear strategy for the test containers only (scripts/molecule turns it on).

Under arm64 emulation every task that starts a Python costs seconds; Mitogen keeps one
Python per node for the whole play. Plays on the controller keep Ansible's own local
transport: molecule's create and destroy wait on async docker tasks, which never finish
through Mitogen's local transport.
"""

import ansible_mitogen.strategy
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401 pylint: disable=unused-import

ansible_mitogen.strategy.REDIRECTED_CONNECTION_PLUGINS = ('docker',)
