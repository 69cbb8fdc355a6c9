"""Secret shapes added after review: passwords under glued or spaced key names and in quoted
passphrases, credentials given as command-line options (curl -u, mysql -p, sshpass -p), and
vendor tokens recognised by their prefix (npm, GitLab, Google, Stripe). Each comes with near-misses
that must stay untouched."""

from __future__ import annotations

import json

import pytest

from dreamcli.redaction import default_redactor
from tests.redaction.support import (
    ANTHROPIC_API,
    GITLAB_PAT,
    GITLAB_ROUTABLE,
    GITLAB_TRIGGER,
    GOOGLE_KEY,
    JWT,
    NPM_TOKEN,
    OPAQUE,
    OPENAI_PROJ,
    PASSPHRASE,
    PASSWORD,
    STRIPE_LIVE,
    STRIPE_RESTRICTED,
    STRIPE_TEST,
    assert_fast_on_clean_text,
    assert_redacted,
    assert_untouched,
    rand,
)

# (text, secret that must vanish, kind in the marker)
POSITIVES = [
    # passwords under key names glued to a prefix, or holding spaces
    (f"PGPASSWORD={PASSWORD} psql -h db -U app", PASSWORD, "password"),
    (f"export MYSQL_PWD={PASSWORD}", PASSWORD, "password"),
    (f"dbPassword: {PASSWORD}", PASSWORD, "password"),
    (f'password="{PASSPHRASE}"', PASSPHRASE, "password"),
    (f"wifi_passphrase: '{PASSPHRASE}'", PASSPHRASE, "password"),
    (f'{{"keystorePassword": "{PASSPHRASE}", "alias": "app"}}', PASSPHRASE, "password"),
    (f"aws_secret_access_key = {OPAQUE}", OPAQUE, "secret"),  # not 40 characters: still a secret
    # credentials given as command-line options
    (f"curl -u admin:{PASSWORD} https://api.example.com/v1/items", PASSWORD, "basic_auth"),
    (f"curl -sSu admin:{PASSWORD} -X POST https://x.example.com", PASSWORD, "basic_auth"),
    (f"curl --user 'deploy:{PASSWORD}' https://x.example.com", PASSWORD, "basic_auth"),
    (f"curl -x proxy:3128 --proxy-user=bob:{PASSWORD} https://x", PASSWORD, "basic_auth"),
    (f"mysql -h db.internal -uroot -p{PASSWORD} app_prod", PASSWORD, "password"),
    (f"mysqldump -u root -p'{PASSWORD}' app > app.sql", PASSWORD, "password"),
    (f"docker exec -it db mariadb -uroot -p{PASSWORD} -e 'select 1'", PASSWORD, "password"),
    (f"sshpass -p '{PASSWORD}' ssh deploy@host uptime", PASSWORD, "password"),
    # vendor tokens recognised by their prefix
    (f"//registry.npmjs.org/:_authToken={NPM_TOKEN}", NPM_TOKEN, "npm"),
    (f"NPM_TOKEN={NPM_TOKEN} npm publish", NPM_TOKEN, "npm"),
    (f"git clone https://oauth2:{GITLAB_PAT}@gitlab.com/group/app.git", GITLAB_PAT, "gitlab"),
    (f"--header 'PRIVATE-TOKEN: {GITLAB_ROUTABLE}'", GITLAB_ROUTABLE, "gitlab"),
    (f"curl -X POST -F token={GITLAB_TRIGGER} -F ref=main https://gl/api", GITLAB_TRIGGER, "gitlab"),
    (f"https://maps.googleapis.com/maps/api/geocode/json?address=x&key={GOOGLE_KEY}", GOOGLE_KEY, "google_api_key"),
    (f'firebaseConfig = {{ apiKey: "{GOOGLE_KEY}", projectId: "app" }}', GOOGLE_KEY, "google_api_key"),
    (f"STRIPE_SECRET_KEY={STRIPE_LIVE}", STRIPE_LIVE, "stripe"),
    (f'stripe.api_key = "{STRIPE_TEST}"', STRIPE_TEST, "stripe"),
    (f"curl https://api.stripe.com/v1/charges -u {STRIPE_RESTRICTED}:", STRIPE_RESTRICTED, "stripe"),
    # JSON Web Tokens, bare: in a cookie, a URL fragment, an error message
    (f"Set-Cookie: session={JWT}; Path=/; HttpOnly", JWT, "jwt"),
    (f"https://app.example.com/callback#id_token={JWT}&state=af0ifjsldkj", JWT, "jwt"),
    (f"request rejected: invalid token {JWT}", JWT, "jwt"),
    (f'{{"jwt": "{JWT}"}}', JWT, "jwt"),
    # secrets in camelCase keys and credential headers, in text (a tool printing JSON, a curl command)
    (f'{{"accessToken": "{OPAQUE}", "expiresIn": 3599}}', OPAQUE, "token"),
    (f"clientSecret={OPAQUE}", OPAQUE, "secret"),
    (f'"SessionToken": "{OPAQUE}"', OPAQUE, "token"),
    (f"curl -H 'Cookie: sessionid={OPAQUE}; theme=dark' https://app.example.com", f"sessionid={OPAQUE}; theme=dark",
     "cookie"),
    (f"Set-Cookie: sid={OPAQUE}; Path=/; HttpOnly", f"sid={OPAQUE}; Path=/; HttpOnly", "cookie"),
    (f"Authorization: {OPAQUE}", OPAQUE, "authorization"),
    (f'"Proxy-Authorization": "Negotiate {OPAQUE}"', f"Negotiate {OPAQUE}", "authorization"),
]


