"""What an operator watches: Prometheus series (``metrics``), the database's backlogs and readiness
(``probes``), ``/metrics``, ``/healthz``, ``/readyz`` and ``/`` (``routes``, ``exporter``), and log
output with a request id on every line (``logs``, ``middleware``). ``metrics`` and ``logs`` import
nothing of Tollway's, so every layer records into them; ``probes`` and ``routes`` sit with ``app``.
"""
