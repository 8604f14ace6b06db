"""The rendered book as a reader sees it: every page opened in headless Chromium, offline.

One browser session visits every page of the built book once (served from 127.0.0.1) and records
what a reader would meet; the tests below then check the record:

- no console error, no failed request, and no request to any host but this machine;
- math is typeset (MathJax ships inside the book, see _config.yml) and no raw ``\\(`` is left;
- every image loads and has a real alt text (book/_ext/figure_alt.py);
- notebook pages: a solution dropdown opens and closes on click, the exercise link opens the
  student version of the same notebook, and the page does not scroll sideways at 1280 px nor at
  a 390 px phone width (code blocks may scroll inside themselves);
- search finds "attention" and "classifier-free guidance";
- axe-core finds no serious or critical accessibility violation. Code blocks (input and output) are
  styled by one Pygments theme, the same on every page, and auditing them is most of axe's time
  (a notebook page has thousands of highlighted spans): they are audited in full on the book's
  pages and on the first notebook of each chapter; on the other notebook pages axe audits
  everything but them.

It also writes a screenshot of every chapter opener and notebook page, a page-weight table and
the axe results to ``_build/browser/`` (printed at the end of the run by .ci/run).

Needs Debian's ``chromium`` and ``chromium-driver``, the pip package ``selenium`` and axe-core's
``axe.min.js`` (``bash tests/browser/install_deps.sh`` installs all three). Without them the test
skips, unless GENAI_COURSE_REQUIRE_BROWSER=1 (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import json
import os
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from genai_course.course.setup_cell import repository_url, student_path

ROOT = Path(__file__).resolve().parents[1]
REPORT_DIR = ROOT / "_build" / "browser"
CHROMIUM = os.environ.get("GENAI_COURSE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("GENAI_COURSE_CHROMEDRIVER", "/usr/bin/chromedriver")
AXE_JS = Path(
    os.environ.get("GENAI_COURSE_AXE_JS", ROOT / "_build" / "axe-core" / "node_modules" / "axe-core" / "axe.min.js")
)
# Without the background-networking flags Chromium phones Google even in headless mode.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
]
DESKTOP, PHONE = (1280, 900), (390, 844)
MAX_PAGE_BYTES = 3_000_000
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# axe-core audits every page (a few seconds each); a regex here limits it to matching pages, e.g.
# GENAI_COURSE_AXE_PAGES='intro|ch01' for a quick look on a busy machine.
AXE_PAGES = re.compile(os.environ.get("GENAI_COURSE_AXE_PAGES", ".*"))
# axe rules switched off, each with the reason (the violation comes from the theme, not our pages):
AXE_DISABLED_RULES: dict[str, str] = {}
# pages whose code blocks axe also audits (see the module docstring)
AXE_CODE_PAGES = re.compile(r"^book/|^notebooks/\d\d_[^/]+/01_")
SEARCHES = {"attention": "notebooks/01_transformers/01_attention.html", "classifier-free guidance": "05_diffusion/"}


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the pip package selenium is not installed (pip install -e '.[test]')"
    for path, what in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver"), (AXE_JS, "axe-core (npm)")]:
        if not Path(path).is_file():
            return f"{path} not found: install {what} (bash tests/browser/install_deps.sh)"
    return None


def _require_browser():
    reason = _missing()
    if reason is None:
        return
    if os.environ.get("GENAI_COURSE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"GENAI_COURSE_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


# --- serving and driving -------------------------------------------------------------------------


COMPRESSIBLE = {".html", ".js", ".css", ".svg", ".json", ".txt", ".map"}


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the book as a static host such as GitHub Pages does: text compressed with gzip.

    ``served`` counts the bytes of every file before compression (the page weight uncompressed).
    """

    served: list[int] = []
    _gzipped: dict[Path, bytes] = {}

    def log_message(self, *args):
        pass

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.is_file():
            self.served.append(path.stat().st_size)
        if not (path.is_file() and path.suffix in COMPRESSIBLE and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().do_GET()
        if path not in self._gzipped:
            self._gzipped[path] = gzip.compress(path.read_bytes(), compresslevel=6)
        body = self._gzipped[path]
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _serve(directory: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def _driver(profile: Path):
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})  # page weight = full transfer
    # axe-core is present in every page from the start, without a request (it is not part of the book)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": AXE_JS.read_text(encoding="utf-8")})
    return driver


