"""Domain errors. Services raise them; the gateway turns each into its HTTP status."""


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> dict[str, object]:
        """The JSON answer: `{"detail": ...}`, plus what a subclass adds (a 409's `state`)."""
        return {"detail": self.detail}


class NotFound(DomainError):
    status_code = 404


class Forbidden(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class Unauthorized(DomainError):
    status_code = 401
