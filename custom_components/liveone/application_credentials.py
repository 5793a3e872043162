"""Home Assistant's application credentials platform: the authorization server of LiveOne's OAuth2 kind.

A kind whose vendor authorises with OAuth2 declares, in its :class:`~.registry.SourceKind`'s ``extra``,
``"application_credentials"``: a pair of coroutine functions, the platform's
``async_get_authorization_server`` and ``async_get_auth_implementation``. This module hands Home Assistant
the first registered kind's pair (the domain has one authorization server), so it names no kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

from homeassistant.components.application_credentials import AuthorizationServer, ClientCredential
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_entry_oauth2_flow

from . import sources  # noqa: F401  (importing the package registers every kind)
from .registry import registered

type _Pair = tuple[
    Callable[[HomeAssistant], Awaitable[AuthorizationServer]],
    Callable[
        [HomeAssistant, str, ClientCredential],
        Awaitable[config_entry_oauth2_flow.AbstractOAuth2Implementation],
    ],
]


def _oauth_kind() -> _Pair:
    found: Any = next(
        kind.extra["application_credentials"]
        for kind in registered()
        if "application_credentials" in kind.extra
    )
    return cast("_Pair", found)


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Return the authorize and token URLs of the kind that authorises with OAuth2."""
    return await _oauth_kind()[0](hass)


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> config_entry_oauth2_flow.AbstractOAuth2Implementation:
    """Return the kind's OAuth2 implementation (its token request), for one application credential."""
    return await _oauth_kind()[1](hass, auth_domain, credential)
