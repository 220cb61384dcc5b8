# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raspberry Pi OS image filters: what is wrong with a node's settings, before any image is
touched. A thin wrapper around ``plugins/module_utils/pi_image``; documented in
``pi_image_problems.yml``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.picluster.hpl.plugins.module_utils.pi_image import check_settings


def pi_image_problems(settings):
    """A node's image settings -> a list of problems, each saying what to change."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('pi_image_problems: expected a mapping of settings, got %s'
                                 % type(settings).__name__)
    return check_settings(settings)


class FilterModule(object):
    def filters(self):
        return {'pi_image_problems': pi_image_problems}
