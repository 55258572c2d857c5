"""Error types shared across the package."""


class InvalidArgumentError(ValueError, AssertionError):
    """A bad argument or config value, with a message that names it.

    It is a ``ValueError`` (what the value is) and an ``AssertionError`` (what
    MMDetection 2.x raised for the same checks, through ``assert``), so that a
    user's ``except AssertionError`` or ``pytest.raises(AssertionError)`` written
    against 2.x still catches it.
    """
