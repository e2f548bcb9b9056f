"""A throw-away certificate authority for the emulators (trustme).

Clients trust the emulators through the CA file (REQUESTS_CA_BUNDLE, kubeconfig
certificate-authority-data), never by turning verification off.
"""

import os
import ssl
import threading

import trustme

SERVER_NAMES = ("127.0.0.1", "localhost")


class CertAuthority:
    """One CA per emulator run; every server (ARM and each Kubernetes API) gets a leaf from it."""

    def __init__(self, workdir=None):
        self._ca = trustme.CA(organization_name="azcni.cilium emulator")
        self._leaf = self._ca.issue_cert(*SERVER_NAMES)
        self._lock = threading.Lock()
        self.ca_pem = self._ca.cert_pem.bytes().decode("ascii")
        self.ca_pem_path = None
        if workdir is not None:
            os.makedirs(workdir, exist_ok=True)
            self.ca_pem_path = os.path.join(workdir, "ca.pem")
            with open(self.ca_pem_path, "w", encoding="ascii") as handle:
                handle.write(self.ca_pem)

    def server_context(self):
        """A fresh server-side SSLContext for 127.0.0.1/localhost."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with self._lock:
            self._leaf.configure_cert(context)
        return context

    def client_context(self):
        """An SSLContext that trusts this CA (for tests using http.client/urllib directly)."""
        context = ssl.create_default_context()
        context.load_verify_locations(cadata=self.ca_pem)
        return context
