"""Local emulators of Azure Resource Manager (+ Entra ID) and of AKS Kubernetes API servers.

`Emulator(workdir).start()` runs the ARM emulator in-process (threads); `python -m tests.emulator serve`
runs the same thing in the foreground. See tests/emulator/pytest_plugin.py for the `emulator` fixture.
"""

import os
import shlex

from .arm import ArmEmulator, Settings, arm_fault_body
from .faults import FaultInjector, with_controls
from .http import HTTPSServer
from .requestlog import RequestLog, writes
from .tls import CertAuthority

METADATA_PATH = "/metadata/endpoints?api-version=2022-09-01"


class Emulator:
    """One running ARM emulator: .url, .ca_path, .env, .workdir, .arm (in-process state), request log, faults."""

    def __init__(self, workdir, port=0, host="127.0.0.1", state_file=None, **settings):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.ca = CertAuthority(self.workdir)
        self.ca_path = self.ca.ca_pem_path
        self.faults = FaultInjector(default_body=arm_fault_body)
        self.log = RequestLog()
        self._defaults = settings
        self.arm = ArmEmulator(ca=self.ca, faults=self.faults, state_file=state_file, settings=Settings(**settings))
        self.server = HTTPSServer(with_controls(self.arm.handle, self.faults, self.log), self.ca.server_context(), host, port)
        self.url = self.server.url
        self.port = self.server.port
        self.arm.bind(self.url)
        identity = self.arm.identity
        self.env = {
            "AZURE_CLIENT_ID": identity.client_id,
            "AZURE_SECRET": identity.client_secret,
            "AZURE_TENANT": identity.tenant_id,
            "AZURE_SUBSCRIPTION_ID": self.arm.subscription_id,
            "AZURE_CLOUD_ENVIRONMENT": self.url + METADATA_PATH,
            "REQUESTS_CA_BUNDLE": self.ca_path,
        }
        self.env_path = os.path.join(self.workdir, "env.sh")
        # certificate and workload-identity credentials of the same app (written by start())
        self.certificate_password = "emulator-" + identity.client_id[:8]
        self.auth_files = {}

    def start(self):
        self.server.start()
        self.auth_files = self.arm.identity.assertions.write_files(self.workdir, self.certificate_password)
        with open(self.env_path, "w", encoding="utf-8") as handle:
            handle.write("# written by python -m tests.emulator; source it before running playbooks\n")
            for name, value in self.env.items():
                handle.write("export %s=%s\n" % (name, shlex.quote(value)))
        return self

    def stop(self):
        self.server.stop()
        self.arm.close()

    def workload_identity_env(self):
        """What AKS's workload identity webhook injects into a pod (the secret left out)."""
        env = {name: value for name, value in self.env.items() if name != "AZURE_SECRET"}
        env.update({"AZURE_TENANT_ID": self.env["AZURE_TENANT"], "AZURE_AUTHORITY_HOST": self.url + "/",
                    "AZURE_FEDERATED_TOKEN_FILE": self.auth_files["federated-token"]})
        del env["AZURE_TENANT"]
        return env

    def certificate_env(self, encrypted=False):
        """A certificate service principal: AZURE_CLIENT_CERTIFICATE_PATH (and its password), no secret."""
        env = {name: value for name, value in self.env.items() if name != "AZURE_SECRET"}
        if encrypted:
            env.update({"AZURE_CLIENT_CERTIFICATE_PATH": self.auth_files["client-cert-encrypted.pem"],
                        "AZURE_CLIENT_CERTIFICATE_PASSWORD": self.certificate_password})
        else:
            env["AZURE_CLIENT_CERTIFICATE_PATH"] = self.auth_files["client-cert.pem"]
        return env

    # ---- request log and faults ----------------------------------------------------------
    def requests(self, since=None):
        return self.log.list(since)

    def writes(self, since=None):
        return writes(self.log.list(since))

    def clear_requests(self):
        self.log.clear()

    def add_fault(self, **rule):
        return self.faults.add(**rule)

    def clear_faults(self):
        self.faults.clear()

    def reset_test_state(self):
        """Between tests: no faults, default settings, nothing left half-way."""
        self.faults.clear()
        for name, value in vars(Settings(**self._defaults)).items():
            setattr(self.arm.settings, name, value)
        self.arm.finish_operations()

    # ---- conveniences for tests that drive the real SDKs ------------------------------------
    def credential(self, client_id=None, client_secret=None, **kwargs):
        """azure-identity ClientSecretCredential for this emulator (the product's own code path)."""
        from azure.identity import ClientSecretCredential  # pylint: disable=import-outside-toplevel
        options = {"authority": self.url, "disable_instance_discovery": True, "connection_verify": self.ca_path}
        options.update(kwargs)
        return ClientSecretCredential(self.env["AZURE_TENANT"], client_id or self.env["AZURE_CLIENT_ID"],
                                      client_secret or self.env["AZURE_SECRET"], **options)

    def client_kwargs(self):
        """base_url, credential_scopes and connection_verify for any azure-mgmt-* client."""
        audience = self.arm.identity.cloud()["authentication"]["audiences"][0]
        return {"base_url": self.url + "/", "credential_scopes": [audience.rstrip("/") + "/.default"],
                "connection_verify": self.ca_path}


__all__ = ["Emulator", "CertAuthority", "RequestLog", "FaultInjector", "HTTPSServer", "ArmEmulator", "writes"]
