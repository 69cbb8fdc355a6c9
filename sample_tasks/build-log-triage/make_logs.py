"""Generate the build-log-triage inputs: CI job logs from seven fictional pipelines.

Stdlib only, seeded and deterministic: re-running gives byte-identical logs. The logs are committed;
run this only to change them:

    python sample_tasks/build-log-triage/make_logs.py [OUTDIR]

Planted recurring failures (each in several logs and pipelines), plus one-off noise and passing runs:
  timeout   dependency download from artifacts.build.example.net times out (pip, npm, gradle)
  oom       test runner killed by the OOM killer, exit code 137 (gradle test executor, pytest-xdist)
  lint      ruff UP017 after the shared lint config moved to ci-templates v42
  env       release step fails: SENTRY_AUTH_TOKEN missing (sourcemap / debug-file upload)
  snapshot  jest snapshot mismatch in price formatting from the shared @larkspur/ui-money package
"""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

SEED = 20250514
MIRROR = "artifacts.build.example.net"

PIPELINES = {
    "web-frontend": "node",
    "mobile-bff": "node",
    "payments-api": "python",
    "data-pipeline": "python",
    "notifications-worker": "python",
    "search-indexer": "java",
    "auth-service": "go",
}

IMAGES = {
    "node": "node:22.12-bookworm",
    "python": "python:3.12-slim",
    "java": "eclipse-temurin:21-jdk",
    "go": "golang:1.23",
}

STEPS = {
    "node": ["install", "lint", "test", "build", "release"],
    "python": ["install", "lint", "test", "build"],
    "java": ["gradle"],
    "go": ["install", "test", "build", "release"],
}

# (pipeline, outcome); the order here does not leak into file names or timestamps.
_PLAN_TEXT = """
    payments-api:timeout data-pipeline:timeout web-frontend:timeout mobile-bff:timeout
    search-indexer:timeout search-indexer:oom search-indexer:oom data-pipeline:oom data-pipeline:oom
    payments-api:lint data-pipeline:lint notifications-worker:lint notifications-worker:lint
    web-frontend:env mobile-bff:env mobile-bff:env auth-service:env
    web-frontend:snapshot web-frontend:snapshot mobile-bff:snapshot
    payments-api:assertion auth-service:disk search-indexer:cancelled notifications-worker:ratelimit
    web-frontend:pass mobile-bff:pass payments-api:pass data-pipeline:pass search-indexer:pass
    auth-service:pass auth-service:pass notifications-worker:pass
"""
PLAN: list[tuple[str, str]] = [(p, o) for p, _, o in (item.partition(":") for item in _PLAN_TEXT.split())]

PY_PACKAGES = ["fastapi==0.115.2", "pydantic==2.9.2", "sqlalchemy==2.0.36", "numpy==2.1.3", "httpx==0.27.2"]


