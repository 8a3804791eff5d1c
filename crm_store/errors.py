"""Typed errors of the shop's rules. Each boundary (actions, console, channels) translates them once."""


class CareDeskError(Exception):
    """Base of every rule the CRM refuses to break."""

    code = "error"


class InvalidInput(CareDeskError):
    code = "invalid_input"


class CustomerNotFound(CareDeskError):
    code = "customer_not_found"


class OrderNotFound(CareDeskError):
    code = "order_not_found"


class NotOrderOwner(CareDeskError):
    """The order exists but belongs to somebody else. Callers should answer as for not found."""

    code = "not_order_owner"


class NotCancellable(CareDeskError):
    code = "not_cancellable"


class AddressNotChangeable(CareDeskError):
    code = "address_not_changeable"


class NotReturnable(CareDeskError):
    code = "not_returnable"


class ReturnWindowClosed(NotReturnable):
    code = "return_window_closed"


class NotClaimable(CareDeskError):
    """An exchange or a delivery claim the order does not allow now. ``why`` says which rule
    ('not_shipped', 'on_its_way', 'not_delivered', 'window_closed', 'return_open'); ``eta`` is
    the expected delivery date of a parcel still on its way."""

    code = "not_claimable"

    def __init__(self, message: str, *, why: str, eta=None):
        super().__init__(message)
        self.why = why
        self.eta = eta


class VerificationFailed(CareDeskError):
    code = "verification_failed"


class TooManyAttempts(CareDeskError):
    """Refused while locked out; ``retry_after`` (a timedelta, when known) says how long is left."""

    code = "too_many_attempts"

    def __init__(self, message: str = "too many failed attempts", *, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class NothingToConfirm(CareDeskError):
    """No change of this kind waits for this customer in this conversation (declined, done or expired)."""

    code = "nothing_to_confirm"


class TicketNotFound(CareDeskError):
    code = "ticket_not_found"


class InvoiceNotIssued(CareDeskError):
    """The order exists but is not paid yet, so it has no invoice."""

    code = "invoice_not_issued"


class StoreUnavailable(CareDeskError):
    """The CRM database cannot be reached (down, restarting, network gone). Nothing was changed."""

    code = "store_unavailable"


class TrackerLogBusy(CareDeskError):
    """Forgetting: the conversations were deleted, but a reader of the tracker store's SQLite file
    (the console, a report) kept its write-ahead log from being emptied, so the file still holds
    them. Nothing in the CRM was changed; run the command again once the reader is done."""

    code = "tracker_log_busy"


class AlreadyClaimed(CareDeskError):
    """Another agent owns the conversation; transfer it instead of claiming it."""

    code = "already_claimed"


class NotOwner(CareDeskError):
    """Only the agent who owns a conversation (or an admin) may reply, transfer or resolve it."""

    code = "not_owner"
