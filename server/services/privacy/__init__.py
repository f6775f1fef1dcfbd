"""Privacy: what the registry owes the people in it (PIPL; reliability-security.md 5.2).

* ``subjects``: one resident's export and erasure, audited, with a pseudonymous receipt;
* ``retention``: the job that removes health data and old records after their periods.

Phones are masked everywhere else; the one audited reveal is server.services.registry.residents.
Must not import paho, fastapi or anything of server.link, api or web.
"""
