"""``gatepass-server``: the server's command line (the entry point is server.cli.main:main).

* ``main``: the argument parser and the entry point (settings, exit statuses);
* ``run``: serving the app, and running every other subcommand with a database;
* ``site``, ``gates``, ``staff``: the subcommands, over the same services the API uses;
* ``errors``: ``CommandError``.

Heavy modules are imported inside the subcommands so ``--help`` stays fast.
"""
