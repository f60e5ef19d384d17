"""What a page must not do in the browser: log a console error, break the Content-Security-
Policy, fail a request of its own with a 5xx. Shared by the browser tests of every app."""

from __future__ import annotations

from typing import Any

# Reported by the page itself: every CSP violation, whatever the console says about it.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at "
    + e.sourceFile + ":" + e.lineNumber);
});
"""


class Console:
    """Collects console errors, uncaught exceptions, CSP violations and 5xx answers of a page
    (or of every page of a context) from the moment it is created."""

    def __init__(self, target: Any) -> None:
        self.errors: list[str] = []
        target.add_init_script(CSP_LISTENER)
        target.on("console", self._console)
        target.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        target.on("response", self._response)
        self.pages: list[Any] = []
        if hasattr(target, "pages"):  # a context: its pages, present and future
            target.on("page", lambda page: self.pages.append(page))
        else:
            self.pages.append(target)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    def _response(self, response: Any) -> None:
        if response.status >= 500:
            self.errors.append(f"{response.status} from {response.url}")

    def violations(self) -> list[str]:
        found: list[str] = []
        for page in self.pages:
            if not page.is_closed():
                found += page.evaluate("window.__cspViolations || []")
        return found

    def take(self) -> list[str]:
        """What was collected since the last call (CSP violations of the open pages included)."""
        found = self.errors + [f"CSP: {v}" for v in self.violations()]
        self.errors = []
        for page in self.pages:
            if not page.is_closed():
                page.evaluate("window.__cspViolations = []")
        return found

    def assert_clean(self) -> None:
        found = self.take()
        assert found == [], "\n".join(found)
