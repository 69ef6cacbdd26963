"""Synora: quarantine an installed package's files, with an audit trail and rollback.

No click and no Celery here. Modules: ids (package and operation ids), errors (codes and
exit codes), fsops (no-follow, directory-fd file operations), scan (walk a package tree),
guard (the security policy), registry (installed software), audit (the lifecycle rows),
transfer (moving files with rollback), quarantine and restore (the operations), locks.
"""
