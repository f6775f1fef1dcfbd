"""Gates (lanes) at work: everything between the registry's gate rows and the broker.

* ``provisioning``: register a lane, give it broker credentials, write its TOML file
  (``gate_file``), remove and re-key it; ``broker_accounts`` and ``broker_files``: the broker's
  accounts (hashes only) and its files, written atomically;
* ``policy``: a lane's decision policy (site defaults plus its overrides);
* ``commands``: signed commands to one lane, the one road for the API and the console;
* ``health``: liveness and health from each lane's status, and the link's monitor;
* ``publishing``: what is published to the lanes, signed (manifest, revocations, configs);
* ``timing``: signed answers to the lanes' time requests (their clock's trust);
* ``port``: what these services need from the running broker link (server.link implements it).

Must not import paho, fastapi or anything of server.link, api or web.
"""