def _viewport(driver, size: tuple[int, int]) -> None:
    width, height = size
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def _network(driver) -> dict:
    """Requests since the last call, from the DevTools performance log."""
    urls, failed, sizes = {}, [], {}
    served, _Handler.served[:] = sum(_Handler.served), []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            failed.append(f"{params['response']['status']} {params['response']['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            failed.append(f"{params.get('errorText')} {urls.get(params['requestId'], '?')}")
        elif method == "Network.loadingFinished":
            sizes[params["requestId"]] = params.get("encodedDataLength", 0)
    ours = [size for rid, size in sizes.items() if urls.get(rid, "").startswith("http://127.0.0.1:")]
    return {"urls": sorted(set(urls.values())), "failed": failed, "bytes": int(sum(ours)), "raw_bytes": served}


# JavaScript run in each page. The last argument of an async script is its callback.
WAIT_FOR_PAGE = """
const done = arguments[arguments.length - 1];
const start = Date.now();
function mathReady() {
  const needs = document.querySelector('.math') !== null;
  if (!needs) return Promise.resolve();
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) return MathJax.startup.promise;
  if (Date.now() - start > 30000) return Promise.reject('MathJax never started');
  return new Promise(r => setTimeout(r, 100)).then(mathReady);
}
mathReady().then(() => {
  const imgs = [...document.images];
  imgs.forEach(i => { i.loading = 'eager'; });
  return Promise.all(imgs.map(i => i.decode().then(() => null, () => i.getAttribute('src'))));
}).then(bad => done({brokenImages: bad.filter(x => x)}), err => done({error: String(err)}));
"""

INSPECT_PAGE = """
const main = document.querySelector('main') || document.body;
const prose = main.cloneNode(true);
prose.querySelectorAll('pre, code, .highlight, script, style, mjx-container, textarea').forEach(e => e.remove());
const maths = [...document.querySelectorAll('span.math, div.math')];
return {
  title: document.title,
  mathElements: maths.length,
  untypeset: maths.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60)),
  typeset: document.querySelectorAll('mjx-container').length,
  mathErrors: [...document.querySelectorAll('mjx-merror')].map(e => e.getAttribute('data-mjx-error') || e.textContent.slice(0, 60)),
  rawTex: (prose.textContent.match(/\\\\\\(|\\\\\\[/g) || []).length,
  images: [...main.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'), alt: (i.getAttribute('alt') || '').trim(),
                                                      width: i.naturalWidth})),
  links: [...main.querySelectorAll('a[href]')].map(a => a.href),
  dropdowns: document.querySelectorAll('.solution.dropdown, div.dropdown.solution').length,
};
"""

# the elements that stick out of the page, outside any code block (for a helpful failure message)
HORIZONTAL_SCROLL = """
const width = document.documentElement.clientWidth;
const over = document.documentElement.scrollWidth - width;
const culprits = [];
if (over > 1) {
  for (const e of document.querySelectorAll('body *')) {
    if (e.closest('pre, .highlight, .cell_output, mjx-container, .math-wrapper, table')) continue;
    const r = e.getBoundingClientRect();
    if (r.right > width + 1 && r.width > 0) culprits.push(e.tagName.toLowerCase() + '.' + [...e.classList].join('.'));
    if (culprits.length >= 5) break;
  }
}
return {overflow: over, culprits: culprits};
"""

TOGGLE_SOLUTION = """
const done = arguments[arguments.length - 1];
const box = document.querySelector('.solution.dropdown, div.dropdown.solution');
const button = box.querySelector('button.toggle-button') || box.querySelector('.admonition-title, summary');
const body = () => [...box.children].find(c => !c.classList.contains('admonition-title') && c.tagName !== 'BUTTON');
const shown = () => { const b = body(); return !!b && b.getClientRects().length > 0 && getComputedStyle(b).visibility !== 'hidden'; };
const wait = () => new Promise(r => setTimeout(r, 400));
const states = [shown()];
box.scrollIntoView();
button.click();
wait().then(() => { states.push(shown()); button.click(); return wait(); })
      .then(() => { states.push(shown()); done(states); });
"""

AXE_RUN = """
const done = arguments[arguments.length - 1];
const rules = arguments[0];
const context = arguments[1] ? document : {exclude: [['div.highlight']]};
// preload: false, or axe fetches the theme's stylesheets itself and resolves their @import wrongly
axe.run(context, {resultTypes: ['violations'], rules: rules, preload: false})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
    message: v.nodes.slice(0, 1).flatMap(n => [...n.any, ...n.all, ...n.none].map(c => c.message)).join(' ')}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: 0, targets: []}]));
"""


def _pages(html: Path) -> list[str]:
    """Every page of the table of contents, as a path relative to the html folder."""
    import yaml

    def files(entries):
        for entry in entries:
            if "file" in entry:
                yield entry["file"]
            yield from files(entry.get("sections", []))

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"], *(f for part in toc["parts"] for f in files(part["chapters"]))]
    return [f"{name}.html" for name in names]


def _crawl(driver, base: str, pages: list[str]) -> dict:
    repo = repository_url(ROOT / "_config.yml").removeprefix("https://github.com/")
    shots = REPORT_DIR / "screenshots"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    rules = {rule: {"enabled": False} for rule in AXE_DISABLED_RULES}
    record = {}
    for page in pages:
        notebook = page.startswith("notebooks/")
        _viewport(driver, DESKTOP)
        driver.get_log("browser"), _network(driver)  # drop what came before
        driver.get(base + page)
        row = {
            "notebook": notebook,
            **driver.execute_async_script(WAIT_FOR_PAGE),
            **driver.execute_script(INSPECT_PAGE),
        }
        row["scroll_desktop"] = driver.execute_script(HORIZONTAL_SCROLL)
        if notebook or re.match(r"book/ch\d\d_", page):
            driver.save_screenshot(str(shots / (page.replace("/", "__").removesuffix(".html") + ".png")))
        row["axe_code"] = bool(AXE_CODE_PAGES.search(page))
        row["axe"] = driver.execute_async_script(AXE_RUN, rules, row["axe_code"]) if AXE_PAGES.search(page) else None
        if notebook:
            row["solution_states"] = driver.execute_async_script(TOGGLE_SOLUTION) if row["dropdowns"] else None
            student = student_path(page.removesuffix(".html") + ".ipynb")
            row["student_link"] = any(f"github/{repo}/blob/main/{student}" in link for link in row["links"])
            row["student_file"] = (ROOT / student).is_file()
            _viewport(driver, PHONE)
            row["scroll_phone"] = driver.execute_script(HORIZONTAL_SCROLL)
        row["console_errors"] = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        row["network"] = _network(driver)
        record[page] = row
    return record


def _search(driver, base: str, query: str) -> list[str]:
    from selenium.webdriver.support.ui import WebDriverWait

    _viewport(driver, DESKTOP)
    driver.get(f"{base}search.html?q={query.replace(' ', '+')}")
    finished = "return document.querySelectorAll('#search-results li').length > 0 || /Search finished|did not match/i.test(document.querySelector('#search-results')?.textContent || '')"  # noqa: E501
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(finished))
    return driver.execute_script("return [...document.querySelectorAll('#search-results li a')].map(a => a.href)")


