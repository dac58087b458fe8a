"""The exception root of the use cases: a sentence for the person who asked."""


class ServiceError(Exception):
    """A request cannot be carried out; the message says why and what to do."""


