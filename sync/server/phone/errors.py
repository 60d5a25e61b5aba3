"""What the phone pages refuse, each with a message for the resident (Chinese first)
and what to do next.

    PhoneError
    ├── BadPhone          not a mainland mobile number
    ├── Throttled         too many codes sent or wrong codes typed: wait
    ├── WrongCode         the code is wrong, used or expired
    ├── NoCommunity       the phone came without a sticker and has no link
    ├── NotFound          no such case (or not hers: the same answer)
    └── BadForm           the application or report has problems (``problems``)
"""
from __future__ import annotations


class PhoneError(Exception):
    status = 400

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(en)
        self.zh, self.en = zh, en


class BadPhone(PhoneError):
    pass


class Throttled(PhoneError):
    status = 429


class WrongCode(PhoneError):
    pass


class NoCommunity(PhoneError):
    pass


class NotFound(PhoneError):
    status = 404


class BadForm(PhoneError):
    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("请修改以下内容后再提交。", "Please fix the following and submit again.")
        self.problems = problems
