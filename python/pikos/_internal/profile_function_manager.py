"""``ProfileFunctionManager``: the original pikos' helper that puts a
profile function in ``sys.setprofile`` (and ``threading.setprofile``) and
takes it away again.  pikos' own monitors use a native hook instead; this is
for code written against the original."""

import sys
import threading

__all__ = ["ProfileFunctionManager"]


class _HookManager:
    """One replace/recover pair at a time, as the original."""

    _name = None

    def __init__(self):
        self._saved = None
        self._replaced = False

    def _get(self):
        raise NotImplementedError

    def _set(self, function):
        raise NotImplementedError

    def replace(self, function):
        """Set ``function`` as the hook of this thread and of threads started
        from now on, keeping the one there before.  Replacing again with the
        same function does nothing; with another is a RuntimeError."""
        if self._replaced:
            if function != self._get():
                raise RuntimeError(
                    f"Cannot replace {self._name} function more than once"
                )
            return
        self._saved = self._get()
        self._replaced = True
        self._set(function)

    def recover(self):
        """Put back the hook that was there before :meth:`replace`; a
        RuntimeError if nothing was replaced."""
        if not self._replaced:
            raise RuntimeError(f"A {self._name} function has not been set")
        previous, self._saved, self._replaced = self._saved, None, False
        self._set(previous)

    @property
    def previous(self):
        """The hook :meth:`recover` puts back (None before a replace)."""
        return self._saved


class ProfileFunctionManager(_HookManager):
    """Replace and recover the function of ``sys.setprofile``."""

    _name = "profile"

    def _get(self):
        return sys.getprofile()

    def _set(self, function):
        threading.setprofile(function)
        sys.setprofile(function)
