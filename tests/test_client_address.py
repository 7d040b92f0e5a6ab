"""The client's address is the connecting peer's, or what a trusted proxy forwards."""

REQUEST_OTP = """mutation($phone: String!) { requestOtp(phone: $phone) {
  challenge { id } userErrors { code } } }"""


async def _ask_from(graphql, forwarded_for: list[str]) -> list[str | None]:
    """requestOtp for a new phone each time, each with its own X-Forwarded-For."""
    codes = []
    for n, address in enumerate(forwarded_for):
        response = await graphql.http.post(
            "/graphql",
            json={"query": REQUEST_OTP, "variables": {"phone": f"09123400{n:02d}"}},
            headers={"x-forwarded-for": address},
        )
        errors = response.json().get("errors") or [{"extensions": {}}]
        codes.append(errors[0]["extensions"].get("code"))
    return codes


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(app_process):
    spoofed = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    async with app_process("127.0.0.1", otp_requests_per_address=2) as graphql:
        codes = await _ask_from(graphql, spoofed)

    assert codes == [None, None, "RATE_LIMITED"]


async def test_x_forwarded_for_from_a_trusted_proxy_names_the_client(app_process):
    clients = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    async with app_process(
        "10.0.0.5", otp_requests_per_address=2, trusted_proxies=["10.0.0.0/8"]
    ) as graphql:
        codes = await _ask_from(graphql, clients)
        again = await _ask_from(graphql, ["198.51.100.1"] * 2)

    assert codes == [None, None, None]
    assert again == [None, "RATE_LIMITED"]