@pytest.mark.parametrize(("text", "secret", "kind"), POSITIVES, ids=[p[2] + str(i) for i, p in enumerate(POSITIVES)])
def test_each_new_shape_is_redacted_and_context_kept(text: str, secret: str, kind: str) -> None:
    assert_redacted(text, secret, kind)


@pytest.mark.parametrize(("text", "secret", "kind"), POSITIVES[::4])
def test_long_texts_take_the_full_path_too(text: str, secret: str, kind: str) -> None:
    padding = "ordinary log line without anything to hide\n" * 10  # longer than the short-text gate
    out = default_redactor().redact_text(padding + text + "\n" + padding)
    assert f"[REDACTED:{kind}]" in out and secret not in out
    assert out.startswith(padding) and out.endswith(padding)


NEGATIVES = [
    # key names near the new password keys
    "PWD=/work/main\nOLDPWD=/home/dev\nINIT_PWD=/home/dev/src\nMYSQL_PWD=$MYSQL_PWD",
    "dbPassword=this.dbPassword; newPassword = getPassword(); userPassword=user_password",
    "passwordless login is enabled; PGPASSFILE=~/.pgpass",
    'password="Password for the database"',
    'api_key = "Your API key here"',
    'cmd = "--password=" + password + " --user " + user',
    "password: 'must be at least 12 characters long'",
    # `-u` and `-p` options that are not credentials
    "sort -u names.txt | uniq -c; git push -u origin main; sudo -u postgres psql",
    "docker run -u 1000:1000 --rm -v $PWD:/src app:latest make test",
    "curl -u deploy https://x.example.com (curl asks for the password)",
    'curl -u "$USER:$PASS" https://x.example.com; curl -u ":$TOKEN" --negotiate https://x',
    "curl -fsSL https://get.example.com -o install.sh && sudo -u deploy:deploy sh install.sh",
    "curl -A 'Mozilla/5.0 (X11: Linux)' https://example.com/a:b",
    "mysql -u root -p app_prod; mysql -h db -P 3306 -u app -p",
    "mkdir -p build && gcc -pthread -o app main.c && ssh -p 2222 host",
    "docker run --name mysql -p 3306:3306 -e MYSQL_ROOT_PASSWORD -d mysql:8",
    "mysql -uroot -p$MYSQL_ROOT_PASSWORD app",
    "gcc -I/usr/include/mysql -pthread -o app app.c; find /var/lib/mysql -type f -print",
    # prefixes of vendor tokens in ordinary text
    "npm_config_cache=/tmp/.npm npm_package_name=dreamcli npm_lifecycle_event=test",
    "npm_" + "package_dependencies_typescript_version_x",
    "We bill through Stripe; its keys look like sk_live_... and rk_test_<key>.",
    "sk_test_mode = True; task_live_updates(); disk_test_results_" + rand(24) + " mask_live_" + rand(24),
    "glpat-xxxxxxxxxxxxxxxxxxxx and glpat-<your-token> and global-settings-" + rand(30),
    "Google API keys start with AIza; see AIzaSyExampleKey in the docs",
    "AIza" + "x" * 35,
    "the header starts eyJ (base64 of '{\"'); eyJhbGciOi.eyJzdWIi.x is too short; eyJhbGciOiJIUzI1NiJ9.not",
    "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefgh",  # glued to a word: not a token's start
    "maxTokens: 4096; nextToken=abc; accessToken = this.accessToken; tokenType: Bearer",
    "the Authorization: header carries the token; Cookie: chocolate chip with walnuts",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_no_false_positives(text: str) -> None:
    assert_untouched(text)


def test_near_misses_are_fast() -> None:
    assert_fast_on_clean_text([n for n in NEGATIVES if "password" not in n.lower()])


def test_command_lines_inside_json_escaped_text() -> None:
    """A tool call's command, dumped as JSON: `\\n` between commands, `\\"` around values."""
    cmd = f'curl -u "admin:{PASSWORD}" https://x\nmysql -uroot -p{PASSWORD} db\ngcc -pthread a.c'
    out = default_redactor().redact_text(json.dumps({"cmd": cmd}))
    assert PASSWORD not in out
    assert json.loads(out)["cmd"] == (
        'curl -u "admin:[REDACTED:basic_auth]" https://x\nmysql -uroot -p[REDACTED:password] db\ngcc -pthread a.c'
    )


def test_option_passwords_stay_within_their_command() -> None:
    """`-p`/`-u` count only on the password client's own line, up to `|`, `;` or `&`."""
    r = default_redactor()
    for text in (
        "mysql -u root app < dump.sql\ngcc -pthread -o app main.c",
        "mysql -u root -e 'show tables' | grep -pattern",
        "curl -s https://x.example.com | sort -u a:b",
        "curl -s https://x.example.com\nsort -u a:b",
    ):
        assert r.redact_text(text) is text
    out = r.redact_text(f"cd /srv && mysql -uroot -p{PASSWORD} app; sshpass -p{PASSWORD} ssh host")
    assert out == "cd /srv && mysql -uroot -p[REDACTED:password] app; sshpass -p[REDACTED:password] ssh host"


def test_vendor_tokens_are_replaced_whole_and_only_when_not_glued() -> None:
    r = default_redactor()
    text = f"a={STRIPE_LIVE} b={STRIPE_RESTRICTED} c={ANTHROPIC_API} d={OPENAI_PROJ} e={GITLAB_PAT} f={GOOGLE_KEY}"
    assert r.redact_text(text) == (
        "a=[REDACTED:stripe] b=[REDACTED:stripe] c=[REDACTED:anthropic] d=[REDACTED:openai]"
        " e=[REDACTED:gitlab] f=[REDACTED:google_api_key]"
    )
    escaped = json.dumps({"log": f"key\n{STRIPE_TEST}\t{NPM_TOKEN}"})
    assert json.loads(r.redact_text(escaped))["log"] == "key\n[REDACTED:stripe]\t[REDACTED:npm]"
    for glued in ("x" + STRIPE_LIVE, "a" + NPM_TOKEN, "x" + GITLAB_PAT, "x" + GOOGLE_KEY, NPM_TOKEN + "x"):
        assert r.redact_text(glued) is glued, glued


def test_redact_obj_key_names_for_the_new_password_keys() -> None:
    obj = {
        "PGPASSWORD": PASSWORD,
        "MYSQL_PWD": PASSWORD,
        "keystorePassword": PASSPHRASE,
        "wifi_passphrase": PASSPHRASE,
        "OLDPWD": "/home/dev",
        "INIT_PWD": "/home/dev/src",
        "password": "Enter your password",
        "api_key": "Set OPENAI_API_KEY in the environment",
        "passwordHint": "first pet",
    }
    out = default_redactor().redact_obj(obj)
    for key in ("PGPASSWORD", "MYSQL_PWD", "keystorePassword", "wifi_passphrase"):
        assert out[key] == "[REDACTED:password]", key
    for key in ("OLDPWD", "INIT_PWD", "password", "api_key", "passwordHint"):
        assert out[key] is obj[key], key
