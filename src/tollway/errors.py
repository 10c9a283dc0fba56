"""Every error a V1 caller can see, and the one place that decides its envelope.

    TollwayError                  code, message, http_status
     ├── InvalidRequest           400: a parameter is missing, of the wrong type or out of range
     ├── Unauthorized             401: no token, a bad token, or a wrong key pair
     ├── NotFound                 404: a lookup found nothing the caller may see
     ├── BusinessError            200 with code != 0: V1's "the request was fine, the answer is no"
     ├── PayloadTooLarge          413
     ├── TooManyRequests          429: too many failed sign-ins, or too many at once
     └── Unavailable              503: storage or a PG cannot answer now

Routes never catch these; ``api.envelope.install_error_handlers`` renders them.

``message`` is what V1 clients compare, so it is i'mport's own Korean text and nothing else.
Tollway's diagnostic detail for a developer (which parameter, what was expected, what the PG
said) goes in ``detail``: the envelope sends it as the ``Tollway-Detail`` response header, which
V1 clients ignore, and never in ``message``.
"""

from __future__ import annotations


class TollwayError(Exception):
    http_status = 500
    code = -1

    def __init__(self, message: str, *, code: int | None = None, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidRequest(TollwayError):
    http_status = 400
    code = 1


class Unauthorized(TollwayError):
    http_status = 401
    code = -1


class NotFound(TollwayError):
    http_status = 404
    code = -1


class BusinessError(TollwayError):
    http_status = 200
    code = 1


class PayloadTooLarge(TollwayError):
    http_status = 413
    code = 1


class TooManyRequests(TollwayError):
    http_status = 429
    code = -1

    def __init__(self, message: str, *, retry_after: int = 1, detail: str | None = None) -> None:
        super().__init__(message, detail=detail)
        self.retry_after = retry_after


class Unavailable(TollwayError):
    http_status = 503
    code = -1
