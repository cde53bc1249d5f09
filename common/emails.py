"""One e-mail address, checked by `email-validator`.

Used where an address comes in to be kept (`POST`/`PATCH /api/users`) and where
a mail goes out (common/mailer.py). Login takes any string: it only compares.

The special-use domain names (RFC 6761: `.local`, `.localhost`, `.invalid`,
...) are refused as email-validator refuses them, except `.test`: every demo
account is `@demo.test` (email-validator's `test_environment=True` allows
exactly that, and skips DNS). Display names, several addresses, quoted local
parts and domain literals are refused: a comma in `To:` would be two recipients.
"""

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254


class InvalidAddress(ValueError):
    pass


def check_address(address: str) -> str:
    """The address as given (stripped), or InvalidAddress saying why not."""
    address = address.strip()
    if not address or len(address) > MAX_LENGTH:
        raise InvalidAddress(f"must be one e-mail address of at most {MAX_LENGTH} characters")
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"is not a valid e-mail address: {exc}") from None
    return address


def is_valid_address(address: str) -> bool:
    try:
        check_address(address)
    except InvalidAddress:
        return False
    return True
