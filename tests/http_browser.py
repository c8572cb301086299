#!/usr/bin/python3
"""http_browser.py BASE_URL SHOTS_DIR [--no-index]: drive codeset-http's page in headless Chromium.

Run by tests/check_http.c (test_browser) against a real codeset-http and codesetd holding the
bundled ICD-10-CM sample and the bundled ICD-10-CM Index samples. It types "diab mel" into the
search, sees E11 among the hits, opens the first hit with ArrowDown and Enter (focus staying in
the search box), opens E11 and reads its Excludes1 notes and its children, validates a claim
with an invalid code and reads the reasons; then, in the Index's tabs, types a drug and reads
its row's cells with their states, walks into a subterm and back by the breadcrumbs, follows a
see (Drugs: Adrenalin, see Adrenaline; External causes: Submersion, see Drowning), reads a
header's hint and a code needing its 7th character in the Index tab and opens a code from
there; and saves screenshots under SHOTS_DIR (laptop and phone-sized).

With --no-index (no index set loaded) it checks only that each tab says so plainly.

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
    from selenium.common.exceptions import StaleElementReferenceException
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


def main(base, shots, no_index=False):
    os.makedirs(shots, exist_ok=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1200,900", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        if no_index:
            run_no_index(drv, base)
        else:
            run(drv, base, shots)
            run_index(drv, base, shots)
            run_phone(drv, base, shots)
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


def run_phone(drv, base, shots):
    wait = WebDriverWait(drv, 10)
    # a phone-sized window (headless Chromium's windows are at least 500 px wide: emulate)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    drv.get(base + "#/icd10cm/E11")
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), "E11"))
    width = drv.execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, "the page scrolls sideways on a phone (%d px)" % width)
    drv.save_screenshot(os.path.join(shots, "phone.png"))
    # the drug table's seven columns scroll inside their box, not the page
    tab(drv, "drug")
    ix_type(drv, "acetylsal")
    width = drv.execute_script("return document.documentElement.scrollWidth")
    check(width <= 400, "the drug table makes the page scroll sideways on a phone (%d px)" % width)
    drv.find_element(By.ID, "ix-rows").location_once_scrolled_into_view
    drv.save_screenshot(os.path.join(shots, "phone-drugs.png"))
    print("http_browser.py: ok; screenshots in " + shots, file=sys.stderr)


# ---- the ICD-10-CM Index's tabs ----

def tab(drv, table):
    drv.find_element(By.ID, "tab-" + table).click()
    check(drv.find_element(By.ID, "tab-" + table).get_attribute("aria-selected") == "true",
          "the %s tab is not selected" % table)


def ix_type(drv, words):
    """Type words into the tab's search box and wait for the rows answering them."""
    q = drv.find_element(By.ID, "ix-q")
    q.clear()
    q.send_keys(words)
    ix_wait(drv).until(
        lambda d: d.find_element(By.ID, "ix-rows").get_attribute("data-q") == words)


# The rows are redrawn as replies come: they are read, and clicked, by one script each time,
# never through an element held across a redraw.
ROWS_JS = """
return [...document.querySelectorAll('#ix-rows [data-key]')].map((r) => ({
  key: r.dataset.key,
  title: (r.querySelector('.title') || {}).textContent,
  path: (r.querySelector('.path') || {}).textContent || '',
  cells: [...r.querySelectorAll('td')].map((td) => ({head: td.dataset.head || null,
                                                   text: td.textContent})),
  codes: [...r.querySelectorAll('.ixcode')].map((c) => ({state: c.dataset.state,
      col: c.dataset.col || null, text: c.textContent,
      hint: c.querySelectorAll('.hint a.code').length})),
  refs: [...r.querySelectorAll('button.ref')].map((b) => b.dataset.via + ':' + b.textContent),
}));"""


def ix_rows(drv):
    return drv.execute_script(ROWS_JS)


def ix_row(drv, title):
    """The row whose term reads title, as a dict (see ROWS_JS), or None."""
    return next((r for r in ix_rows(drv) if r["title"] == title), None)


def ix_first_title(drv):
    rows = ix_rows(drv)
    return rows[0]["title"] if rows else None


def ix_click(drv, title, css):
    """Click the element css within the row whose term reads title; False when not there."""
    return drv.execute_script(
        "for (const r of document.querySelectorAll('#ix-rows [data-key]')) {"
        "  const t = r.querySelector('.title');"
        "  const e = r.querySelector(arguments[1]);"
        "  if (t && t.textContent === arguments[0] && e) { e.click(); return true; }"
        "} return false;", title, css)


def crumbs(drv):
    """The breadcrumbs' texts, read at once (a reply may redraw them meanwhile)."""
    return drv.execute_script(
        "return [...document.querySelectorAll('#ix-crumbs li')].map((e) => e.textContent)")


def ix_wait(drv):
    # rows are redrawn as replies come: an element read meanwhile may go stale; try again
    return WebDriverWait(drv, 10, ignored_exceptions=(StaleElementReferenceException,))


def run_no_index(drv, base):
    wait = WebDriverWait(drv, 10)
    drv.get(base)
    for table in ("index", "eindex", "drug", "neoplasm"):
        wait.until(lambda d: d.find_elements(By.ID, "tab-" + table))
        tab(drv, table)
        wait.until(EC.text_to_be_present_in_element((By.ID, "ix-status"),
                                                    "No ICD-10-CM Index is loaded"))
        check(not drv.find_elements(By.CSS_SELECTOR, "#ix-rows [data-key]"),
              "the %s tab shows rows with no index set" % table)
    print("http_browser.py: ok (no index set: each tab says so)", file=sys.stderr)


