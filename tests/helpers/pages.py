"""What every console page must pass in a browser: it fits the window, logs no error, and
shows labels rather than stored codes. A new page is checked by being reachable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, ConsoleMessage, Page

from cxloop import i18n
from cxloop.web.labels import LABELS
from tests.helpers.console import PASSWORD

WIDTHS = (1400, 390)

# Codes that read as code wherever they appear: snake_case values and Segment event names
# (their labels differ), and MIME encoded words.
RAW_CODES = sorted(
    {
        code
        for values in LABELS.values()
        for code, text in values.items()
        if ("_" in code or " " in code) and code != text
    }
)
# English labels of several words, which a French page shows translated.
ENGLISH = sorted(
    {
        text
        for values in LABELS.values()
        for text in values.values()
        if " " in text and i18n.translations("fr").ugettext(text) != text
    }
)
UNTRANSLATED = re.compile("|".join(rf"(?<![\w-]){re.escape(text)}(?![\w-])" for text in ENGLISH))
WORDS = "|".join(rf"(?<![\w-]){re.escape(code)}(?![\w-])" for code in RAW_CODES)
RAW = re.compile(r"=\?[\w-]+\?[qQbB]\?|" + WORDS)

# The page's visible text, less what is meant to show code (keys, YAML, a message's source)
# and what people wrote: names and comments, marked translate="no".
VISIBLE_TEXT = """() => {
  const main = document.querySelector('main').cloneNode(true);
  const meant = 'code, pre, textarea, script, template, [translate=no]';
  main.querySelectorAll(meant).forEach(e => e.remove());
  document.body.appendChild(main);
  main.style.position = 'absolute';
  const text = main.innerText;
  main.remove();
  return text;
}"""

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  if (document.documentElement.scrollWidth > width) {
    for (const e of document.querySelectorAll('body *')) {
      const box = e.getBoundingClientRect();
      if (box.right > width && box.width > 0) {
        const name = e.tagName.toLowerCase() + (e.className ? '.' + e.className : '');
        wide.push(name + ' ' + Math.round(box.right));
      }
    }
  }
  return {scroll: document.documentElement.scrollWidth, width: width, wide: wide.slice(0, 5)};
}"""


# The top bar's controls every page needs, inside the window whatever its width.
REACHABLE = """() => {
  const out = [];
  const controls = ['form.lang button[value=fr]', 'form.lang button[value=en]',
                    'form.logout button'];
  for (const sel of controls) {
    const e = document.querySelector(sel);
    const box = e && e.getBoundingClientRect();
    if (!box || box.width === 0 || box.left < 0 || box.right > window.innerWidth) out.push(sel);
  }
  return out;
}"""


@contextmanager
def signed_in(browser: Browser, base: str, email: str, width: int) -> Iterator[Page]:
    """A fresh context ``width`` px wide, signed in as ``email``."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("button.primary").click()
    page.wait_for_url(re.compile(r"/w/"))
    try:
        yield page
    finally:
        context.close()


def problems_of(page: Page, url: str, *, console_page: bool = True) -> list[str]:
    """Open ``url`` and list what is wrong with it: overflow, controls out of reach (on a
    console page, which has the top bar), console errors, raw codes, and on a French page
    English labels."""
    errors: list[str] = []

    def heard(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", heard)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        response = page.goto(url)
        page.wait_for_load_state("load")
        found: list[str] = []
        if response is None or response.status != 200:
            found.append(f"status {response.status if response else None}")
        if console_page:
            found += [f"out of reach: {name}" for name in page.evaluate(REACHABLE)]
        size = page.evaluate(OVERFLOW)
        if size["scroll"] > size["width"]:
            found.append(f"{size['scroll']} px wide in {size['width']}: {size['wide']}")
        found += [f"console: {text}" for text in errors]
        text = page.evaluate(VISIBLE_TEXT)
        raw = sorted(set(RAW.findall(text)))
        if raw:
            found.append(f"raw codes: {raw}")
        if page.evaluate("document.documentElement.lang") == "fr":
            english = sorted(set(UNTRANSLATED.findall(text)))
            if english:
                found.append(f"untranslated: {english}")
        return found
    finally:
        page.remove_listener("console", heard)
