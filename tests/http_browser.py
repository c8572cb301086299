#!/usr/bin/python3
"""http_browser.py BASE_URL SHOTS_DIR: drive codeset-http's page in headless Chromium.

Run by tests/check_http.c (test_browser) against a real codeset-http and codesetd holding the
bundled ICD-10-CM sample. It types "diab mel" into the search, sees E11 among the hits, opens
the first hit with ArrowDown and Enter (focus staying in the search box), opens E11 and reads
its Excludes1 notes and its children, validates a claim with an invalid code and reads the
reasons, and saves screenshots under SHOTS_DIR (laptop and phone-sized).

Exit 0 when every check holds, 1 when one fails, 77 (skip) when Chromium, chromedriver or
python3-selenium is not installed (Debian: chromium chromium-driver python3-selenium).
"""
import os
import shutil
import sys

SKIP = 77


def skip(why):
    print("http_browser.py: skipped: " + why, file=sys.stderr)
    sys.exit(SKIP)


try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    skip("python3-selenium is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None)
if not CHROMIUM:
    skip("chromium is not installed")
if not DRIVER:
    skip("chromedriver (chromium-driver) is not installed")


def main(base, shots):
    os.makedirs(shots, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1200,900", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        run(drv, base, shots)
    finally:
        drv.quit()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def run(drv, base, shots):
    wait = WebDriverWait(drv, 10)
    drv.get(base)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#system option"))
    check(drv.find_element(By.ID, "system").get_attribute("value") == "icd10cm",
          "the system picker does not show icd10cm")

    # search as you type
    q = drv.find_element(By.ID, "q")
    check(drv.find_element(By.CSS_SELECTOR, "label[for=q]").text != "", "the search has no label")
    q.click()
    q.send_keys("diab mel")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#hits li"))
    codes = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#hits li .code")]
    check("E11" in codes or any(c.startswith("E11") for c in codes),
          "no E11 among the hits: %r" % codes)
    check(drv.switch_to.active_element.get_attribute("id") == "q", "focus left the search box")
    drv.save_screenshot(os.path.join(shots, "search.png"))

    # ArrowDown highlights the first hit, again the next; Enter opens the highlighted one
    q.send_keys(Keys.ARROW_DOWN)
    first = drv.find_element(By.CSS_SELECTOR, "#hits li:nth-child(1)")
    check(first.get_attribute("aria-selected") == "true", "ArrowDown did not highlight the first hit")
    if len(codes) > 1:
        q.send_keys(Keys.ARROW_DOWN)
        second = drv.find_element(By.CSS_SELECTOR, "#hits li:nth-child(2)")
        check(second.get_attribute("aria-selected") == "true", "ArrowDown did not move on")
        want = codes[1]
    else:
        want = codes[0]
    check(drv.switch_to.active_element.get_attribute("id") == "q", "focus left the search box")
    q.send_keys(Keys.ENTER)
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), want))

    # a code's page: E11, its Excludes1 notes and its children
    drv.get(base + "#/icd10cm/E11")
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), "E11"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#d-children li"))
    ex1 = drv.find_elements(By.CSS_SELECTOR, "ul[data-note=excludes1] li")
    check(any("gestational diabetes" in e.text for e in ex1),
          "E11's Excludes1 notes are not shown: %r" % [e.text for e in ex1])
    kids = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#d-children li .code")]
    check("E11.0" in kids and "E11.9" in kids, "E11's children are not listed: %r" % kids)
    check("not billable" in drv.find_element(By.ID, "d-flags").text, "E11 is not shown as a header")
    drv.save_screenshot(os.path.join(shots, "code.png"))

    # drill down to a child
    drv.find_element(By.CSS_SELECTOR, "#d-children a[href$='E11.9']").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), "E11.9"))
    crumbs = drv.find_element(By.ID, "crumbs").text
    check("E11" in crumbs, "no breadcrumb up to E11: %r" % crumbs)

    # a claim with an invalid code
    claim = drv.find_element(By.ID, "claim")
    claim.clear()
    claim.send_keys("E11.9\nE11\nXYZ\nZ99.99")
    drv.find_element(By.ID, "validate").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#claim-results tbody tr")) == 4)
    rows = {r.get_attribute("data-input"): r.find_elements(By.TAG_NAME, "td")
            for r in drv.find_elements(By.CSS_SELECTOR, "#claim-results tbody tr")}
    check(rows["E11.9"][1].text == "valid", "E11.9 is not valid")
    check(rows["E11"][2].text == "not_billable", "E11's reason: %r" % rows["E11"][2].text)
    check(rows["E11"][3].find_elements(By.CSS_SELECTOR, "a.code"), "E11's hint has no links")
    check(rows["XYZ"][2].text == "malformed", "XYZ's reason: %r" % rows["XYZ"][2].text)
    check(rows["Z99.99"][2].text in ("unknown", "malformed"), "Z99.99's reason")
    drv.execute_script("document.getElementById('claim-results').scrollIntoView()")
    drv.save_screenshot(os.path.join(shots, "claim.png"))

    # a phone-sized window (headless Chromium's windows are at least 500 px wide: emulate)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    drv.get(base + "#/icd10cm/E11")
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), "E11"))
    width = drv.execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, "the page scrolls sideways on a phone (%d px)" % width)
    drv.save_screenshot(os.path.join(shots, "phone.png"))
    print("http_browser.py: ok; screenshots in " + shots, file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1], sys.argv[2])
    except AssertionError as e:
        print("http_browser.py: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
