"""What happens to a recording at the process's edges (fork, ``os._exit``,
a child's end): :mod:`pikos.process.forks`."""
