"""Headless Chromium from Debian's packages, driven by Selenium, and checks run in the page."""

import shutil
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[2]
# Kept out of git (.gitignore): look at them after a run.
SCREENSHOTS = ROOT / "build" / "screenshots"
PHONE = (390, 844)
DESKTOP = (1280, 800)
SIZES = (PHONE, DESKTOP)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} is missing: apt-get install -y {package} fonts-noto-cjk"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (requirements-dev.txt)"
    return None


class Browser:
    """One Chromium for a test module; a fresh profile, nothing fetched from the network."""

    def __init__(self):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in (
            "--headless=new",
            "--no-sandbox",  # the tests run as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--lang=en-US",
            f"--user-data-dir={self.profile}",
        ):
            options.add_argument(argument)
        # The system chromedriver: Selenium Manager would try to download one.
        self.driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
        self.driver.set_page_load_timeout(30)

    def resize(self, width: int, height: int) -> None:
        """Exactly this viewport, as a phone (touch, viewport meta honoured) below 600 px."""
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
        )

    def color_scheme(self, scheme: str) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        assert self.driver.save_screenshot(str(path)), path
        return path

    def quit(self) -> None:
        self.driver.quit()
        shutil.rmtree(self.profile, ignore_errors=True)


# Basic accessibility checks, computed by the browser on the rendered page (WCAG 2.1:
# 1.4.3 contrast, 1.3.1/4.1.2 labels and names, 3.1.1 language). Returns a report object.
ACCESSIBILITY_JS = r"""
function channel(c) { c /= 255; return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); }
function parse(color) {
  const m = color.match(/rgba?\(([^)]+)\)/);
  if (!m) return null;
  const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
}
function luminance(c) { return 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b); }
function over(top, bottom) {
  const a = top.a;
  return {r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a),
          b: top.b * a + bottom.b * (1 - a), a: 1};
}
function background(el) {
  const layers = [];
  for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
    const bg = parse(getComputedStyle(node).backgroundColor);
    if (bg && bg.a > 0) { layers.push(bg); if (bg.a >= 1) break; }
  }
  let color = {r: 255, g: 255, b: 255, a: 1};  // the canvas behind everything
  for (let i = layers.length - 1; i >= 0; i--) color = over(layers[i], color);
  return color;
}
function ratio(a, b) {
  const [l1, l2] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (l1 + 0.05) / (l2 + 0.05);
}
const report = {lang: document.documentElement.getAttribute("lang"), unlabelled: [],
                unnamedButtons: [], lowContrast: [], texts: 0,
                overflow: document.documentElement.scrollWidth - window.innerWidth};
for (const input of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
  const named = (input.labels && input.labels.length) || input.getAttribute("aria-label") ||
                input.getAttribute("aria-labelledby");
  if (!named) report.unlabelled.push(input.outerHTML);
}
for (const button of document.querySelectorAll("button, [role=button], input[type=submit]")) {
  const name = (button.innerText || button.value || button.getAttribute("aria-label") || "").trim();
  if (!name) report.unnamedButtons.push(button.outerHTML);
}
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const seen = new Set();
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  const el = node.parentElement;
  if (!node.textContent.trim() || seen.has(el)) continue;
  seen.add(el);
  const style = getComputedStyle(el);
  if (style.visibility === "hidden" || style.display === "none" || !el.getClientRects().length) continue;
  const fg = parse(style.color), bg = background(el);
  const value = ratio(over(fg, bg), bg);
  report.texts += 1;
  if (value < 4.5) report.lowContrast.push({text: node.textContent.trim().slice(0, 40),
                                            ratio: Math.round(value * 100) / 100});
}
return report;
"""


def check_accessibility(driver, lang: str) -> dict:
    """Assert the basic checks on the page the driver shows; return the report."""
    report = driver.execute_script(ACCESSIBILITY_JS)
    assert report["lang"] == lang, report
    assert report["unlabelled"] == [], report
    assert report["unnamedButtons"] == [], report
    assert report["texts"] > 0, report
    assert report["lowContrast"] == [], report
    assert report["overflow"] <= 0, f"the page scrolls sideways by {report['overflow']} px"
    return report
