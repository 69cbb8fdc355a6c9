"""Prose after a secret key name is not a secret (dreamcli.redaction.prose). Japanese and Chinese have no
spaces, so a value that ran to the next blank took a whole instruction (`api_key：環境変数から読み込む。…`)
out of the session log and the model's prompt, and again wherever it recurred. A value never starts with
CJK text and ends where it begins, quoted or not; a quoted hint (`„Bitte ändern“`) is prose too. A real
secret beside such text is still redacted, exactly."""

from __future__ import annotations

import pytest

from dreamcli.redaction import default_redactor
from dreamcli.redaction.recurring import RecurringSecrets
from tests.redaction.support import GH_PAT, OPAQUE, PASSWORD, assert_untouched
from tests.redaction.test_redaction_fast_path import _assert_same_as_reference

SECRET = "Hunter2" + "Secret99"

PROSE = [
    # the reviewer's: Japanese after the full-width colon, and a German hint in typographic quotes
    "api_key：環境変数から読み込む。詳細は設定ガイドを参照",
    "password：必須（8文字以上）",
    "client_secret：設定ファイルに記載",
    "GITHUB_TOKEN：リポジトリの設定画面で発行する",
    "password：「忘れた場合は管理者へ」",
    "password: „Bitte ändern“",
    # the same after an ASCII separator, a blank, an ideographic space or the full-width equals sign
    "api_key: 環境変数から読み込む",
    "DB_PASSWORD=本番環境では必ず変更すること",
    "access_token：\u3000発行後は二度と表示されません",
    "password＝管理画面で再設定してください",
    # Korean, Chinese, half-width kana, full-width brackets
    "비밀번호 password: 관리자에게문의하세요",
    "api_key: 설정파일에서읽어옵니다 (2024년부터)",
    "密码 api_key：从环境变量读取配置文件",
    "client_secret：請聯繫管理員取得，勿外流",
    "password：ﾊﾟｽﾜｰﾄﾞは別途連絡",
    "password：（未設定）",
    "api_key：【必須】環境変数から読み込む",
    # quoted CJK prose, digits included, in every kind of quote; and hints in other languages
    'password="忘れた場合は管理者へ連絡"',
    "password: '8文字以上の英数字を使用'",
    "api_key：『設定ガイドの第3章を参照』",
    "password: “비밀번호를 입력하세요”",
    "password: «Entrez votre mot de passe»",
    'password="Bitte hier eingeben"',
    # a short ASCII word before CJK text is not a value, nor ASCII inside a quoted sentence
    "password：abc漢字のパスワード",
    "GITHUB_TOKEN：「有効期限は2024-12-31まで」",
    "password：「requiredで指定」",
    'api_key: "Google CloudのAPIキー"',
    "Authorization：ユーザーの権限を2回確認する",
]


@pytest.mark.parametrize("text", PROSE, ids=range(len(PROSE)))
def test_prose_after_a_secret_key_is_left_alone(text: str) -> None:
    assert_untouched(text)
    assert_untouched(f"手順\n{text}\n以上")
    _assert_same_as_reference(f"{text}\n{text}")


def test_prose_under_a_secret_key_in_json_is_left_alone() -> None:
    r = default_redactor()
    data = {"password": "必須（8文字以上）", "api_key": "環境変数から読み込む", "Authorization": "管理者のみ",
            "client_secret": "「忘れた場合は管理者へ」", "token_help": "x"}  # fmt: skip
    assert r.redact_obj(data) is data


FOUND = [
    # an ASCII secret is redacted exactly: up to the CJK text after it, which stays
    ("password：" + SECRET, "password：[REDACTED:password]"),
    ("password：" + SECRET + "を使用", "password：[REDACTED:password]を使用"),
    ("password: " + SECRET + "を使用", "password: [REDACTED:password]を使用"),
    ("DB_PASSWORD=" + SECRET + "（本番）", "DB_PASSWORD=[REDACTED:password]（本番）"),
    ("api_key：" + OPAQUE + "、次に再起動", "api_key：[REDACTED:api_key]、次に再起動"),
    ("비밀번호 password: " + SECRET + "입니다", "비밀번호 password: [REDACTED:password]입니다"),
    ("密码 client_secret：" + SECRET + "，请勿泄露", "密码 client_secret：[REDACTED:secret]，请勿泄露"),
    ("GITHUB_TOKEN：" + GH_PAT + "を設定", "GITHUB_TOKEN：[REDACTED:github]を設定"),
    # in CJK brackets, or after a quote left open
    ("password：【" + SECRET + "】", "password：【[REDACTED:password]】"),
    ("DB_PASSWORD＝（" + SECRET + "）", "DB_PASSWORD＝（[REDACTED:password]）"),
    ("password：「" + SECRET, "password：「[REDACTED:password]"),
    # a passphrase in quotes, ASCII inside (an ideographic space is a blank, not CJK text)
    ("password=“Hunter2 Secret99”", "password=“[REDACTED:password]”"),
    ('password="Hunter2\u3000Secret99"', 'password="[REDACTED:password]"'),
    ("password：\u3000" + SECRET + "\u3000を使う", "password：\u3000[REDACTED:password]\u3000を使う"),
    ("password：「Hunter2 Secret99」を使う", "password：「[REDACTED:password]」を使う"),
    ('password="correct horse battery staple"', 'password="[REDACTED:password]"'),
    # quoted CJK text holding what would be a secret unquoted: the whole quoted value goes
    ("password：「" + SECRET + "を使う」", "password：「[REDACTED:password]」"),
    ("password：「Hunter2 Secret99を使う」", "password：「[REDACTED:password]」"),
    ('{"password": "' + PASSWORD + 'は仮のパスワード"}', '{"password": "[REDACTED:password]"}'),
]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=range(len(FOUND)))
def test_a_secret_beside_cjk_text_is_redacted_exactly(text: str, expected: str) -> None:
    r = default_redactor()
    assert r.redact_text(text) == expected
    assert r.redact_text(expected) == expected
    _assert_same_as_reference(f"{text}\n{text}")


def test_only_the_secret_is_remembered_to_redact_where_it_recurs() -> None:
    r = default_redactor()
    memory = RecurringSecrets()
    for text in PROSE:
        memory.learn(text, r.redact_text(text), r)
    assert not memory  # nothing of the prose is hunted down later
    text = f"password：{SECRET}を使用"
    memory.learn(text, r.redact_text(text), r)
    assert memory.redact(f"ログイン: {SECRET}") == "ログイン: [REDACTED:password]"
