"""The one outbound HTTP client, with the guard that keeps user-supplied URLs off internal networks.

Every connector gets its ``httpx.AsyncClient`` from :func:`make_client`. The guard lives in the
narrowest seam httpx offers, the network backend under the connection pool: each new connection
resolves the host once, checks *every* address it resolved to against an :class:`AddressPolicy`,
and then connects to the vetted address itself, never to the name. So:

* a DNS answer that changes between the check and the connect (DNS rebinding) cannot slip
  through, because there is no second lookup;
* every redirect hop is checked, because every hop to a new origin opens a new connection;
* the refusal happens before a single packet is sent to the refused address.

TLS still verifies the certificate against the host name from the URL (httpcore passes it as
SNI/``server_hostname``), so connecting to an IP loses no security.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import anyio
import httpcore
import httpx

from goodwill.settings import Settings

__all__ = [
    "MAX_REDIRECTS",
    "AddressPolicy",
    "BlockedAddress",
    "GuardedNetworkBackend",
    "GuardedTransport",
    "Resolver",
    "check_url",
    "make_client",
    "redact_url",
    "refuse_internal",
    "vetted_addresses",
]

MAX_REDIRECTS: Final = 5
"""Redirect hops a request may follow (http → https → www → CDN is already three)."""

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""``(host, port) -> addresses``: how the guard turns a host name into IP addresses."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Categories of refused addresses, as they appear in messages.
LOOPBACK: Final = "loopback address"
PRIVATE: Final = "private address"
SHARED: Final = "shared (carrier-grade NAT) address"
LINK_LOCAL: Final = "link-local address"
UNIQUE_LOCAL: Final = "unique-local address"
SITE_LOCAL: Final = "site-local address"
METADATA: Final = "cloud metadata address"
UNSPECIFIED: Final = "unspecified address"
MULTICAST: Final = "multicast address"
BROADCAST: Final = "broadcast address"
RESERVED: Final = "reserved address"
NON_GLOBAL: Final = "non-global address"

# Checked first: these stay refused even with allow_private, since they hand out credentials.
_METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle (v1) ...
        "169.254.170.2",  # AWS ECS task metadata and credentials
        "169.254.170.23",  # AWS EKS Pod Identity agent
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure WireServer (a public address, reachable only from inside Azure)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS Pod Identity over IPv6
    )
)

_RANGES: Final[tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]] = tuple(
    (ipaddress.ip_network(net), reason)
    for net, reason in (
        ("0.0.0.0/8", UNSPECIFIED),  # "this network"; 0.0.0.0 reaches localhost on Linux
        ("10.0.0.0/8", PRIVATE),
        ("100.64.0.0/10", SHARED),
        ("127.0.0.0/8", LOOPBACK),
        ("169.254.0.0/16", LINK_LOCAL),
        ("172.16.0.0/12", PRIVATE),
        ("192.0.0.0/24", RESERVED),
        ("192.0.2.0/24", RESERVED),
        ("192.88.99.0/24", RESERVED),
        ("192.168.0.0/16", PRIVATE),
        ("198.18.0.0/15", RESERVED),
        ("198.51.100.0/24", RESERVED),
        ("203.0.113.0/24", RESERVED),
        ("224.0.0.0/4", MULTICAST),
        ("255.255.255.255/32", BROADCAST),
        ("240.0.0.0/4", RESERVED),
        ("::/128", UNSPECIFIED),
        ("::1/128", LOOPBACK),
        ("::/96", RESERVED),  # IPv4-compatible (deprecated)
        ("64:ff9b:1::/48", RESERVED),  # local-use NAT64
        ("100::/64", RESERVED),  # discard-only
        ("2001::/23", RESERVED),  # IETF protocol assignments, Teredo
        ("2001:db8::/32", RESERVED),  # documentation
        ("3fff::/20", RESERVED),  # documentation
        ("fc00::/7", UNIQUE_LOCAL),
        ("fe80::/10", LINK_LOCAL),
        ("fec0::/10", SITE_LOCAL),
        ("ff00::/8", MULTICAST),
    )
)

_ALLOWED_BY_PRIVATE: Final = frozenset(
    {LOOPBACK, PRIVATE, SHARED, LINK_LOCAL, UNIQUE_LOCAL, SITE_LOCAL}
)
_NAT64: Final = ipaddress.ip_network("64:ff9b::/96")


def _classify(ip: IPAddress) -> str | None:
    """The category of a non-public address, or ``None`` for a public one."""
    if ip in _METADATA:
        return METADATA
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return _classify(embedded)
    for network, reason in _RANGES:
        if ip.version == network.version and ip in network:
            return reason
    if not ip.is_global:  # anything the tables above miss
        return NON_GLOBAL
    return None


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses outbound connections may reach.

    ``allow_private`` opens loopback, private (RFC 1918), shared, link-local and unique-local
    ranges, for installs that poll an intranet. ``allow_loopback`` opens loopback only (tests,
    and a feed generator running next to Goodwill). Cloud metadata, unspecified, multicast,
    broadcast and reserved addresses are refused whatever the flags say.
    """

    allow_private: bool = False
    allow_loopback: bool = False

    def refusal(self, address: str) -> str | None:
        """Why ``address`` (an IP literal) is refused, or ``None`` when it may be reached."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        reason = _classify(ip)
        if reason is None:
            return None
        if self.allow_private and reason in _ALLOWED_BY_PRIVATE:
            return None
        if self.allow_loopback and reason == LOOPBACK:
            return None
        return reason


class BlockedAddress(httpx.TransportError):
    """A connection was refused by the guard, before anything was sent."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host = host
        self.address = address
        self.reason = reason
        message = f"refusing to connect to {address} ({reason})"
        if host != address:
            message += f" for host {host}"
        super().__init__(message)


