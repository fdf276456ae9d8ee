"""Ansible lookup: a Kafka SCRAM login's password, by the one rule the kafka, collector and
archiver roles share.

The password the inventory gives the login in `users` (kafka_scram_users, from the vault)
wins; else the one generated on the controller in <ca_dir>/logins/<login>: made on the
first run by Ansible's own `password` lookup (under its lock, mode 0600 in a 0700
directory), read back on every later one. The kafka role gives the broker that password,
the collector and archiver roles write it to their daemon's secret file: the three must
agree on the file and on how it is made, so that lives here, once.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase

DOCUMENTATION = r"""
name: lakefeed_login
short_description: a Kafka SCRAM login's password, given in the inventory or generated
description:
  - Returns the password C(users) gives the login, else the one in
    C(<ca_dir>/logins/<login>) on the controller, generated there on the first run
    (32 letters and digits, by the C(ansible.builtin.password) lookup).
options:
  _terms:
    description: The login (one).
    required: true
  users:
    description: Logins with their passwords (kafka_scram_users), each C({name, password}).
    type: list
    elements: dict
    default: []
  ca_dir:
    description: The cluster's CA directory on the controller (kafka_tls_ca_dir).
    type: str
    required: true
"""

RETURN = r"""
_raw:
  description: The password, one element.
  type: list
  elements: str
"""

LENGTH = 32
LOGIN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
CHARS = ["ascii_letters", "digits"]


def logins_dir(ca_dir: str) -> str:
    """Where the generated passwords are kept: beside the CA, one file per login."""
    return os.path.join(os.path.expanduser(ca_dir), "logins")


class LookupModule(LookupBase):
    def run(self, terms: list[Any], variables: dict[str, Any] | None = None, **kwargs: Any):
        self.set_options(var_options=variables, direct=kwargs)
        if len(terms) != 1 or not isinstance(terms[0], str) or not terms[0]:
            raise AnsibleLookupError(f"lakefeed_login takes one login name, got {terms!r}")
        login = terms[0]
        # The kafka role's rule for a SCRAM login, and a plain file name: not '.', '..' or
        # a path, nor anything the password lookup would read as its own parameters.
        if not LOGIN.fullmatch(login):
            raise AnsibleLookupError(
                f"lakefeed_login: {login!r} cannot name a file under the logins directory; "
                "a Kafka login is 1-64 letters, digits, '-', '_' and '.', not first"
            )
        # Listed is given, even empty: the kafka role's checks name an unusable password.
        for user in self.get_option("users") or []:
            if isinstance(user, dict) and user.get("name") == login:
                return [user.get("password")]
        password = lookup_loader.get(
            "ansible.builtin.password", loader=self._loader, templar=self._templar
        )
        path = os.path.join(logins_dir(self.get_option("ca_dir")), login)
        return password.run([path], variables, length=LENGTH, chars=CHARS)
