"""What ``pikos plot`` and ``pikos report`` make of a memory monitor's CSV:
:mod:`~pikos.reports.memory_csv` reads it (the one reader, and the one
decimation rule), :mod:`~pikos.reports.html` writes the report's page from
its ``assets``.  The plot is :mod:`pikos.cli.plot`'s."""