def _write_report(record: dict, searches: dict, seconds: float) -> None:
    lines = ["| page | transfer, gzip (kB) | uncompressed (kB) | images |", "| --- | ---: | ---: | ---: |"]
    for page, row in record.items():
        net = row["network"]
        lines.append(f"| {page} | {net['bytes'] / 1000:.0f} | {net['raw_bytes'] / 1000:.0f} | {len(row['images'])} |")
    (REPORT_DIR / "page_weight.md").write_text("\n".join(lines) + "\n")
    axe = {page: row["axe"] for page, row in record.items()}
    (REPORT_DIR / "axe.json").write_text(json.dumps({"disabled_rules": AXE_DISABLED_RULES, "pages": axe}, indent=1))
    audited = [page for page, row in record.items() if row["axe"] is not None]
    with_code = [page for page in audited if record[page]["axe_code"]]
    summary = {
        "pages": len(record),
        "axe_pages": audited,
        "axe_pages_with_code_blocks": with_code,
        "seconds": round(seconds, 1),
        "searches": searches,
    }
    (REPORT_DIR / "summary.json").write_text(json.dumps(summary, indent=1))


def _visit(book_build, profile: Path) -> dict:
    assert book_build.returncode == 0, book_build.output[-4000:]
    server, base = _serve(book_build.html)
    driver = _driver(profile)
    try:
        start = time.perf_counter()
        record = _crawl(driver, base, _pages(book_build.html))
        searches = {query: _search(driver, base, query) for query in SEARCHES}
        _write_report(record, searches, time.perf_counter() - start)
    finally:
        driver.quit()
        server.shutdown()
    return {"pages": record, "searches": searches}


def _each_page(visit, check) -> list[str]:
    return [f"{page}: {problem}" for page, row in visit["pages"].items() for problem in check(page, row)]


# --- the checks: each returns a list of problems ---------------------------------------------------


def console_errors_and_failed_requests(visit) -> list[str]:
    return _each_page(
        visit, lambda p, r: r["console_errors"] + r["network"]["failed"] + ([r["error"]] if r.get("error") else [])
    )


def requests_off_the_machine(visit) -> list[str]:
    def foreign(page, row):
        for url in row["network"]["urls"]:
            parsed = urlparse(url)
            if parsed.scheme in {"http", "https", "ws", "wss"} and parsed.hostname not in LOCAL_HOSTS:
                yield f"requested {url}"

    recorded = sum(len(r["network"]["urls"]) for r in visit["pages"].values())
    return _each_page(visit, foreign) + ([] if recorded > len(visit["pages"]) else ["no request recorded at all"])


