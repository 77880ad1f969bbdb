"""The outbound-address guard in goodwill.net, against a real HTTP server on 127.0.0.1.

No test here sends a packet anywhere but loopback: every non-loopback address is refused by the
guard before a connection is attempted, and host names are resolved by a fake resolver.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from goodwill.net import (
    MAX_REDIRECTS,
    AddressPolicy,
    BlockedAddress,
    GuardedNetworkBackend,
    GuardedTransport,
    check_url,
    make_client,
    redact_url,
)
from goodwill.settings import Settings
from tests.feedserver import FeedServer, Reply, loopback_only, running_server


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with running_server() as srv:
        srv.default = Reply(b"hello from loopback", content_type="text/plain")
        yield srv


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    loopback_only(monkeypatch)


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, http_timeout=kw.pop("http_timeout", 2.0), **kw)


def _get(url: str, **client_kw: Any) -> httpx.Response:
    settings = client_kw.pop("settings", None) or _settings()

    async def go() -> httpx.Response:
        async with make_client(settings, **client_kw) as client:
            return await client.get(url)

    return asyncio.run(go())


def _resolver(table: dict[str, Sequence[str]], calls: list[str] | None = None) -> Any:
    async def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return table[host]

    return resolve


# --- the address table -------------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback address"),
    ("127.255.255.254", "loopback address"),
    ("::1", "loopback address"),
    ("10.0.0.5", "private address"),
    ("172.16.0.1", "private address"),
    ("172.31.255.255", "private address"),
    ("192.168.1.1", "private address"),
    ("100.64.0.1", "shared (carrier-grade NAT) address"),
    ("169.254.1.1", "link-local address"),
    ("fe80::1", "link-local address"),
    ("fe80::1%eth0", "link-local address"),
    ("fc00::1", "unique-local address"),
    ("fd12:3456::1", "unique-local address"),
    ("fec0::1", "site-local address"),
    ("169.254.169.254", "cloud metadata address"),
    ("169.254.170.2", "cloud metadata address"),
    ("100.100.100.200", "cloud metadata address"),
    ("168.63.129.16", "cloud metadata address"),
    ("fd00:ec2::254", "cloud metadata address"),
    ("::ffff:169.254.169.254", "cloud metadata address"),
    ("0.0.0.0", "unspecified address"),
    ("0.1.2.3", "unspecified address"),
    ("::", "unspecified address"),
    ("224.0.0.1", "multicast address"),
    ("239.255.255.250", "multicast address"),
    ("ff02::1", "multicast address"),
    ("ff0e::1", "multicast address"),
    ("255.255.255.255", "broadcast address"),
    ("240.0.0.1", "reserved address"),
    ("192.0.2.10", "reserved address"),
    ("198.18.0.1", "reserved address"),
    ("2001:db8::1", "reserved address"),
    ("::ffff:10.0.0.5", "private address"),  # IPv4-mapped
    ("::ffff:127.0.0.1", "loopback address"),
    ("64:ff9b::a00:5", "private address"),  # NAT64 of 10.0.0.5
    ("2002:7f00:1::1", "loopback address"),  # 6to4 of 127.0.0.1
    ("::127.0.0.1", "reserved address"),  # IPv4-compatible
    ("2001::1", "reserved address"),  # Teredo
]

PUBLIC = ["93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::1"]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    assert AddressPolicy().refusal(address) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().refusal(address) is None


def test_allow_private_opens_internal_ranges_but_never_metadata() -> None:
    policy = AddressPolicy(allow_private=True)
    for address in ("127.0.0.1", "::1", "10.0.0.5", "192.168.1.1", "fd12::1", "169.254.1.1"):
        assert policy.refusal(address) is None, address
    for address in ("169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "240.0.0.1"):
        assert policy.refusal(address) is not None, address


def test_allow_loopback_opens_loopback_only() -> None:
    policy = AddressPolicy(allow_loopback=True)
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("::1") is None
    assert policy.refusal("10.0.0.5") == "private address"
    assert policy.refusal("169.254.169.254") == "cloud metadata address"


def test_every_special_range_is_covered() -> None:
    # Anything Python itself calls non-global is refused (the table plus the fallback).
    for network in ("10.0.0.0/8", "192.0.0.0/24", "2001:10::/28", "fc00::/7"):
        first = ipaddress.ip_network(network)[1]
        assert AddressPolicy().refusal(str(first)) is not None, network


# --- the guard at connect time -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "address", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1", "loopback address"),
        ("http://[::1]:{port}/", "::1", "loopback address"),
        ("http://10.0.0.5/", "10.0.0.5", "private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "cloud metadata address"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254", "cloud metadata address"),
        ("http://[::ffff:127.0.0.1]:{port}/", "::ffff:127.0.0.1", "loopback address"),
        ("http://0.0.0.0:{port}/", "0.0.0.0", "unspecified address"),
    ],
)
def test_client_refuses_before_connecting(
    server: FeedServer, url: str, address: str, reason: str
) -> None:
    with pytest.raises(BlockedAddress) as caught:
        _get(url.format(port=server.port), allow_private=False)
    assert caught.value.address == address
    assert caught.value.reason == reason
    assert str(caught.value) == f"refusing to connect to {address} ({reason})"
    assert server.seen == []  # nothing reached the server


def test_numeric_host_spellings_are_resolved_then_refused(server: FeedServer) -> None:
    # 2130706433 is 127.0.0.1 as one number; the system resolver parses it without DNS.
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1 \(loopback address\) for host 2130"):
        _get(f"http://2130706433:{server.port}/")
    assert server.seen == []


def test_message_names_host_address_and_reason() -> None:
    resolve = _resolver({"internal.example": ["10.0.0.5"]})
    with pytest.raises(BlockedAddress) as caught:
        _get("http://internal.example/feed", resolver=resolve)
    assert str(caught.value) == (
        "refusing to connect to 10.0.0.5 (private address) for host internal.example"
    )
    assert isinstance(caught.value, httpx.TransportError)
    assert caught.value.request.url == "http://internal.example/feed"


def test_every_resolved_address_is_checked() -> None:
    # A name with one public and one internal answer is refused as a whole: otherwise a
    # rebinding server only has to win the race once.
    resolve = _resolver({"rebind.example": ["93.184.216.34", "169.254.169.254"]})
    with pytest.raises(BlockedAddress, match=r"169\.254\.169\.254 \(cloud metadata address\)"):
        _get("http://rebind.example/", resolver=resolve)


def test_connects_to_the_vetted_address_without_a_second_lookup(server: FeedServer) -> None:
    calls: list[str] = []
    resolve = _resolver({"feeds.test": ["127.0.0.1"]}, calls)
    response = _get(f"http://feeds.test:{server.port}/ok", allow_loopback=True, resolver=resolve)
    assert response.text == "hello from loopback"
    assert calls == ["feeds.test"]  # resolved once, by us; the socket got the IP
    assert server.seen[0][1]["Host"] == f"feeds.test:{server.port}"


def test_resolution_failure_is_a_connect_error() -> None:
    with pytest.raises(httpx.ConnectError, match=r"could not resolve nowhere\.test"):
        _get("http://nowhere.test/", resolver=_resolver({}))


def test_slow_resolution_times_out() -> None:
    async def slow(host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(5)
        return ["127.0.0.1"]

    with pytest.raises(httpx.ConnectTimeout, match=r"timed out resolving slow\.test"):
        _get("http://slow.test/", resolver=slow, settings=_settings(http_timeout=0.1))


def test_allow_private_reaches_loopback(server: FeedServer) -> None:
    response = _get(server.url("/ok"), allow_private=True)
    assert response.status_code == 200
    assert response.text == "hello from loopback"


def test_allow_private_defaults_to_the_setting(server: FeedServer) -> None:
    response = _get(server.url("/ok"), settings=_settings(http_allow_private=True))
    assert response.status_code == 200
    with pytest.raises(BlockedAddress):
        _get(server.url("/ok"), settings=_settings(http_allow_private=False))


# --- redirects: every hop is checked -----------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254"),
        ("http://10.0.0.5/admin", "10.0.0.5"),
        ("http://[fd00:ec2::254]/", "fd00:ec2::254"),
        ("http://192.168.0.1:8080/", "192.168.0.1"),
    ],
)
def test_redirect_to_a_refused_address_is_blocked(
    server: FeedServer, location: str, address: str
) -> None:
    server.redirect("/go", location)
    with pytest.raises(BlockedAddress) as caught:
        _get(server.url("/go"), allow_loopback=True)
    assert caught.value.address == address
    assert [path for path, _ in server.seen] == ["/go"]


def test_redirect_to_metadata_is_blocked_even_with_allow_private(server: FeedServer) -> None:
    server.redirect("/go", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(BlockedAddress, match="cloud metadata"):
        _get(server.url("/go"), allow_private=True)


def test_redirect_through_a_name_is_checked(server: FeedServer) -> None:
    server.redirect("/go", "http://metadata.google.internal/computeMetadata/v1/")
    resolve = _resolver({"metadata.google.internal": ["169.254.169.254"]})
    with pytest.raises(BlockedAddress, match=r"for host metadata\.google\.internal"):
        _get(server.url("/go"), allow_loopback=True, resolver=resolve)


def test_allowed_redirects_are_followed(server: FeedServer) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", f"http://localhost:{server.port}/c")
    response = _get(server.url("/a"), allow_loopback=True)
    assert response.status_code == 200
    assert [path for path, _ in server.seen] == ["/a", "/b", "/c"]
    assert len(response.history) == 2


def test_redirect_loops_stop(server: FeedServer) -> None:
    server.redirect("/loop", "/loop")
    with pytest.raises(httpx.TooManyRedirects):
        _get(server.url("/loop"), allow_loopback=True)
    assert len(server.seen) == MAX_REDIRECTS + 1


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:6379/_INFO"]
)
def test_redirect_to_another_scheme_is_refused(server: FeedServer, location: str) -> None:
    server.redirect("/go", location)
    with pytest.raises(httpx.UnsupportedProtocol):
        _get(server.url("/go"), allow_loopback=True)


def test_non_http_schemes_are_refused() -> None:
    with pytest.raises(httpx.UnsupportedProtocol, match="only http and https"):
        _get("file:///etc/passwd")


# --- the client itself -------------------------------------------------------------------------


def test_client_sends_user_agent_and_uses_timeouts(server: FeedServer) -> None:
    settings = _settings(http_user_agent="GoodwillTest/1.0", http_timeout=3.5)
    client = make_client(settings, allow_loopback=True)
    assert client.timeout == httpx.Timeout(3.5)
    assert client.follow_redirects is True
    assert client.max_redirects == MAX_REDIRECTS

    async def go() -> None:
        async with client:
            await client.get(server.url("/ua"))

    asyncio.run(go())
    assert server.seen[0][1]["User-Agent"] == "GoodwillTest/1.0"


def test_environment_proxies_are_ignored(
    server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would hide the real destination from the guard. Port 9 on loopback: if the proxy
    # were used, the request would fail instead of reaching the server.
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    response = _get(server.url("/direct"), allow_loopback=True)
    assert response.status_code == 200


def test_unix_sockets_are_never_opened() -> None:
    backend = GuardedNetworkBackend(AddressPolicy(allow_private=True))
    with pytest.raises(BlockedAddress, match="unix sockets"):
        asyncio.run(backend.connect_unix_socket("/var/run/docker.sock"))


def test_connection_refused_is_a_connect_error() -> None:
    with socket.socket() as sock:  # a port that is certainly closed: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(httpx.ConnectError):
            _get(f"http://127.0.0.1:{port}/", allow_loopback=True)


# --- TLS: connecting to the vetted IP still verifies the certificate against the name ------


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[FeedServer, ssl.SSLContext]]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=feeds.test", "-addext",
         "subjectAltName=DNS:feeds.test", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    srv = FeedServer()
    srv.default = Reply(b"hello from loopback", content_type="text/plain")
    srv.socket = server_ctx.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield srv, client_ctx
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(5)


def _get_tls(url: str, ctx: ssl.SSLContext, resolve: Any) -> httpx.Response:
    transport = GuardedTransport(AddressPolicy(allow_loopback=True), resolver=resolve, verify=ctx)

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, timeout=2) as client:
            return await client.get(url)

    return asyncio.run(go())


def test_tls_verifies_the_name_not_the_ip(tls_server: tuple[FeedServer, ssl.SSLContext]) -> None:
    srv, ctx = tls_server
    resolve = _resolver({"feeds.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    response = _get_tls(f"https://feeds.test:{srv.port}/tls", ctx, resolve)
    assert response.text == "hello from loopback"
    # Same IP, another name: the certificate does not match it, so the handshake fails.
    with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
        _get_tls(f"https://other.test:{srv.port}/tls", ctx, resolve)


# --- check_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/feed.xml", "https://example.com/feed.xml"),
        ("  https://example.com/feed  ", "https://example.com/feed"),
        ("HTTP://Example.COM/Feed", "http://example.com/Feed"),
        ("https://bücher.example/rss", "https://xn--bcher-kva.example/rss"),
        ("http://127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        ("http://[::1]/x", "http://[::1]/x"),
        ("https://example.com/search?q=a b", "https://example.com/search?q=a%20b"),
    ],
)
def test_check_url_accepts_and_normalises(url: str, expected: str) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "the URL is empty"),
        ("   ", "the URL is empty"),
        ("example.com/feed", "has no scheme: write it as https://example.com/feed"),
        ("ftp://example.com/feed", "unsupported scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported scheme 'file'"),
        ("javascript:alert(1)", "unsupported scheme 'javascript'"),
        ("feed://example.com/rss", "unsupported scheme 'feed'"),
        ("http://", "has no host"),
        ("https:///path", "has no host"),
        ("http://exa mple.com/", "invalid host"),
        ("http://example.com:99999/", "invalid port 99999"),
        ("http://example.com/\x00", "control characters"),
        ("http://[::1/", "is not a valid URL"),
    ],
)
def test_check_url_explains_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        check_url(url)


def test_redact_url_hides_passwords() -> None:
    assert redact_url("https://me:s3cret@feeds.example/x") == "https://me:***@feeds.example/x"
    assert redact_url("https://feeds.example/x") == "https://feeds.example/x"
