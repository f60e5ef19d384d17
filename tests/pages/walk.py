"""A walk through the portal in a real browser, as one person, at one screen width.

Pages are discovered, not listed: the person's menu (sesame.registry), every route of the URL
configuration that takes no parameter, then every link of the site found on each page visited
(objects' detail pages come from the list pages). A page added later by any app is walked
without editing this file. At most PER_ROUTE addresses of one route are opened in the browser;
every address found is kept (the cross-access checks re-open all of them).

On each page: no console error (a CSP violation is one), no 5xx of the page or of any request
it makes, no axe-core violation of impact serious or critical (WCAG 2.1 A and AA rules), and on
French pages no raw code or missing space before a colon. At 390 px, nothing wider than the
screen.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from tests.pages.browser import Console

PER_ROUTE = 2
MAX_PAGES = 120
# Not the portal's pages: the admin (Django's), the API and its docs (tests/pages/
# test_api_docs.py), static files, live streams, the language switch (a POST).
EXCLUDED = ("/admin/", "/api/", "/static/", "/streams/", "/i18n/", "/health/")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SERIOUS = {"serious", "critical"}
# Raw codes: snake_case words (non_compliant, accepted_with_control) or an API key's trace.
RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b|api-key:")
# French typography: a space (or a non-breaking one) before ":" — "Résultat : conforme".
COLON_WITHOUT_SPACE = re.compile(r"[A-Za-zÀ-ÿ)»]:(?=\s|$)")
# RGAA 10: no long text in capitals (DSFR badges are; sesame.css sets them in sentence case).
CAPITALS = """() => Array.from(document.querySelectorAll("body *"))
  .filter(e => getComputedStyle(e).textTransform === "uppercase" && e.offsetParent !== null
    && e.innerText.trim().length > 20)
  .map(e => e.innerText.trim())"""
# DSFR's script sets up its components after the page's load (the header menu drops its
# aria-labelledby on a desktop, where it is no dialog): wait for it before judging the page.
DSFR_READY = """async () => {
  const pending = () => document.querySelectorAll(
    ".fr-header__menu:not([data-fr-js-header-modal]), .fr-modal:not([data-fr-js-modal])").length;
  const until = Date.now() + 5000;
  while (pending() && Date.now() < until) { await new Promise(r => setTimeout(r, 50)); }
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return pending();
}"""
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def parameterless_paths() -> list[str]:
    """Every path of the URL configuration that takes no parameter, outside EXCLUDED."""
    found: list[str] = []

    def walk(patterns: list[Any], prefix: str) -> None:
        for entry in patterns:
            route = str(entry.pattern)
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + route)
            elif isinstance(entry, URLPattern) and "<" not in route and "^" not in route:
                path = "/" + prefix + route
                if not path.startswith(EXCLUDED) and path not in found:
                    found.append(path)

    walk(get_resolver().url_patterns, "")
    return found


def route_of(path: str) -> tuple[str, bool] | None:
    """(the route's name, whether it names an object) of a path of the site, None if unknown."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name or match.route, bool(match.kwargs)


@dataclass
class Walk:
    """What one person saw at one width."""

    visited: list[str] = field(default_factory=list)
    own: list[str] = field(default_factory=list)  # visited pages of theirs: home, menu, links
    found: set[str] = field(default_factory=set)  # every address of the site linked to them
    problems: list[str] = field(default_factory=list)

    def object_paths(self) -> set[str]:
        """Addresses of objects (routes with parameters) this person was shown."""
        return {path for path in self.found if (route := route_of(path)) and route[1]}


class Walker:
    def __init__(self, context: Any, base: str, axe: Path, *, french: bool, width: int) -> None:
        self.context = context
        self.base = base.rstrip("/")
        self.axe_source = axe.read_text()
        self.french = french
        self.width = width
        self.console = Console(context)
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)

    def walk(self, start: list[str], routes: list[str]) -> Walk:
        """Walk from ``start`` (the person's home and menu: they must open) and ``routes`` (every
        parameterless route: they may be error pages), following the links of each page."""
        result = Walk()
        queue: deque[tuple[str, bool]] = deque()  # (path, linked from a page of the site)
        per_route: dict[str, int] = {}
        seen: set[str] = set()

        def offer(path: str, linked: bool) -> None:
            if path in seen or path.startswith(EXCLUDED):
                return
            route = route_of(path.split("?")[0])
            if route is None:
                return
            seen.add(path)
            result.found.add(path)
            if per_route.get(route[0], 0) < PER_ROUTE:
                per_route[route[0]] = per_route.get(route[0], 0) + 1
                queue.append((path, linked))

        for path in start:
            offer(path, True)
        for path in routes:
            offer(path, False)
        while queue and len(result.visited) < MAX_PAGES:
            path, linked = queue.popleft()
            if linked:
                result.own.append(path)
            for link in self.visit(path, result, linked=linked):
                offer(link, True)
        return result

    def revisit(self, paths: list[str]) -> Walk:
        """Open these pages again (another width), without looking for more."""
        result = Walk()
        for path in paths:
            self.visit(path, result, linked=True)
        return result

    def visit(self, path: str, result: Walk, *, linked: bool) -> list[str]:
        """Open ``path``, check it, and return the site's links it shows. A page linked from
        another must open (a 4xx is a broken link); a route tried on its own may be an error
        page (a POST-only address, another role's page): then it is checked as a page."""
        result.visited.append(path)
        where = f"[{self.width}px] {path}"
        try:
            response = self.page.goto(self.base + path, wait_until="load")
        except Exception as exc:  # a download is not a page: its status is checked instead
            if "Download is starting" not in str(exc):
                raise
            status = self.context.request.get(self.base + path).status
            if status >= 500 or (linked and status >= 400):
                result.problems.append(f"{where}: {status}")
            return []
        if response is None:
            return []
        if response.status >= 500 or (linked and response.status >= 400):
            result.problems.append(f"{where}: {response.status}")
        document = response.url
        if "text/html" not in (response.headers.get("content-type") or ""):
            self.report(where, result, document)
            return []
        self.check_page(where, result, document)
        return self.links()

    def check_page(self, where: str, result: Walk, document: str) -> None:
        page = self.page
        if page.evaluate(DSFR_READY):
            result.problems.append(f"{where}: DSFR's components not set up after 5 s")
        page.evaluate(self.axe_source)  # through DevTools: the page's CSP still applies to it
        for violation in page.evaluate(AXE_RUN, AXE_TAGS):
            if violation["impact"] in SERIOUS:
                result.problems.append(
                    f"{where}: axe {violation['impact']} {violation['id']} "
                    f"({violation['help']}) at {violation['targets']}"
                )
        for capitals in page.evaluate(CAPITALS):
            result.problems.append(f"{where}: long text in capitals: {capitals!r}")
        text = page.inner_text("body")
        if self.french and page.get_attribute("html", "lang") == "fr":
            for code in sorted(set(RAW_CODE.findall(text))):
                result.problems.append(f"{where}: raw code on a French page: {code!r}")
            for context in COLON_WITHOUT_SPACE.finditer(text):
                snippet = text[max(0, context.start() - 25) : context.end() + 10]
                result.problems.append(f"{where}: no space before ':' in {snippet!r}")
        if self.width < 500:
            wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if wide > 1:
                result.problems.append(f"{where}: {wide}px wider than the screen")
        self.report(where, result, document)

    def report(self, where: str, result: Walk, document: str) -> None:
        """Console problems of the page; the browser's own line about an error page's status
        is no problem when that page was opened on purpose (its status is checked above)."""
        own_status = "the server responded with a status of 4"
        result.problems += [
            f"{where}: {problem}"
            for problem in self.console.take()
            if not (own_status in problem and problem.endswith(f"({document})"))
        ]

    def links(self) -> list[str]:
        hrefs = self.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        found = []
        for href in hrefs:
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != self.base or not parts.path:
                continue
            found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
        return found

    def open_menu(self) -> list[str]:
        """At a phone's width: the menu button shows the header's tools. What is missing."""
        page = self.page
        page.goto(self.base + "/dashboard/")
        button = page.get_by_test_id("menu-button")
        if not button.is_visible():
            return ["the menu button is not shown"]
        button.click()
        menu = page.locator("#header-menu")
        menu.wait_for(state="visible")
        missing = []
        # DSFR's copy of the tools into the menu suffixes every id-like attribute with -mobile.
        for name, selector in [
            ("sign out", "[data-testid=logout-mobile]"),
            ("language", "[data-testid=lang-switch-mobile]"),
            ("notifications", "[data-testid=inbox-link-mobile]"),
            ("account", "[data-testid=account-link-mobile]"),
        ]:
            if not menu.locator(selector).first.is_visible():
                missing.append(f"{name} not in the open menu")
        return missing + [f"[menu] {problem}" for problem in self.console.take()]
