"""``python -m pikos``: the ``pikos`` command."""

import sys

from pikos.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m pikos"))
