"""Open a page in a real headless Chromium (Debian's ``chromium``) and say what a person
would see: which images loaded, what the page logged as an error, and a screenshot.

It speaks the DevTools protocol over ``--remote-debugging-pipe`` (JSON messages ended by
NUL on file descriptors 3 and 4): no driver and no package beyond the browser.
"""

import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

IMAGES = ("JSON.stringify(Array.from(document.images).map("
          "image => ({src: image.getAttribute('src'), complete: image.complete, width: image.naturalWidth})))")


def chromium():
    """The browser's path, or None."""
    return shutil.which('chromium') or shutil.which('chromium-browser')


class Browser(object):
    def __init__(self, timeout=60):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix='picluster-chromium-')
        to_browser, self._send_fd = os.pipe()
        self._read_fd, from_browser = os.pipe()

        def pipes_on_3_and_4():
            # The browser reads commands on its fd 3 and writes replies on its fd 4 (moved
            # above 10 first, in case either pipe is fd 3 or 4 already).
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)]
            os.dup2(high[0], 3)
            os.dup2(high[1], 4)

        self.process = subprocess.Popen(
            [chromium(), '--headless=new', '--no-sandbox', '--disable-gpu', '--no-first-run', '--mute-audio',
             '--remote-debugging-pipe', '--user-data-dir=' + self.profile, '--window-size=1280,900'],
            pass_fds=(3, 4), preexec_fn=pipes_on_3_and_4, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next, self.events = b'', 0, []

    def send(self, method, params=None, session=None):
        """Send one command and wait for its reply; events that come first are kept."""
        self._next += 1
        message = {'id': self._next, 'method': method, 'params': params or {}}
        if session:
            message['sessionId'] = session
        os.write(self._send_fd, json.dumps(message).encode() + b'\0')
        while True:
            reply = self._receive()
            if reply.get('id') == self._next:
                if 'error' in reply:
                    raise RuntimeError('%s: %s' % (method, reply['error']))
                return reply.get('result', {})
            self.events.append(reply)

    def wait_for(self, method):
        """Wait for an event (one already received counts)."""
        while not any(event.get('method') == method for event in self.events):
            self.events.append(self._receive())

    def _receive(self):
        deadline = time.time() + self.timeout
        while b'\0' not in self._buffer:
            if time.time() > deadline or self.process.poll() is not None:
                raise RuntimeError('chromium stopped answering (exit status %s)' % self.process.poll())
            chunk = os.read(self._read_fd, 1 << 16)
            if not chunk:
                raise RuntimeError('chromium closed its DevTools pipe')
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message.decode())

    def close(self):
        try:
            self.send('Browser.close')
        except RuntimeError:
            pass
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        for fd in (self._send_fd, self._read_fd):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


def look_at(path):
    """Load ``path`` (a local HTML file) and return ``{'images': [{src, complete, width}],
    'errors': [text], 'screenshot': PNG bytes, 'title'}``."""
    browser = Browser()
    try:
        target = browser.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        session = browser.send('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        for domain in ('Page', 'Runtime', 'Log'):
            browser.send(domain + '.enable', session=session)
        browser.send('Page.navigate', {'url': 'file://' + os.path.abspath(path)}, session=session)
        browser.wait_for('Page.loadEventFired')

        def evaluate(expression):
            return browser.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True},
                                session=session)['result']['value']

        images = json.loads(evaluate(IMAGES))
        title = evaluate('document.title')
        shot = browser.send('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True},
                            session=session)['data']
        return {'images': images, 'errors': _errors(browser.events), 'screenshot': base64.b64decode(shot),
                'title': title}
    finally:
        browser.close()


def _errors(events):
    """What the page reported as an error: exceptions, console.error, failed loads."""
    found = []
    for event in events:
        method, params = event.get('method'), event.get('params') or {}
        if method == 'Runtime.exceptionThrown':
            found.append(params['exceptionDetails'].get('text'))
        elif method == 'Runtime.consoleAPICalled' and params.get('type') in ('error', 'assert'):
            found.append(' '.join(str(arg.get('value')) for arg in params.get('args') or []))
        elif method == 'Log.entryAdded' and params['entry'].get('level') == 'error':
            found.append('%s %s' % (params['entry'].get('text'), params['entry'].get('url') or ''))
    return found
