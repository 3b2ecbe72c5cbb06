"""The Label Studio round trip against a real Label Studio server (pip `label-studio`).

Starts Label Studio on 127.0.0.1 with a fresh data dir, creates a project with the labeling
config that `medtriage queue label-studio-config` writes from the manifest, imports what
`medtriage queue export --to label-studio` writes, and checks that
  1. every task and prediction was imported, and the server logged no
     "Prediction validation failed";
  2. a data-manager view sorted by prediction score (ascending) lists the tasks in our review
     order (all of them);
  3. the labeling stream under "Uncertainty sampling" (/api/projects/{id}/next) serves them in
     our order: the first N tasks, each answered through the API as a reviewer would (most with
     the true label, some skipped, one answered twice);
  4. the JSON and JSON-MIN exports and the API's task objects read back (`queue
     read-label-studio`) give the same decisions, with the skips and the superseded answer
     counted;
  5. `queue plan --reviewed-label-studio` plans the next round from them: the reviewed tasks
     are out of the next batch.
The server is stopped by its PID. Prints the figures (order agreement, counts, start time).

Run through scripts/test_label_studio.sh (installs label-studio into .venv when missing and
builds the CLI), or: .venv/bin/python scripts/test_label_studio.py path/to/medtriage
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

root = Path(__file__).resolve().parent.parent
cli = sys.argv[1] if len(sys.argv) > 1 else str(root / "target" / "debug" / "medtriage")
n_next = int(os.environ.get("MEDTRIAGE_LS_NEXT", "30"))
venv_bin = Path(sys.executable).parent
t_all = time.time()


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    raise SystemExit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(*args, **kw):
    return subprocess.run([cli, *map(str, args)], check=True, capture_output=True, text=True, **kw)


# ---- our side: triage of 100 digits "pool" items (10% wrong labels), export, config ----
v = json.loads((root / "tests/fixtures/digits/verified.json").read_text())
k, n = v["k"], v["n"]
rows = [v["predProbs"][i * k:(i + 1) * k] for i in range(n)]
y = v["labels"]
classes = json.loads((root / "tests/fixtures/digits/manifest.json").read_text())["output"]["classes"]
# seeded label flips (a small LCG: no numpy needed in this venv)
state = 12345
given = list(y)
for i in range(n):
    state = (state * 1103515245 + 12345) % 2**31
    if state % 10 == 0:
        given[i] = (y[i] + 1 + state // 10 % (k - 1)) % k
nv = 176
m = n - nv
truth = y[nv:]
req = {
    "k": k,
    "verified": {"predProbs": sum(rows[:nv], []), "n": nv, "labels": y[:nv], "givenLabels": given[:nv]},
    "pool": {"predProbs": sum(rows[nv:], []), "n": m, "givenLabels": given[nv:]},
    "policy": {"autoAccept": {"alpha": 0.05, "delta": 0.1}},
}
work = Path(tempfile.mkdtemp(prefix="medtriage-ls-"))
(work / "req.json").write_text(json.dumps(req))
run("queue", "tiers", "--request", work / "req.json", "--out", work / "tiers.json")
ids = [f"case-{i:03d}.png" for i in range(m)]
(work / "ids.txt").write_text("".join(i + "\n" for i in ids))
manifest = root / "tests/fixtures/digits/manifest.json"
(work / "classes.txt").write_text("".join(c + "\n" for c in classes))
run("queue", "export", "--to", "label-studio", "--tiers", work / "tiers.json", "--ids", work / "ids.txt",
    "--classes", work / "classes.txt", "--out", work / "tasks.json")
config = run("queue", "label-studio-config", "--manifest", manifest).stdout
tasks = json.loads((work / "tasks.json").read_text())
expected = [t["data"]["medtriage_index"] for t in tasks]  # our review order, pool indices
tiers = json.loads((work / "tiers.json").read_text())
print(f"our export: {len(tasks)} tasks, {len(tiers['order'])} to review, "
      f"{tiers['counts']['autoAccept']} auto-accepted")

# ---- the server ----
port = free_port()
token = "medtriage-test-token-0123456789abcdef0123"
data_dir = work / "ls-data"
env = dict(os.environ, LABEL_STUDIO_COLLECT_ANALYTICS="false", SENTRY_DSN="", FRONTEND_SENTRY_DSN="",
           LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="false", LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
           PATH=f"{venv_bin}:{os.environ.get('PATH', '')}")
log_path = work / "server.log"
log = open(log_path, "w")
t0 = time.time()
server = subprocess.Popen(
    [str(venv_bin / "label-studio"), "start", "--internal-host", "127.0.0.1", "--port", str(port),
     "--no-browser", "--data-dir", str(data_dir), "--username", "reviewer@medtriage.test",
     "--password", "medtriage-pass-1", "--user-token", token, "--enable-legacy-api-token"],
    stdout=log, stderr=subprocess.STDOUT, env=env, cwd=work, start_new_session=True)
base = f"http://127.0.0.1:{port}"


def api(method, path, body=None, raw=False):
    data = None if body is None else json.dumps(body).encode()
    r = urllib.request.Request(base + path, data=data, method=method,
                               headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(r, timeout=120) as resp:
            text = resp.read().decode()
    except urllib.error.HTTPError as e:
        fail(f"{method} {path}: HTTP {e.code}: {e.read().decode()[:500]}")
    return text if raw else json.loads(text) if text else None


def stop():
    if server.poll() is None:
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()
    # anything it started in its session
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


try:
    while True:
        if server.poll() is not None:
            fail(f"label-studio exited with {server.returncode}; log: {log_path}")
        if time.time() - t0 > 600:
            fail("label-studio did not answer within 600 s")
        try:
            with urllib.request.urlopen(base + "/health", timeout=5) as resp:
                if resp.status == 200:
                    break
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(1)
    started = time.time() - t0
    version = api("GET", "/api/version").get("release", "?")
    print(f"Label Studio {version} answered after {started:.1f} s (pid {server.pid})")

    proj = api("POST", "/api/projects", {"title": "medtriage round trip", "label_config": config,
                                         "sampling": "Uncertainty sampling", "model_version": "medtriage",
                                         "show_skip_button": True})
    pid = proj["id"]
    if proj.get("sampling") != "Uncertainty sampling":
        fail(f"project sampling is {proj.get('sampling')!r}")
    imp = api("POST", f"/api/projects/{pid}/import", tasks)
    if imp.get("task_count") != len(tasks) or imp.get("prediction_count") != len(tasks):
        fail(f"import: {imp}")
    p2 = api("GET", f"/api/projects/{pid}")
    if p2.get("model_version") != "medtriage":
        api("PATCH", f"/api/projects/{pid}", {"model_version": "medtriage"})
    print(f"imported {imp['task_count']} tasks, {imp['prediction_count']} predictions")

    # 2. the data manager sorted by prediction score
    view = api("POST", "/api/dm/views", {"project": pid, "data": {
        "ordering": ["tasks:predictions_score"], "filters": {"conjunction": "and", "items": []}}})
    listed = api("GET", f"/api/tasks?project={pid}&view={view['id']}&page_size={len(tasks) + 10}")
    listed = listed["tasks"] if isinstance(listed, dict) else listed
    by_sort = [t["data"]["medtriage_index"] for t in listed]
    sort_equal = next((i for i, (a, b) in enumerate(zip(by_sort, expected)) if a != b), len(expected))
    print(f"data manager sorted by prediction score: first {sort_equal} of {len(expected)} tasks in our order")
    if by_sort != expected:
        fail(f"sorted view differs from our order at position {sort_equal}")
    task_of = {t["data"]["medtriage_index"]: t["id"] for t in listed}
    stored = {t["data"]["medtriage_index"]: t for t in listed}

    # 3. the labeling stream under uncertainty sampling, answered as a reviewer would
    skip_at = {4, 11, 19}
    served, answered, skipped = [], {}, 0
    for j in range(n_next):
        t = api("GET", f"/api/projects/{pid}/next")
        idx = t["data"]["medtriage_index"]
        served.append(idx)
        if j in skip_at:
            api("POST", f"/api/tasks/{t['id']}/annotations/", {"result": [], "was_cancelled": True})
            skipped += 1
            continue
        label = truth[idx]
        api("POST", f"/api/tasks/{t['id']}/annotations/", {"was_cancelled": False, "lead_time": 2.5, "result": [
            {"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [classes[label]]}}]})
        answered[idx] = label
    next_equal = next((i for i, (a, b) in enumerate(zip(served, expected)) if a != b), len(served))
    print(f"/next under uncertainty sampling: first {next_equal} of {len(served)} served tasks in our order")
    if served != expected[:n_next]:
        fail(f"/next order differs at position {next_equal}: {served[:next_equal + 3]} vs {expected[:next_equal + 3]}")
    # the reviewer changes their mind on one task: a second, later annotation counts
    changed = served[0]
    new_label = (truth[changed] + 1) % k
    time.sleep(1.1)
    api("POST", f"/api/tasks/{task_of[changed]}/annotations/", {"was_cancelled": False, "result": [
        {"from_name": "choice", "to_name": "image", "type": "choices", "value": {"choices": [classes[new_label]]}}]})
    answered[changed] = new_label

    # 4. exports read back
    exp_json = api("GET", f"/api/projects/{pid}/export?exportType=JSON", raw=True)
    exp_min = api("GET", f"/api/projects/{pid}/export?exportType=JSON_MIN", raw=True)
    api_tasks = api("GET", f"/api/tasks?project={pid}&fields=all&page_size={len(tasks) + 10}", raw=True)
    (work / "export.json").write_text(exp_json)
    (work / "export-min.json").write_text(exp_min)
    (work / "api-tasks.json").write_text(api_tasks)
    want = sorted(answered.items())
    results = {}
    for name in ["export.json", "export-min.json", "api-tasks.json"]:
        r = json.loads(run("queue", "read-label-studio", "--export", work / name, "--manifest", manifest,
                           "--ids", work / "ids.txt").stdout)
        got = sorted((d["index"], d["label"]) for d in r["reviewed"])
        results[name] = r
        print(f"{name}: {r['tasks']} tasks, {r['annotationsRead']} annotations read, {r['decided']} decisions, "
              f"{r['skipped']} skipped, {r['superseded']} superseded")
        if got != want:
            fail(f"{name}: decisions {got} != submitted {want}")
    full = results["export.json"]
    if full["skipped"] != skipped or full["superseded"] != 1 or full["annotationsRead"] != n_next + 1:
        fail(f"export.json counts: {full}")

    # 5. the next round
    plan = json.loads(run("queue", "plan", "--request", work / "req.json", "--reviewed-label-studio",
                          work / "export.json", "--manifest", manifest, "--ids", work / "ids.txt").stdout)
    est = plan["estimate"]
    if est["reviewed"] != len(answered):
        fail(f"plan counted {est['reviewed']} reviewed, expected {len(answered)}")
    nxt = plan["audit"]["indices"] if plan.get("audit") else plan["batch"]
    if set(nxt) & set(answered):
        fail("the next batch repeats reviewed tasks")
    print(f"next round: {len(nxt)} tasks ({'audit' if plan.get('audit') else 'batch'}), stop={plan['stop']}, "
          f"{est['reviewed']} reviewed, {est['unreviewed']} unreviewed, "
          f"expected errors left {est['expectedErrors']:.2f}")
finally:
    stop()
    log.close()

text = log_path.read_text(errors="replace")
if "Prediction validation failed" in text:
    fail(f"the server logged 'Prediction validation failed' (see {log_path})")
if server.returncode is None:
    fail("server still running")
print(f"server stopped (pid {server.pid}); no 'Prediction validation failed' in its log")
print(f"label studio round trip passed in {time.time() - t_all:.1f} s")
