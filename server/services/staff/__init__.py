"""Staff: the people who use the server, and how they sign in.

* ``accounts``: creating accounts with a one-time password, role and zone scope, changes;
* ``auth``: sign-in with throttling, server-side sessions, CSRF tokens;
* ``passwords``: argon2id hashing and the password rules;
* ``throttle``: attempts at sign-in and password change, counted before they are checked.

Must not import paho, fastapi or anything of server.link, api or web.
"""
