"""User-facing errors: printed as one line by the driver, never as a traceback."""


class UserError(Exception):
    """A problem with the user's input (model, IR, option) that names what and where."""
