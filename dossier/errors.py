"""Refusals of the dossier's services, each with a stable code the API and pages show."""


class DossierRefusal(Exception):
    """A request the rule book refuses; `status` is the HTTP status the API answers with."""

    status = 400
    code = "invalid"

    def __init__(self, detail: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.field = field


class NotYourType(DossierRefusal):
    status = 403
    code = "not_your_type"


class ReadOnly(DossierRefusal):
    status = 403
    code = "read_only"


class AmbiguousConsignment(DossierRefusal):
    status = 409
    code = "ambiguous_consignment"


class ConsignmentUnknown(DossierRefusal):
    status = 404
    code = "not_found"
