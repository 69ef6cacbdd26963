"""The plugin marketplace: install, update and rollback of plugins from a marketplace.

Pure logic apart from the plugin folder it manages: no click, no Celery. The CLI
(cli/plugins.py) validates requests, calls `install`, `update` or `rollback` here and
renders the outcome as the catalog's JSON envelope.
"""
