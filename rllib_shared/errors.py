"""One error type for bad user input, with a "did you mean" helper.

This module imports nothing from Ray or torch so every layer can use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping


class ConfigError(ValueError):
    """A user-supplied setting is wrong; the message says which and how to fix it."""


class ObservationError(ValueError):
    """An env gave an observation the network cannot use (NaN or inf)."""


def closest(name: str, choices: Iterable[str]) -> str | None:
    """Returns the choice most similar to ``name``, or None if nothing is close.

    >>> closest("comm_hiden", ["comm", "comm_hidden", "activation"])
    'comm_hidden'
    >>> closest("n", ["N", "max_cycles"])
    'N'
    """
    by_lower = {str(c).lower(): c for c in choices}
    matches = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[matches[0]] if matches else None


def unknown_key_message(key: str, valid: Iterable[str], where: str) -> str:
    """Formats "unknown key" with the nearest valid name, or the full list."""
    valid = sorted(valid)
    guess = closest(key, valid)
    hint = f"did you mean {guess!r}?" if guess else f"valid keys: {', '.join(valid)}"
    return f"unknown key {key!r} in {where}; {hint}"


def check_keys(given: Mapping, valid: Iterable[str], where: str) -> None:
    """Raises ConfigError for the first key of ``given`` not in ``valid``."""
    valid = set(valid)
    for key in given:
        if key not in valid:
            raise ConfigError(unknown_key_message(key, valid, where))


def check_choice(value: str, choices: Iterable[str], what: str) -> None:
    """Raises ConfigError unless ``value`` is one of ``choices``."""
    choices = list(choices)
    if value not in choices:
        guess = closest(value, choices)
        hint = f" (did you mean {guess!r}?)" if guess else ""
        raise ConfigError(
            f"unknown {what} {value!r}{hint}; valid values: {', '.join(map(str, choices))}"
        )