def math_not_typeset(visit) -> list[str]:
    def raw(page, row):
        if row["untypeset"]:
            yield f"{len(row['untypeset'])} math elements not typeset, e.g. {row['untypeset'][0]!r}"
        if row["rawTex"]:
            yield f"{row['rawTex']} raw \\( or \\[ left in the text"
        if row["mathErrors"]:  # MathJax draws TeX it cannot parse in red on yellow
            yield f"{len(row['mathErrors'])} equations MathJax could not parse, e.g. {row['mathErrors'][0]!r}"
        if row["mathElements"] and not row["typeset"]:
            yield "math on the page but no MathJax output"

    with_math = [p for p, r in visit["pages"].items() if r["typeset"]]
    return _each_page(visit, raw) + ([] if len(with_math) >= 10 else [f"only {len(with_math)} pages show math"])


def images_broken_or_without_alt(visit) -> list[str]:
    def images(page, row):
        yield from (f"image did not load: {src}" for src in row["brokenImages"])
        for image in row["images"]:
            if not image["alt"] or re.search(r"\.(png|jpe?g|gif|svg)$", image["alt"]):
                yield f"image without alt text: {image['src']}"

    count = sum(len(r["images"]) for r in visit["pages"].values())
    return _each_page(visit, images) + ([] if count >= 20 else [f"only {count} images in the book"])


def solution_dropdowns_that_do_not_toggle(visit) -> list[str]:
    tried = {p: r["solution_states"] for p, r in visit["pages"].items() if r.get("solution_states") is not None}
    bad = [
        f"{p}: solution shown/hidden {s} on load, click, click" for p, s in tried.items() if s != [False, True, False]
    ]
    return bad + ([] if len(tried) >= 10 else [f"only {len(tried)} notebook pages have a solution dropdown"])


def exercise_links_not_to_student_version(visit) -> list[str]:
    notebooks = {p: r for p, r in visit["pages"].items() if r["notebook"]}
    bad = [
        f"{p}: no link to its student/ version (or the file is missing)"
        for p, r in notebooks.items()
        if not (r["student_link"] and r["student_file"])
    ]
    expected = len(list((ROOT / "notebooks").rglob("*.ipynb")))
    return bad + ([] if len(notebooks) == expected else [f"{len(notebooks)} notebook pages, {expected} notebooks"])


def horizontal_scroll(visit) -> list[str]:
    def scroll(page, row):
        for width in ("desktop", "phone"):
            measured = row.get(f"scroll_{width}")
            if row["notebook"] and measured["overflow"] > 1:
                yield f"{width}: {measured['overflow']} px too wide, because of {measured['culprits']}"

    return _each_page(visit, scroll)


def searches_that_miss(visit) -> list[str]:
    return [
        f"search for {q!r} did not find {SEARCHES[q]}: {hits[:5]}"
        for q, hits in visit["searches"].items()
        if not any(SEARCHES[q] in hit for hit in hits)
    ]


def serious_accessibility_violations(visit) -> list[str]:
    def serious(page, row):
        for v in row["axe"] or []:
            if v["impact"] in {"serious", "critical"}:
                yield f"{v['impact']} {v['id']} ({v['help']}) on {v['nodes']} elements, e.g. {v['targets']}: {v['message']}"

    audited = [page for page, row in visit["pages"].items() if row["axe"] is not None]
    chapters = {page.split("/")[1] for page in audited if page.startswith("notebooks/")}
    with_code = {
        page.split("/")[1] for page in audited if page.startswith("notebooks/") and visit["pages"][page]["axe_code"]
    }
    missing = [f"no notebook of {chapter} had its code blocks audited" for chapter in sorted(chapters - with_code)]
    return missing + _each_page(visit, serious)


def pages_over_3_mb(visit) -> list[str]:
    return _each_page(
        visit, lambda p, r: [f"{r['network']['bytes']} bytes"] if r["network"]["bytes"] > MAX_PAGE_BYTES else []
    )


CHECKS = [
    console_errors_and_failed_requests,
    requests_off_the_machine,
    math_not_typeset,
    images_broken_or_without_alt,
    solution_dropdowns_that_do_not_toggle,
    exercise_links_not_to_student_version,
    horizontal_scroll,
    searches_that_miss,
    serious_accessibility_violations,
    pages_over_3_mb,
]


@pytest.mark.slow
def test_the_book_in_a_browser(request, tmp_path):
    """One test, so that pytest-xdist never splits the crawl over two workers (it would run it twice)."""
    _require_browser()  # before building the book: without a browser there is nothing to look with
    visit = _visit(request.getfixturevalue("book_build"), tmp_path / "chromium-profile")
    print(f"screenshots, page weights and axe results: {REPORT_DIR}")
    report = []
    for check in CHECKS:
        problems = check(visit)
        report += [f"== {check.__name__}: {len(problems)}", *problems[:15]] if problems else []
    assert not report, "\n".join(report)
