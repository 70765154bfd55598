"""measure_hydration.py BASE PASSWORD RUNS (used by scripts/measure-pages): logs in as admin,
then loads each page RUNS times and
reports the median time from navigation start to the app's data-hydrated mark."""
import sys, time, statistics
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

base, password, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
opts = webdriver.ChromeOptions()
opts.binary_location = "/usr/bin/chromium"
for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--window-size=1400,1000"]:
    opts.add_argument(a)
d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
# Record the moment the app marks <body data-hydrated>, relative to navigation start.
d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
new MutationObserver((m, o) => {
  if (document.body && document.body.dataset.hydrated) { window.__hydrated = performance.now(); o.disconnect(); }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-hydrated']});
"""})
d.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": False})
d.get(base + "/login")
d.find_element(By.ID, "username").send_keys("admin")
d.find_element(By.ID, "password").send_keys(password)
d.find_element(By.CSS_SELECTOR, "form.login-form button[type=submit]").click()
time.sleep(1)
for page in ["/", "/vulnerabilities", "/findings?state=all", "/trends"]:
    times = []
    for i in range(runs + 1):
        d.get(base + page)
        t0 = time.time()
        while d.execute_script("return window.__hydrated") is None:
            if time.time() - t0 > 30: raise SystemExit("no hydration on " + page)
            time.sleep(0.01)
        if i > 0:  # the first load warms the cache
            times.append(d.execute_script("return window.__hydrated"))
    print(f"| `{page}` hydrated | median {statistics.median(times):.0f} ms | min {min(times):.0f} | max {max(times):.0f} (n={runs}) |")
d.quit()
