"""The registry: the site and its places and people, as the community office keeps them.

* ``site``: creating the site (``init``), its id and schema revision;
* ``places``: zones, gates (lanes) and households;
* ``residents`` and ``visitors``: people, their home-observation status, the audited phone
  reveal, and the visitor desk;
* ``lookup``: the staff UI's search boxes;
* ``imports`` and ``spreadsheet``: the office's register (CSV, XLSX), all rows or none, read by
  the worker process of ``sandbox`` within the caps of ``file_limits``;
* ``followup``: the daily calls to everyone under home observation.

Must not import paho, fastapi or anything of server.link, api or web.
"""
