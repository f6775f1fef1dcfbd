"""Incidents (issue 17 items 2-4): one place per alert, refused checks, overrides linked to a
scan.

* ``overrides``: an override (the gate's button, the console's open once) linked to the pass of
  the lane's last scan within the lane's attribution window;
* ``view``: an alert with its subject (gate, event, pass, holder, household), the pass's
  attempts around it and what was done;
* ``actions``: what staff do from the incident page: a call, revoke and reissue, unlock after
  an ID check, the outcome that resolves the alert (each stored and audited);
* ``refusals``: 拒绝检测/劝返 recorded at a lane's console, counted per household and lane.

Must not import paho, fastapi or anything of server.link, api or web.
"""
