"""The service layer: one function per operation, shared by the HTTP API and the local client.

Actions receive a :class:`~tradewind.store.Store` (the caller owns the transaction) and
keyword values, raise errors from :mod:`tradewind.errors`, and return the frozen values of
:mod:`tradewind.values`, never ORM rows. Mutating actions record an ``EventLog`` row.

Modules by noun: :mod:`.dag_runs` (trigger, list, state, latest), :mod:`.tasks` (task,
task instance, lineage), :mod:`.dags` (pause, delete, code), :mod:`.pools`, :mod:`.health`.
"""
