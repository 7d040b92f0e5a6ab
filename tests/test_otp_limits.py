"""Sign-in requests are rate-limited per phone and per client address, across app_processes."""

from tests.conftest import GraphQLClient

REQUEST = """mutation($phone: String!) { requestOtp(phone: $phone) {
  challenge { id } userErrors { code } } }"""
VERIFY = """mutation($id: ID!) { verifyOtp(challengeId: $id, code: "000000") {
  session { accessToken } userErrors { code } } }"""


async def request_code(graphql: GraphQLClient, phone: str) -> dict:
    return await graphql.query(REQUEST, {"phone": phone})


async def test_a_phone_gets_a_limited_number_of_codes(app_process):
    async with app_process(otp_requests_per_phone=3) as graphql:
        allowed = [await request_code(graphql, "0912345678") for _ in range(3)]
        refused = await request_code(graphql, "0912345678")

    assert all(body["data"]["requestOtp"]["challenge"] for body in allowed)
    assert refused["data"] is None
    [error] = refused["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert 0 < error["extensions"]["retryAfter"] <= 3600


async def test_another_phone_is_not_held_back_by_a_limited_one(app_process):
    async with app_process(otp_requests_per_phone=3) as graphql:
        for _ in range(4):
            await request_code(graphql, "0912345678")
        other = await request_code(graphql, "0987654321")

    assert other["data"]["requestOtp"]["challenge"] is not None


async def test_the_phone_limit_holds_across_app_processes(app_process):
    async with (
        app_process("198.51.100.1", otp_requests_per_phone=3) as first,
        app_process("198.51.100.2", otp_requests_per_phone=3) as second,
    ):
        for _ in range(2):
            assert "errors" not in await request_code(first, "0912345678")
        assert "errors" not in await request_code(second, "0912345678")
        refused = await request_code(second, "0912345678")

    assert refused["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_an_address_gets_a_limited_number_of_codes_across_phones(app_process):
    async with app_process("192.0.2.10", otp_requests_per_address=3) as graphql:
        phones = [f"09123456{n:02d}" for n in range(4)]
        answers = [await request_code(graphql, phone) for phone in phones]

    assert ["errors" in body for body in answers] == [False, False, False, True]
    assert answers[-1]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"


async def test_another_address_is_not_held_back_by_a_limited_one(app_process):
    async with app_process("192.0.2.10", otp_requests_per_address=2) as crowded:
        for n in range(3):
            await request_code(crowded, f"09123456{n:02d}")
    async with app_process("192.0.2.11", otp_requests_per_address=2) as quiet:
        answer = await request_code(quiet, "0912345699")

    assert "errors" not in answer


async def test_guessing_codes_across_challenges_is_limited_per_address(app_process):
    async with app_process("192.0.2.20", otp_verifications_per_address=3) as graphql:
        challenge = (await request_code(graphql, "0912345678"))["data"]["requestOtp"]
        answers = [
            await graphql.query(VERIFY, {"id": challenge["challenge"]["id"]}) for _ in range(4)
        ]

    assert ["errors" in body for body in answers] == [False, False, False, True]
    assert answers[-1]["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
