"""The terminal of ``pikos live``: the curses loop that drains the
receiver's queue into the model, draws the rendered rows and applies the
keys (:func:`show`)."""

import locale

from pikos.messages import CommandError
from pikos.viewer.model import LiveModel, apply_key
from pikos.viewer.receiver import drain
from pikos.viewer.render import render

__all__ = ["show"]

#: Milliseconds between redraws when no key is pressed.
REDRAW_MS = 200


def _styles(curses):
    styles = {
        "": curses.A_NORMAL,
        "bold": curses.A_BOLD,
        "reverse": curses.A_REVERSE,
        "dim": curses.A_DIM,
        "error": curses.A_BOLD,
        "paused": curses.A_REVERSE | curses.A_BOLD,
        "rss": curses.A_NORMAL,
        "vms": curses.A_NORMAL,
    }
    try:
        if curses.has_colors():
            curses.start_color()
            curses.use_default_colors()
            for pair, color in enumerate(
                (curses.COLOR_RED, curses.COLOR_GREEN, curses.COLOR_CYAN), 1
            ):
                curses.init_pair(pair, color, -1)
            styles["error"] |= curses.color_pair(1)
            styles["rss"] = curses.color_pair(2)
            styles["vms"] = curses.color_pair(3)
    except curses.error:
        pass  # a terminal without (default) colors: attributes only
    return styles


def _draw(curses, stdscr, rows, styles, width):
    stdscr.erase()
    for y, row in enumerate(rows):
        x = 0
        for text, style in row:
            text = text[: width - x]
            try:
                stdscr.addstr(y, x, text, styles.get(style, curses.A_NORMAL))
            except curses.error:
                # Writing the bottom-right cell moves the cursor past the
                # edge (an error after the write), as does a terminal
                # shrinking under us: neither is worth stopping for.
                pass
            x += len(text)
    stdscr.refresh()


def _key_name(curses, key):
    names = {
        curses.KEY_RIGHT: "right",
        curses.KEY_LEFT: "left",
        curses.KEY_BTAB: "backtab",
    }
    if key in names:
        return names[key]
    return chr(key) if 0 <= key < 256 else ""


def _loop(stdscr, curses, receiver, waiting, ascii_only):
    styles = _styles(curses)
    try:
        curses.curs_set(0)
    except curses.error:
        pass  # a terminal that cannot hide its cursor
    stdscr.keypad(True)
    stdscr.timeout(REDRAW_MS)
    model = LiveModel()
    frozen = None  # the paused display's copy of the model
    while True:
        drain(receiver.queue, model)
        model.lost = receiver.lost
        view = model if frozen is None else frozen
        height, width = stdscr.getmaxyx()
        unseen = 0 if frozen is None else model.messages - frozen.messages
        rows = render(
            view,
            width,
            height,
            waiting=waiting,
            paused=frozen is not None,
            unseen=unseen,
            ascii_only=ascii_only,
        )
        _draw(curses, stdscr, rows, styles, width)
        key = stdscr.getch()
        if key == -1:
            continue
        if key == curses.KEY_RESIZE:
            stdscr.clear()  # repaint everything at the new size
            continue
        action = apply_key(view, _key_name(curses, key))
        if action == "quit":
            return 0
        if action == "pause":
            if frozen is None:
                frozen = model.snapshot()
            else:
                model.current, model.sort = frozen.current, frozen.sort
                frozen = None


def _utf8():
    try:
        codeset = locale.nl_langinfo(locale.CODESET)
    except (AttributeError, ValueError):
        return False
    return codeset.replace("-", "").lower() == "utf8"


def _import_curses():
    try:
        import curses
    except ImportError:
        raise CommandError(
            "the curses module is missing (on Windows: pip install windows-curses)"
        ) from None
    return curses


def show(receiver, waiting):
    """Run the curses viewer of ``receiver``'s messages until the user quits;
    ``waiting`` is the status shown before any program is heard from."""
    curses = _import_curses()
    try:
        # curses draws non-ASCII text in the user's locale only once it is set.
        locale.setlocale(locale.LC_ALL, "")
    except locale.Error:
        pass  # an unknown locale: the C one, and ASCII charts
    try:
        return curses.wrapper(_loop, curses, receiver, waiting, not _utf8())
    except curses.error as error:
        raise CommandError(f"cannot draw on this terminal: {error}") from None
