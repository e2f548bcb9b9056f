# -*- coding: utf-8 -*-
# Copyright (c) azcni.cilium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The public discovery documents kept between tasks of one controller, and the requests session that
serves them from the cache where requests is used (azure-identity's credentials, a task behind a proxy);
_azure.transport reads and writes the same cache.

Every Azure task used to fetch the cloud metadata, then (through MSAL) the tenant's OpenID
configuration, before asking for a token: two round trips for documents that are public and change
rarely. They are kept on disk for a day, in a directory only this user can read, and only when they
were fetched with TLS verification on. Tokens are never written anywhere.

Private to this collection: names and signatures may change without notice.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
import time

CACHE_TTL = 24 * 3600
# what may be kept: public documents only (ARM cloud metadata, OpenID discovery, MSAL instance discovery)
CACHEABLE_PATHS = ("/metadata/endpoints", "/.well-known/openid-configuration", "/common/discovery/instance")
CACHE_ENV = "AZCNI_CILIUM_CACHE_DIR"


def cache_dir():
    """The cache directory, created 0700; None when it cannot be made private (then nothing is cached)."""
    path = os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), "azcni-cilium-%d" % os.getuid())
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None  # someone else's or shared: never trust what is in it
    return path


def cacheable(method, url):
    path = url.split("?", 1)[0].rstrip("/")
    return method == "GET" and path.lower().endswith(CACHEABLE_PATHS)


def _file(directory, url):
    return os.path.join(directory, hashlib.sha256(url.encode("utf-8")).hexdigest() + ".json")


def read(url, now=None):
    """The cached body of ``url`` (bytes), or None when absent, expired or unreadable."""
    directory = cache_dir()
    if directory is None:
        return None
    try:
        with open(_file(directory, url), "rb") as stream:
            entry = json.loads(stream.read().decode("utf-8"))
        if entry.get("url") != url or (now or time.time()) - float(entry["stored"]) > CACHE_TTL:
            return None
        return entry["body"].encode("utf-8")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write(url, body, now=None):
    """Keep ``body`` for ``url``; a failure to write only costs the next task a round trip."""
    directory = cache_dir()
    if directory is None:
        return
    try:
        text = body.decode("utf-8")
        json.loads(text)  # only documents that parse are worth keeping
        handle, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump({"url": url, "stored": now or time.time(), "body": text}, stream)
        os.replace(temp, _file(directory, url))
    except (OSError, ValueError, UnicodeDecodeError):
        return


def new_session(verify=True):
    """A requests Session whose GETs of public discovery documents are answered from the cache."""
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter

    class DiscoveryCacheAdapter(HTTPAdapter):
        def send(self, request, **kwargs):  # pylint: disable=arguments-differ
            if not cacheable(request.method, request.url):
                return super(DiscoveryCacheAdapter, self).send(request, **kwargs)
            body = read(request.url)
            if body is not None:  # answered as if from the wire, so every reader of the response works as usual
                raw = urllib3.HTTPResponse(body=io.BytesIO(body), status=200, reason="OK", preload_content=False,
                                           headers={"Content-Type": "application/json", "Content-Length": str(len(body))})
                return self.build_response(request, raw)
            response = super(DiscoveryCacheAdapter, self).send(request, **kwargs)
            if response.status_code == 200 and kwargs.get("verify", True) is not False and verify:
                write(request.url, response.content)
            return response

    session = requests.Session()
    session.mount("https://", DiscoveryCacheAdapter())
    return session
