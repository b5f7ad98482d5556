"""The ``pikos live`` viewer: :mod:`~pikos.viewer.model` (what is shown, fed
decoded messages), :mod:`~pikos.viewer.render` (the layout, as text rows),
:mod:`~pikos.viewer.receiver` (the subscriber's thread and its bounded
queue) and :mod:`~pikos.viewer.terminal` (the curses loop).  The command
line is :mod:`pikos.cli.live`'s."""
