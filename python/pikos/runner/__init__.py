"""The work behind ``pikos-run``; the command itself is ``pikos.cli.run``."""
