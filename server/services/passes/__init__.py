"""Passes: signed, printed, checked offline by the gates, revoked through signed lists.

* ``issuing``: issue (single, per household, staff), renew, revoke, household cutoffs;
* ``listing``: reading passes in the actor's scope;
* ``cards`` and ``printing``: QR images and PDF card sheets;
* ``keys``: signing keys on disk and the root-signed manifest; ``key_admin``: the admins'
  rotate and retire, and the revocation list's summary;
* ``revocations``: the current revocation state as the protocol's signed list.

Must not import paho, fastapi or anything of server.link, api or web.
"""
