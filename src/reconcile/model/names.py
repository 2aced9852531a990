"""Names a person typed that are not quite right: the one "did you mean" every message uses."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """A did-you-mean clause for ``name`` among ``options`` (matched with and without case), or ""."""
    options = list(options)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    if not close:
        folded = {o.casefold(): o for o in options}
        close = [folded[c] for c in difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)]
    return f' (did you mean "{close[0]}"?)' if close else ""
