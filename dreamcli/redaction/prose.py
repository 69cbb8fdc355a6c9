"""What tells a sentence or a hint from a secret under a secret key name (dreamcli.redaction.rules):
Chinese, Japanese and Korean text, and the words of a hint in a quoted value (`"Your API key here"`,
`„Bitte ändern“`), as against a passphrase (`"correct horse battery staple"`).

Japanese and Chinese are written without spaces, so after `api_key：` a value that ran to the next
blank would take the rest of the line: `api_key：環境変数から読み込む。詳細は…` is an instruction, and
redacting it would take it from the session log and from what the model reads (and again wherever
it recurs). A real secret in such text is ASCII: `password：Hunter2Secret99を使用`.
"""

from __future__ import annotations

import re

# The characters of CJK text, as the body of a regex class (the characters themselves, which the gate
# and the RE2 translation read as plain ones): hangul jamo; CJK radicals, symbols and punctuation
# (、。「」〜; not the ideographic space, a blank); kana, bopomofo, hangul compatibility jamo and CJK
# strokes; enclosed and compatibility CJK; ideographs (extension A, the main block, compatibility ones,
# the supplementary planes); hangul syllables; vertical and small forms; the full-width punctuation
# (！（），：＝？［｛), half-width kana and hangul, and full-width signs (￥). Not full-width letters or digits.
CJK = (
    "\u1100-\u11ff\u2e80-\u2fdf\u2ff0-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u4dbf\u4e00-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe10-\ufe1f\ufe30-\ufe6f"
    "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uffef\U00020000-\U0003ffff"
)
_CJK_CHAR = re.compile(f"[{CJK}]")

# Words that show a quoted value with spaces is prose or a placeholder, not a passphrase: English, and
# the hint words of the languages whose quotes the rules read (`„Bitte ändern“`, `«Entrez votre mot»`).
PROSE_WORDS = frozenset(
    (  # noqa: SIM905 (one word list reads better than a column of quoted words)
        "a an the your my our their this that these for to of in on at by with from into and or not no is are be"
        " been must should will can may here there enter set use using change put insert see e.g i.e example"
        " required optional default value todo fixme none null"
        " bitte hier eingeben ändern setzen siehe ihr ihre ihren dein deine ein eine der die das und oder nicht"
        " für mit von"
        " votre vos ton ici entrez saisir saisissez changer modifier voir le la les un une des et ou pas de du pour"
        " avec su tu aquí introduzca ingrese cambiar el los las y o por para con del tuo tua il qui inserire"
        " inserisci cambiare vedi seu sua aqui digite alterar trocar veja um uma"
        " введите ваш ваше здесь измените см и или не для"
    ).split()
)
# A word holding one of these names what the value is, unless it has a digit (`Secret99`).
KEY_WORDS = ("password", "passwd", "passphrase", "secret", "token", "apikey", "api_key", "credential",
             "passwort", "kennwort", "contraseña", "senha", "пароль")  # fmt: skip


def before_cjk(value: str) -> str | None:
    """The text of `value` before its first CJK character; None when it holds none."""
    m = _CJK_CHAR.search(value)
    return None if m is None else value[: m.start()]


def passphrase_ok(value: str) -> bool:
    """A quoted value with spaces (`password="correct horse battery staple"`): a few words, not prose,
    not code (`" + pw + "`), not a hint (`"Your API key here"`). A key's word with a digit in it is a
    word of the passphrase (`"Hunter2 Secret99"`), not one that names what the value is."""
    words = value.split()
    if len(words) < 2:
        return True
    if len(words) > 8 or len(value) > 100 or "\n" in value or "\r" in value:
        return False
    for word in words:
        low = word.lower().strip(".,;:!?()")
        if not any(c.isalnum() for c in word) or low in PROSE_WORDS:
            return False
        if any(k in low for k in KEY_WORDS) and not any(c.isdigit() for c in low):
            return False
    return True
