"""Alerts to the staff's group chat (issue 17 item 5): WeCom, DingTalk, Feishu, a JSON webhook.

* ``outbox``: the raising path's one insert per alert raised or counted again;
* ``courier``: the background worker that folds those into messages (one a window per channel
  and kind), sends them and retries with back-off, then lists the ones that failed;
* ``vendors``: each vendor's request and success answer; ``sending``: the HTTP post;
  ``wording``: the text, from the catalogs; ``setup``: the channels an admin manages.

Must not import paho, fastapi or anything of server.link, api or web.
"""
