"""Words the templates show for values (statuses, roles, timeline events) and the fixed
confirmations a redirect may name (``?done=``). Marked with ``N_`` so that ``pybabel extract``
puts them in the catalog; templates translate them when they show them."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


VALUES = (
    # payment statuses
    N_("ready"),
    N_("paid"),
    N_("failed"),
    N_("cancelled"),
    # roles
    N_("owner"),
    N_("manager"),
    N_("viewer"),
    N_("operator"),
    # timeline events and outcomes
    N_("started"),
    N_("vbank_issued"),
    N_("pg_call"),
    N_("cancel"),
    N_("webhook"),
    N_("pending"),
    N_("delivering"),
    N_("delivered"),
    # schedules
    N_("scheduled"),
    N_("executing"),
    N_("executed"),
    N_("revoked"),
    # error pages
    N_("Not found"),
    N_("Not possible"),
)

FLASHES = {
    "cancelled": N_("The cancel was sent and recorded."),
    "password": N_("Your password was changed. Other browsers were signed out."),
    "totp_on": N_("The second factor is on."),
    "totp_off": N_("The second factor is off."),
    "saved": N_("Saved."),
    "deleted": N_("Deleted."),
    "queued": N_("Queued for delivery."),
    "revoked": N_("Revoked."),
    "rescheduled": N_("Rescheduled."),
    "retried": N_("Charged again."),
    "created": N_("Created."),
    "tested": N_("Test finished."),
}
