"""``python -m pikos.runner``: the original's way to run its runner, the
same as ``pikos-run``."""

from pikos.runner import main

main()