def run_index(drv, base, shots):
    wait = ix_wait(drv)
    drv.get(base)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#ix-rows [data-key]"))
    check([e.text for e in drv.find_elements(By.CSS_SELECTOR, "#ix-tabs [role=tab]")] ==
          ["Index", "External causes", "Drugs", "Neoplasms"], "the Index's tabs")

    # Drugs: a drug's row, one cell per column, each code with its state
    tab(drv, "drug")
    check("Drugs and Chemicals" in drv.find_element(By.ID, "ix-q-label").text, "the drug label")
    ix_type(drv, "propanol")
    heads = [e.text for e in drv.find_elements(By.CSS_SELECTOR, "#ix-rows thead th")]
    check(len(heads) == 7 and heads[5] == "Adverse effect", "the drug table's columns: %r" % heads)
    row = ix_row(drv, "1-propanol")
    check(row is not None, "no row for 1-propanol: %r" % ix_rows(drv))
    check(len(row["cells"]) == 7, "1-propanol has %d cells" % len(row["cells"]))
    c2 = next(c for c in row["codes"] if c["col"] == "2")
    check("T51.3X1" in c2["text"] and c2["state"] == "unknown" and "not in tabular" in c2["text"],
          "the accidental poisoning cell (the sample tabular has no T codes): %r" % c2)
    c6 = next(c for c in row["codes"] if c["col"] == "6")
    check(c6["state"] == "none" and "no code" in c6["text"], "'--' is no code: %r" % c6)
    check(row["cells"][5]["head"] == "Adverse effect", "a cell's heading: %r" % row["cells"][5])

    # walk into a term, then into its subterm, then back by the breadcrumbs
    ix_type(drv, "acetylsalicylic")
    check(ix_click(drv, "Acetylsalicylic acid (salts)", ".title"), "no Acetylsalicylic acid")
    wait.until(lambda d: crumbs(d)[-1:] == ["Acetylsalicylic acid (salts)"])
    sub = ix_row(drv, "enteric coated")
    check(sub and "Acetylsalicylic acid (salts)" in sub["path"], "the subterm: %r" % sub)
    check(ix_click(drv, "enteric coated", ".title"), "no enteric coated")
    wait.until(lambda d: crumbs(d)[-1:] == ["enteric coated"])
    check(ix_first_title(drv) == "enteric coated", "walked into %r" % ix_first_title(drv))
    drv.save_screenshot(os.path.join(shots, "index-drug-walk.png"))
    drv.find_element(By.XPATH, "//ol[@id='ix-crumbs']//button"
                               "[text()='Acetylsalicylic acid (salts)']").click()
    wait.until(lambda d: crumbs(d)[-1:] == ["Acetylsalicylic acid (salts)"])

    # a see, followed on request: Adrenalin, see Adrenaline
    ix_type(drv, "adrenalin")
    check(ix_row(drv, "Adrenalin")["refs"] == ["see:see Adrenaline"],
          "Adrenalin's see: %r" % ix_row(drv, "Adrenalin"))
    check(ix_click(drv, "Adrenalin", "button.ref[data-via=see]"), "no see to click")
    wait.until(lambda d: crumbs(d)[-1:] == ["Adrenaline"])
    check(ix_first_title(drv) == "Adrenaline", "the see reached %r" % ix_first_title(drv))
    check(len(ix_row(drv, "Adrenaline")["codes"]) == 6, "Adrenaline's six cells")

    # External causes: Submersion, see Drowning
    tab(drv, "eindex")
    ix_type(drv, "submersion")
    check(ix_click(drv, "Submersion (accidental)", "button.ref"), "no see on Submersion")
    wait.until(lambda d: ix_first_title(d) == "Drowning (accidental)")
    # the drug tab kept where it was
    tab(drv, "drug")
    wait.until(lambda d: ix_first_title(d) == "Adrenaline")
    check(drv.find_element(By.ID, "ix-q").get_attribute("value") == "adrenalin", "the drug query")

    # Index: a header with its hint, a code needing its 7th character, a billable code
    tab(drv, "index")
    ix_type(drv, "diabetes type 2")
    c = ix_row(drv, "type 2")["codes"][0]
    check(c["state"] == "header" and c["hint"] > 0, "E11 is a header with a hint: %r" % c)
    ix_type(drv, "femur neck")
    c = [c for r in ix_rows(drv) for c in r["codes"] if c["state"] == "needs_7th"]
    check(c and "S72.001" in c[0]["text"] and "7th: A" in c[0]["text"], "needs its 7th: %r" % c)
    ix_type(drv, "diabetes")
    check(ix_row(drv, "Diabetes, diabetic (mellitus) (sugar)")["codes"][0]["state"] == "billable",
          "E11.9 is billable")
    drv.save_screenshot(os.path.join(shots, "index.png"))
    # a code opens the code's page
    drv.find_element(By.CSS_SELECTOR, "#ix-rows .ixcode[data-state=billable] a.code").click()
    wait.until(EC.text_to_be_present_in_element((By.ID, "d-code"), "E11.9"))


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4) or (len(sys.argv) == 4 and sys.argv[3] != "--no-index"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        main(sys.argv[1], sys.argv[2], len(sys.argv) == 4)
    except AssertionError as e:
        print("http_browser.py: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
