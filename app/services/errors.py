"""The exception root of the use cases: a sentence for the person who asked."""

from __future__ import annotations


class ServiceError(Exception):
    """A request cannot be carried out; the message says why and what to do.

    ``field`` names the input the sentence is about ("email", "domain"...), so a form
    can show it beside that field; None when it concerns the request as a whole.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def as_sentence(text: str) -> str:
    """Return a service's message as a sentence: a capital first letter, a full stop at the end."""
    text = text.strip()
    first_word = text.split(" ", 1)[0]
    if first_word.isalpha():  # leave names such as "gmail.com" as they are
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", ")", "?", "!")) else text + "."