class Log:
    """Collects lines with a running UTC timestamp prefix."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.now = start
        self.lines: list[str] = []

    def emit(self, text: str, gap: tuple[float, float] = (0.0, 1.5)) -> None:
        self.now += timedelta(seconds=round(self.rng.uniform(*gap), 3))
        stamp = self.now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{self.now.microsecond // 1000:03d}Z"
        for line in text.split("\n"):
            self.lines.append(f"{stamp} {line}" if line else stamp)

    def block(self, lines: list[str], gap: tuple[float, float] = (0.0, 0.8)) -> None:
        """Lines printed together: `gap` before the first, a few milliseconds between the rest."""
        for i, line in enumerate(lines):
            self.emit(line, gap if i == 0 else (0.0, 0.05))


def step_install(log: Log, lang: str, outcome: str) -> int | None:
    fail = outcome == "timeout"
    if lang == "python":
        log.emit(f"$ pip install -r requirements.txt --index-url https://{MIRROR}/pypi/simple")
        for pkg in PY_PACKAGES[:3] if fail else PY_PACKAGES:
            name, version = pkg.split("==")
            log.emit(f"Collecting {pkg}")
            log.emit(
                f"  Downloading https://{MIRROR}/pypi/packages/{name}-{version}-py3-none-any.whl "
                f"({log.rng.randint(40, 900)} kB)",
                (0.2, 3.0),
            )
        if fail:
            log.emit("Collecting numpy==2.1.3")
            for left in range(4, -1, -1):
                log.emit(
                    f"WARNING: Retrying (Retry(total={left}, connect=None, read=None, redirect=None, "
                    "status=None)) after connection broken by 'ReadTimeoutError(\"HTTPSConnectionPool("
                    f"host='{MIRROR}', port=443): Read timed out. (read timeout=15)\")': "
                    "/pypi/simple/numpy/",
                    (15.0, 16.0),
                )
            log.emit(
                "ERROR: Exception:\nTraceback (most recent call last):\n  ...\n"
                "pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool("
                f"host='{MIRROR}', port=443): Read timed out.",
                (15.0, 16.0),
            )
            return 2
        log.emit("Successfully installed " + " ".join(p.replace("==", "-") for p in PY_PACKAGES), (1, 4))
        return None
    if lang == "node":
        log.emit(f"$ npm ci --registry https://{MIRROR}/npm/")
        log.emit("npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.")
        log.emit("npm WARN deprecated glob@7.2.3: Glob versions prior to v9 are no longer supported")
        if fail:
            log.block(
                [
                    "npm ERR! code ETIMEDOUT",
                    "npm ERR! errno ETIMEDOUT",
                    f"npm ERR! network request to https://{MIRROR}/npm/@babel%2fcore failed, "
                    "reason: ETIMEDOUT",
                    "npm ERR! network This is a problem related to network connectivity.",
                    "npm ERR! network In most cases you are behind a proxy or have bad network settings.",
                    "npm ERR! A complete log of this run can be found in: /root/.npm/_logs/debug-0.log",
                ],
                (30.0, 31.0),
            )
            return 1
        n = log.rng.randint(900, 1500)
        log.emit(f"added {n} packages, and audited {n + 1} packages in {log.rng.randint(20, 60)}s", (20, 60))
        log.emit("found 0 vulnerabilities")
        return None
    log.emit(f"$ GOPROXY=https://{MIRROR}/goproxy go mod download")
    log.emit("go: downloading github.com/golang-jwt/jwt/v5 v5.2.1", (0.5, 3.0))
    log.emit("go: downloading github.com/jackc/pgx/v5 v5.7.1", (0.5, 3.0))
    return None


def step_lint(log: Log, lang: str, outcome: str, pipeline: str) -> int | None:
    if lang == "node":
        log.emit("$ npx eslint . --max-warnings 0", (1, 3))
        log.emit("$ npx tsc --noEmit", (5, 20))
        return None
    log.emit("Using shared lint config ci-templates/python/ruff.toml@v42 (ruff 0.8.0)")
    log.emit("$ ruff check .")
    if outcome != "lint":
        log.emit("All checks passed!", (1, 4))
        return None
    module = pipeline.replace("-", "_")
    files = [f"src/{module}/clock.py", f"src/{module}/jobs/scheduler.py", f"tests/test_{module}_time.py"]
    count = log.rng.randint(2, 6)
    for i in range(count):
        path = files[i % len(files)]
        log.emit(
            f"{path}:{log.rng.randint(3, 180)}:{log.rng.randint(20, 60)}: UP017 [*] Use `datetime.UTC` alias",
            (0.0, 0.1),
        )
    log.emit(f"Found {count} errors.\n[*] {count} fixable with the `--fix` option.")
    return 1


def step_test(log: Log, lang: str, outcome: str, pipeline: str) -> int | None:
    rng = log.rng
    if lang == "node":
        log.emit("$ npx jest --ci --maxWorkers=2")
        suites = rng.randint(60, 95)
        if outcome == "snapshot":
            component = "CheckoutSummary" if pipeline == "web-frontend" else "PriceLine"
            log.block(
                [
                    f"FAIL src/components/{component}.test.tsx",
                    f"  ● {component} › renders totals",
                    "",
                    "    expect(received).toMatchSnapshot()",
                    "",
                    f"    Snapshot name: `{component} renders totals 1`",
                    "",
                    "    - Snapshot  - 1",
                    "    + Received  + 1",
                    "",
                    '    -   <span class="price">€1,234.50</span>',
                    '    +   <span class="price">€\u202f1,234.50</span>',
                    "",
                    "      at Object.toMatchSnapshot (node_modules/@larkspur/ui-money/test-utils.js:41:18)",
                    "",
                    " › 1 snapshot failed.",
                    "Snapshot Summary",
                    " › 1 snapshot failed from 1 test suite. Inspect your code changes or run "
                    "`npm test -- -u` to update them.",
                    "",
                    f"Test Suites: 1 failed, {suites - 1} passed, {suites} total",
                    f"Tests:       1 failed, {suites * 7} passed, {suites * 7 + 1} total",
                    "Snapshots:   1 failed, 212 passed, 213 total",
                ],
                (0.0, 0.3),
            )
            return 1
        log.emit(
            f"Test Suites: {suites} passed, {suites} total\nTests:       {suites * 7} passed, "
            f"{suites * 7} total\nSnapshots:   213 passed, 213 total",
            (40, 90),
        )
        return None
    if lang == "go":
        log.emit("$ go test -race ./...")
        for pkg in ["internal/token", "internal/session", "internal/store", "cmd/authd"]:
            log.emit(f"ok  \tgithub.com/larkspur/auth-service/{pkg}\t{rng.uniform(0.2, 3.0):.3f}s", (1, 6))
        return None
    log.emit("$ pytest -q -n 4 --dist loadscope")
    log.emit(f"4 workers [{rng.randint(300, 700)} items]", (2, 5))
    if outcome == "oom":
        log.emit("........................................................................ [ 18%]", (20, 40))
        log.block(
            [
                "[gw2] node down: Not properly terminated",
                "F",
                "replacing crashed worker gw2",
                "worker 'gw2' crashed while running 'tests/test_backfill.py::test_backfill_full_month'",
                "Killed",
            ],
            (5, 30),
        )
        return 137
    if outcome == "assertion":
        log.block(
            [
                "..........................................F............................. [ 64%]",
                "=================================== FAILURES ===================================",
                "_________________________ test_partial_refund_rounding _________________________",
                "",
                "    def test_partial_refund_rounding():",
                "        refund = compute_refund(Decimal('19.99'), ratio=Decimal('0.3333'))",
                ">       assert refund == Decimal('6.66')",
                "E       AssertionError: assert Decimal('6.67') == Decimal('6.66')",
                "",
                "tests/test_refunds.py:88: AssertionError",
                "FAILED tests/test_refunds.py::test_partial_refund_rounding - AssertionError",
                f"1 failed, {rng.randint(400, 450)} passed, 2 skipped in {rng.uniform(40, 70):.2f}s",
            ],
            (0.0, 2.0),
        )
        return 1
    log.emit(
        f"{rng.randint(300, 700)} passed, {rng.randint(0, 5)} skipped, 3 warnings in "
        f"{rng.uniform(30, 90):.2f}s",
        (30, 90),
    )
    log.emit("DeprecationWarning: datetime.datetime.utcnow() is deprecated and scheduled for removal")
    return None


def step_gradle(log: Log, outcome: str) -> int | None:
    log.emit("$ ./gradlew build --no-daemon --max-workers=2")
    log.emit("Starting a Gradle Daemon (subsequent builds will be faster)", (2, 5))
    if outcome == "timeout":
        coord = "org/apache/lucene/lucene-core/9.12.0/lucene-core-9.12.0.pom"
        log.block(
            [
                "> Task :indexer-core:compileJava FAILED",
                "",
                "FAILURE: Build failed with an exception.",
                "",
                "* What went wrong:",
                "Execution failed for task ':indexer-core:compileJava'.",
                "> Could not resolve all files for configuration ':indexer-core:compileClasspath'.",
                "   > Could not resolve org.apache.lucene:lucene-core:9.12.0.",
                f"      > Could not get resource 'https://{MIRROR}/maven2/{coord}'.",
                f"         > Could not GET 'https://{MIRROR}/maven2/{coord}'.",
                "            > Read timed out",
                "",
                "BUILD FAILED in 2m 14s",
            ],
            (30, 45),
        )
        return 1
    for task in ["indexer-core:compileJava", "indexer-core:processResources", "indexer-core:classes"]:
        log.emit(f"> Task :{task}", (2, 20))
    log.emit("> Task :indexer-core:test", (2, 5))
    if outcome == "cancelled":
        log.emit("ShardRouterTest > routesByTenant() STARTED", (20, 40))
        log.emit("Received SIGTERM, stopping build", (20, 40))
        return 130
    if outcome == "oom":
        log.block(
            [
                "IndexMergeIT > mergesLargeSegments() STARTED",
                "Process 'Gradle Test Executor 3' finished with non-zero exit value 137",
                "This problem might be caused by incorrect test process configuration.",
                "",
                "FAILURE: Build failed with an exception.",
                "* What went wrong:",
                "Execution failed for task ':indexer-core:test'.",
                "> Process 'Gradle Test Executor 3' finished with non-zero exit value 137",
            ],
            (10, 40),
        )
        return 137
    log.emit(f"{log.rng.randint(800, 1200)} tests completed, 0 failed, 4 skipped", (60, 120))
    log.emit(
        "> Task :indexer-core:jar\n> Task :build\n\nBUILD SUCCESSFUL in 6m 41s\n9 actionable tasks: "
        "9 executed"
    )
    return None


def step_build(log: Log, lang: str, outcome: str, pipeline: str) -> int | None:
    if lang == "node":
        log.emit("$ npm run build\nvite v5.4.11 building for production...")
        log.emit(
            f"✓ {log.rng.randint(1500, 2600)} modules transformed.\n✓ built in "
            f"{log.rng.uniform(15, 40):.2f}s",
            (15, 40),
        )
        return None
    image = f"registry.build.example.net/{pipeline}:{log.rng.getrandbits(28):07x}"
    log.emit(f"$ docker build -t {image} .")
    log.emit("#5 [build 2/6] COPY . .", (1, 5))
    if outcome == "disk":
        log.emit("#7 [build 4/6] RUN go build -o /out/authd ./cmd/authd", (5, 20))
        log.emit(
            "#7 ERROR: failed to copy files: write /var/lib/docker/overlay2/3c1f/diff/out/authd: "
            "no space left on device",
            (20, 40),
        )
        return 1
    log.emit(f"#9 exporting to image\n#9 naming to {image} done", (10, 40))
    return None


def step_release(log: Log, lang: str, outcome: str, pipeline: str) -> int | None:
    if lang == "node":
        log.emit("$ ./scripts/upload-sourcemaps.sh")
    else:
        log.emit("$ goreleaser release --clean && ./scripts/upload-debug-files.sh")
        log.emit("  • building binaries      target=linux_amd64", (2, 10))
    if outcome == "env":
        log.emit("Missing required environment variable: SENTRY_AUTH_TOKEN", (0.5, 2))
        log.emit(
            "error: Auth token is required for this request. Please run `sentry-cli login` and try again!"
        )
        return 1
    log.emit(f"> Uploaded {log.rng.randint(80, 300)} files to Sentry release {pipeline}@2025.05", (2, 10))
    return None


def render(pipeline: str, outcome: str, build: int, start: datetime, rng: random.Random) -> str:
    lang = PIPELINES[pipeline]
    log = Log(rng, start)
    sha = f"{rng.getrandbits(40):010x}"
    memory = "4Gi" if lang in ("java", "python") else "2Gi"
    log.emit(f"Running with ci-runner 17.5.2 on k8s-runner-{rng.randint(1, 12):02d}")
    log.emit(f"Pipeline {pipeline} #{build}  job: ci  ref: main  commit: {sha}")
    log.emit(f"Resources: cpu=2 memory={memory}")
    log.emit(f"Pulling image {IMAGES[lang]} ...", (0.5, 2))
    if outcome == "ratelimit":
        log.emit(
            f'ERROR: Job failed: failed to pull image "{IMAGES[lang]}": toomanyrequests: You have '
            "reached your pull rate limit. You may increase the limit by authenticating and "
            "upgrading: https://www.docker.com/increase-rate-limit",
            (5, 10),
        )
        return "\n".join(log.lines) + "\n"
    log.emit(
        f"Fetching changes with git depth set to 20...\nChecking out {sha[:8]} as detached HEAD "
        "(ref is main)...",
        (1, 3),
    )
    code: int | None = None
    for step in STEPS[lang]:
        if step == "install":
            code = step_install(log, lang, outcome)
        elif step == "lint":
            code = step_lint(log, lang, outcome, pipeline)
        elif step == "test":
            code = step_test(log, lang, outcome, pipeline)
        elif step == "gradle":
            code = step_gradle(log, outcome)
        elif step == "build":
            code = step_build(log, lang, outcome, pipeline)
        else:
            code = step_release(log, lang, outcome, pipeline)
        if code is not None:
            break
    if code is None:
        log.emit("Cleaning up project directory and file based variables\nJob succeeded")
    elif code == 130:
        log.emit(f"ERROR: Job failed: canceled by user r.okafor (pipeline superseded by #{build + 1})")
    elif code == 137:
        log.emit("ERROR: Job failed: command terminated with exit code 137 (OOMKilled)")
    else:
        log.emit(f"ERROR: Job failed: command terminated with exit code {code}")
    return "\n".join(log.lines) + "\n"


def generate() -> dict[str, str]:
    rng = random.Random(SEED)
    order = list(range(len(PLAN)))
    rng.shuffle(order)  # interleave outcomes over time
    next_build = {p: rng.randint(1200, 9800) for p in PIPELINES}
    t = datetime(2025, 5, 12, 7, 0, tzinfo=UTC)
    logs: dict[str, str] = {}
    for index in order:
        pipeline, outcome = PLAN[index]
        next_build[pipeline] += rng.randint(1, 9)
        t += timedelta(minutes=rng.randint(20, 200))
        build = next_build[pipeline]
        logs[f"{pipeline}-{build}.log"] = render(pipeline, outcome, build, t, rng)
    return logs


def main(argv: list[str]) -> int:
    outdir = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent / "logs"
    outdir.mkdir(parents=True, exist_ok=True)
    logs = generate()
    for name, text in sorted(logs.items()):
        (outdir / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(logs)} logs to {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
