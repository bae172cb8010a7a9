"""The task runtime: run one attempt of one task instance, and the runner process that forks them.

* :mod:`~tradewind.runtime.attempt` runs an attempt in the current process: context,
  templates, ``execute``, XComs, callbacks, and the final state (the user-code boundary).
* :mod:`~tradewind.runtime.child` is what a forked task process does around that: its own
  session, its log file on fds 1 and 2, the instance lock, events over a pipe.
* :mod:`~tradewind.runtime.runner` is the warm "zygote" the LocalExecutor starts: it keeps
  DAG files imported (:mod:`~tradewind.runtime.dags`) and forks one child per attempt, so a
  task start costs a fork; :mod:`~tradewind.runtime.warmup` pre-pays first-use costs.
* :mod:`~tradewind.runtime.foreground` runs a task or a DAG in this process, for the
  ``tasks test`` and ``dags test`` commands.
* :mod:`~tradewind.runtime.xcoms`, :mod:`~tradewind.runtime.locks`,
  :mod:`~tradewind.runtime.logs` and :mod:`~tradewind.runtime.wire` are the small parts.

Nothing here writes to the database; ``xcom_pull`` reads it from the task process.
"""
