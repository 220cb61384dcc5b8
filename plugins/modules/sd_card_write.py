#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: picluster.hpl contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: sd_card_write
short_description: Write an image to an SD card, with safety checks and read-back verification
version_added: 0.2.0
description:
  - Checks the device first and refuses, touching nothing, when it is mounted (itself, a
    partition of it, or a device built on it; or used as swap), when it holds the
    controller's root filesystem, when it is a partition, when it is not removable (unless
    C(force)), or when it is smaller than the image.
  - Writes the image with the device opened exclusively (the kernel refuses a device in
    use), flushes it, drops the cached pages and reads the written bytes back from the
    device, failing unless their sha256 equals the image's.
  - When the device already starts with the image's bytes, nothing is written.
  - Opens no path but C(device).
author:
  - picluster.hpl developers (@picluster-hpl)
attributes:
  check_mode:
    support: full
    description: Runs every check and says whether the card would be written.
  diff_mode:
    support: none
    description: Not applicable to raw devices.
options:
  src:
    description: The image to write.
    type: path
    required: true
  device:
    description: The whole SD card device, for example C(/dev/sdb) or C(/dev/mmcblk0).
    type: path
    required: true
  force:
    description:
      - Write to a device the kernel does not report as removable (some USB readers, loop
        devices). The other checks still apply.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Write pi1's image to the card in the USB reader
  picluster.hpl.sd_card_write:
    src: /var/cache/picluster/nodes/pi1.img
    device: /dev/sdb
'''

RETURN = r'''
sha256:
  description: The image's sha256, which the device's first bytes now match.
  returned: success
  type: str
bytes:
  description: The image's size in bytes.
  returned: always
  type: int
device_info:
  description: What the checks found (removable, size, mounts, holds_root, partition).
  returned: always
  type: dict
'''

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.picluster.hpl.plugins.module_utils.block_device import (
    inspect, read_back, refusals, sha256_file, write_image)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path', required=True),
            device=dict(type='path', required=True),
            force=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    src, device = module.params['src'], module.params['device']
    if not os.path.isfile(src):
        module.fail_json(msg='the image %s does not exist' % src)
    size = os.path.getsize(src)
    info = inspect(device)
    reasons = refusals(info, size, module.params['force'])
    result = dict(changed=False, bytes=size, device_info=info)
    if reasons:
        module.fail_json(msg='refusing to write %s: %s' % (device, '; '.join(reasons)), **result)
    try:
        image_sha = sha256_file(src)
        if read_back(size, device) == image_sha:
            module.exit_json(sha256=image_sha, **result)
        result['changed'] = True
        if module.check_mode:
            module.exit_json(**result)
        device_sha = write_image(src, device)
    except OSError as error:
        module.fail_json(msg='writing %s to %s failed: %s' % (src, device, error), **result)
    if device_sha != image_sha:
        module.fail_json(msg='%s reads back with sha256 %s, but the image is %s: the card may be faulty '
                         'or counterfeit (smaller than it claims); try another' % (device, device_sha, image_sha),
                         **result)
    module.exit_json(sha256=image_sha, **result)


if __name__ == '__main__':
    main()