async def _system_resolve(host: str, port: int) -> list[str]:
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, vets and connects to the vetted address."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver | None = None,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._resolve = resolver or _system_resolve
        self._backend = backend or httpcore.AnyIOBackend()

    async def resolve(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """Every address of ``host``, each one vetted; raise ``BlockedAddress`` if any is not."""
        if _is_ip_literal(host):
            addresses: Sequence[str] = [host]
        else:
            try:
                with anyio.fail_after(timeout):
                    addresses = await self._resolve(host, port)
            except TimeoutError:
                raise httpcore.ConnectTimeout(f"timed out resolving {host}") from None
            except OSError as exc:
                raise httpcore.ConnectError(f"could not resolve {host}: {exc}") from exc
        unique = list(dict.fromkeys(addresses))
        if not unique:
            raise httpcore.ConnectError(f"could not resolve {host}: no addresses")
        # All or nothing: a name that also points inside is not trusted for its outside answers.
        for address in unique:
            reason = self.policy.refusal(address)
            if reason is not None:
                raise BlockedAddress(host, address, reason)
        return unique

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        deadline = None if timeout is None else time.monotonic() + timeout
        addresses = await self.resolve(host, port, timeout)
        error: httpcore.ConnectError | None = None
        for address in addresses:
            remaining = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            try:
                return await self._backend.connect_tcp(
                    address,
                    port,
                    timeout=remaining,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress(path, path, "unix sockets are never reached from outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


@lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    """One verifying context for every client: loading the CA bundle takes tens of ms."""
    return httpx.create_ssl_context()


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport, with its connection pool built on :class:`GuardedNetworkBackend`.

    ``verify`` replaces the default certificate check (certifi's CAs) with a context of your
    own, e.g. one that trusts an internal CA. No proxy support on purpose: through a proxy the
    guard would only see the proxy's address.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | None = None,
        limits: httpx.Limits = httpx.Limits(max_connections=50, max_keepalive_connections=10),
    ) -> None:
        ssl_context = verify or _default_ssl_context()
        super().__init__(verify=ssl_context, limits=limits)
        self.backend = GuardedNetworkBackend(policy, resolver=resolver)
        # httpx's constructor has no network_backend argument; swap in an identical pool that
        # has one. Tests that must be refused fail loudly if this ever stops taking effect.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=self.backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"refusing to fetch {redact_url(str(request.url))}: unsupported scheme "
                f"{request.url.scheme!r}, only http and https can be fetched",
                request=request,
            )
        return await super().handle_async_request(request)


def make_client(
    settings: Settings,
    *,
    allow_private: bool | None = None,
    allow_loopback: bool = False,
    resolver: Resolver | None = None,
) -> httpx.AsyncClient:
    """The HTTP client every connector uses for user-supplied URLs.

    ``allow_private=None`` follows ``settings.http_allow_private``. ``allow_loopback`` opens
    loopback only; ``resolver`` replaces the system DNS lookup (tests). Environment proxies and
    ``.netrc`` are ignored: a proxy would hide the destination from the guard, and netrc would
    hand credentials to hosts that users choose.
    """
    if allow_private is None:
        allow_private = settings.http_allow_private
    policy = AddressPolicy(allow_private=allow_private, allow_loopback=allow_loopback)
    return httpx.AsyncClient(
        transport=GuardedTransport(policy, resolver=resolver),
        timeout=httpx.Timeout(settings.http_timeout),
        headers={"User-Agent": settings.http_user_agent},
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        trust_env=False,
    )


async def vetted_addresses(
    client: httpx.AsyncClient, host: str, port: int, timeout: float | None = None
) -> list[str]:
    """The addresses of ``host`` that ``client``'s guard allows, for connections that are not
    HTTP requests (a WebSocket): connect to one of these, never to the name, as the transport
    does. Raises ``BlockedAddress`` when any address is refused, or the client has no guard."""
    transport = client._transport  # the client's own transport, built by make_client
    if not isinstance(transport, GuardedTransport):
        raise BlockedAddress(host, host, "the client has no address guard")
    return await transport.backend.resolve(host, port, timeout)


_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def check_url(url: str) -> str:
    """Validate a URL a user typed; return it normalised or raise ``ValueError`` saying why.

    Only the shape is checked here (scheme, host, port). Where the host points is checked on
    every connection by the guard, since a DNS answer can change after this check.
    """
    text = url.strip()
    if not text:
        raise ValueError("the URL is empty")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text):
        raise ValueError(f"the URL {text!r} contains control characters")
    try:
        parsed = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{text!r} is not a valid URL: {exc}") from None
    if not parsed.scheme:
        raise ValueError(f"the URL {text!r} has no scheme: write it as https://{text}")
    if parsed.scheme not in ("http", "https"):
        raise ValueError(
            f"unsupported scheme {parsed.scheme!r} in {text!r}: only http and https URLs "
            "can be fetched"
        )
    host = parsed.raw_host.decode("ascii")  # IDNA-encoded: bücher.de is xn--bcher-kva.de
    if not host:
        raise ValueError(f"the URL {text!r} has no host")
    if not _is_ip_literal(host) and not set(host) <= _HOST_CHARS:
        raise ValueError(f"the URL {text!r} has an invalid host {host!r}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"the URL {text!r} has an invalid port {parsed.port}")
    return str(parsed)


def refuse_internal(url: str, *, allow_private: bool = False, allow_loopback: bool = False) -> str:
    """``check_url``, and refuse at once a URL whose host is visibly internal: an IP literal in
    a refused range (loopback, private, cloud metadata…) or ``localhost``. For the forms where a
    user saves a URL (alert webhooks), so the mistake is reported when it is made; host names
    are still judged on every connection by the guard, since DNS answers change.
    """
    clean = check_url(url)
    host = httpx.URL(clean).host
    policy = AddressPolicy(allow_private=allow_private, allow_loopback=allow_loopback)
    if host == "localhost" or host.endswith(".localhost"):
        reason = policy.refusal("127.0.0.1")
    elif _is_ip_literal(host):
        reason = policy.refusal(host)
    else:
        reason = None
    if reason is not None:
        raise ValueError(
            f"{host} is a {reason}: Goodwill does not send to internal addresses "
            "(set GOODWILL_HTTP_ALLOW_PRIVATE to allow private networks; cloud metadata "
            "addresses are always refused)"
        )
    return clean


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``, for messages users and logs see."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return url
    if not parsed.password:
        return url
    masked = parsed.copy_with(username=parsed.username, password="***")  # noqa: S106 (a mask)
    return str(masked)
