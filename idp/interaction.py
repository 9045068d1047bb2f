"""What an authorization request needs next: sign-in, step-up, consent, or a code. Pure logic.

Implements the request parameters of OIDC Core §3.1.2.1 that decide user interaction: ``prompt``
(none / login / consent), ``max_age``, ``acr_values``, ``id_token_hint`` (its subject, already
verified by the caller), and the errors of §3.1.2.6 (login_required, consent_required, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from idp.accounts import acr_rank
from idp.sessions import SsoSession


@dataclass
class Interaction:
    """One authorization request in progress, kept in the ephemeral store between pages."""

    params: dict[str, str]
    fresh_login: bool = False
    stepup_tried: bool = False
    consented: list[str] | None = None  # scopes the citizen allowed in this interaction
    hint_sub: str | None = None  # subject of a verified id_token_hint
    browser: str | None = None  # binds the interaction to the browser that started it
    login_hint: str | None = None  # the client's login_hint sealed (idp.secrets.encrypt): it may be an ID number


@dataclass(frozen=True)
class Next:
    step: str  # "login" | "stepup" | "consent" | "issue" | "error"
    error: str | None = None
    description: str | None = None
    scopes: list[str] = field(default_factory=list)  # for "consent": the scopes to ask about; "issue": to grant


PROMPTS = ("none", "login", "consent")  # the prompt values acted on (advertised in discovery)
ACCEPTED_PROMPTS = (*PROMPTS, "select_account")  # select_account is accepted and ignored: one account per citizen


def prompts(params: dict[str, str]) -> set[str]:
    return set((params.get("prompt") or "").split())


def check_params(params: dict[str, str]) -> Next | None:
    """Reject malformed interaction parameters (OIDC Core §3.1.2.1) before anything else."""
    p = prompts(params)
    if p - set(ACCEPTED_PROMPTS):
        return Next("error", "invalid_request", "unsupported prompt value")
    if "none" in p and len(p) > 1:
        return Next("error", "invalid_request", "prompt=none cannot be combined with other values")
    max_age = params.get("max_age")
    if max_age is not None and (not max_age.isdigit() or len(max_age) > 9):
        return Next("error", "invalid_request", "max_age must be a non-negative integer")
    return None


def decide(ia: Interaction, session: SsoSession | None, granted: set[str], requested: list[str],
           now: int, *, client_sub: str | None = None) -> Next:
    """The next step for ``ia`` given the SSO session and the consents already on record.

    ``client_sub`` is the session's citizen as this client knows them (a pairwise ``sub``, OIDC Core §8.1):
    what an ``id_token_hint`` from this client names."""
    params, p = ia.params, prompts(ia.params)
    bad = check_params(params)
    if bad:
        return bad
    silent = "none" in p
    need_login = session is None
    if session is not None and not ia.fresh_login:
        if "login" in p:
            need_login = True
        max_age = params.get("max_age")
        if max_age is not None and now - session.auth_time > int(max_age):
            need_login = True
        if ia.hint_sub is not None and ia.hint_sub != (client_sub or session.sub):
            need_login = True
    if need_login:
        return Next("error", "login_required", "the citizen is not signed in") if silent else Next("login")

    wanted = [acr_rank(a) for a in (params.get("acr_values") or "").split() if acr_rank(a) >= 0]
    if wanted and acr_rank(session.acr) < min(wanted) and not ia.stepup_tried:
        if silent:
            return Next("error", "interaction_required", "a higher assurance level needs the citizen")
        return Next("stepup")

    if ia.consented is not None:
        return Next("issue", scopes=[s for s in requested if s in ia.consented])
    missing = [s for s in requested if s not in granted]
    if missing or "consent" in p:
        if silent:
            return Next("error", "consent_required", "the citizen has not consented to these claims")
        return Next("consent", scopes=requested)
    return Next("issue", scopes=requested)
