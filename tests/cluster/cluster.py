#!/usr/bin/env python3
"""The cluster test: mchost as it runs in production, on three "machines".

Each machine is a network namespace of its own, joined to a balancer's
namespace by a veth pair; a fifth namespace holds the client. The test
creates them, gives them addresses (inside them only: nothing is routed to
or from the machine's own network), and removes them at the end, whatever
happened. Every process it starts is stopped by its PID.

    client 10.77.0.2 --- 10.77.0.1 [HAProxy, Prometheus] 10.77.N.1 --- 10.77.N.2 mchost N

- Each machine runs mchost with --listen, --admin, --drain-delay and
  --trusted-proxies (the balancer's address), so that its access log names
  the client that HAProxy's X-Forwarded-For carries.
- HAProxy runs contrib/haproxy.cfg with the test's addresses, health-checking
  /readyz on the admin port; Prometheus runs contrib/prometheus.yml (with
  contrib/mchost-alerts.yml) scraping the three /metrics.
- A bounded client (count and time) sends GETs through HAProxy with
  keep-alive while
    (a) a new plugin version rolls out host by host (file replaced, SIGHUP);
    (b) one host is stopped by TERM with --drain-delay and started again;
    (c) requests to /crash crash the plugin on the host that gets them.
- Asserted: no failed request in (a) and (b); in (c) only the crashing
  requests get 500; after the rollout every answer is the new version;
  during the drain HAProxy took the host out because /readyz said 503;
  the client's request count equals the sum of mchost_requests_total
  that Prometheus reports through its HTTP API (/api/v1/query, counter
  resets of the restarted host included), and the 5xx among them are the
  crashes; the access logs name the client, never HAProxy; promtool check
  metrics passes on a host's /metrics.

Run by ctest (integration.cluster) as root; without root it skips (exit 77).

    cluster.py --mchost BIN --v1 cluster_v1.so --v2 cluster_v2.so --contrib DIR
"""
import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.client
import urllib.parse

SKIP = 77
BUDGET_S = 100  # the whole test; ctest's TIMEOUT is the backstop above it
PREFIX = "mcc"  # namespaces are mcc<pid>-<role>: a dead run's are found by pid
LB, CLIENT = "lb", "cl"
HOSTS = ("h1", "h2", "h3")
CLIENT_ADDR, LB_FRONT = "10.77.0.2", "10.77.0.1"
APP_PORT, ADMIN_PORT = 3000, 9100
DRAIN_S = 4  # --drain-delay: above HAProxy's inter x fall (0.5 s x 2)
SCRAPE_S = 1
ACCESS_FLUSH_S = 1  # access.c: a worker writes its buffered lines once a second


def host_addr(i):
    return f"10.77.{i + 1}.2"


def lb_addr(i):
    return f"10.77.{i + 1}.1"


class Failed(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Failed(what)


# ---- processes ----

libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def die_with_parent():
    """In the child before exec: killed if the test dies (ip netns exec
    keeps it: the command it runs is this same process)."""
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def run(argv, check=True, timeout=30, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise Failed(f"{' '.join(argv)}: exit {r.returncode}\n{r.stdout}{r.stderr}")
    return r


class Cluster:
    def __init__(self, args):
        self.args = args
        self.tag = f"{PREFIX}{os.getpid()}"
        self.dir = tempfile.mkdtemp(prefix="mchost-cluster-")
        self.procs = {}  # name -> Popen
        self.netns = []
        self.deadline = time.monotonic() + BUDGET_S

    def ns(self, role):
        return f"{self.tag}-{role}"

    def left(self):
        return self.deadline - time.monotonic()

    def spawn(self, name, role, argv, log):
        """argv in namespace `role`, stdout and stderr into `log`."""
        out = open(log, "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns(role)] + argv,
                             stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        out.close()
        self.procs[name] = p
        return p

    def stop(self, name, sig=signal.SIGTERM, wait=10):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(wait)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    def in_ns(self, role, argv, **kw):
        return run(["ip", "netns", "exec", self.ns(role)] + argv, **kw)

    # ---- the network ----

    def up(self):
        for role in (LB, CLIENT) + HOSTS:
            run(["ip", "netns", "add", self.ns(role)])
            self.netns.append(self.ns(role))
            self.in_ns(role, ["ip", "link", "set", "lo", "up"])
        links = [(CLIENT, "cl", LB_FRONT, CLIENT_ADDR, "0")]
        links += [(h, h, lb_addr(i), host_addr(i), str(i + 1)) for i, h in enumerate(HOSTS)]
        for role, lb_if, lb_ip, peer_ip, _ in links:
            # Both ends made inside their namespaces: no name, no address in
            # the machine's own.
            run(["ip", "link", "add", lb_if, "netns", self.ns(LB), "type", "veth",
                 "peer", "name", "eth0", "netns", self.ns(role)])
            self.in_ns(LB, ["ip", "addr", "add", f"{lb_ip}/24", "dev", lb_if])
            self.in_ns(LB, ["ip", "link", "set", lb_if, "up"])
            self.in_ns(role, ["ip", "addr", "add", f"{peer_ip}/24", "dev", "eth0"])
            self.in_ns(role, ["ip", "link", "set", "eth0", "up"])

    def down(self):
        for name in list(self.procs):
            self.stop(name, signal.SIGKILL, 5)
        for ns in self.netns:
            kill_netns(ns)
        self.netns = []

    # ---- mchost ----

    def host_dir(self, h):
        return os.path.join(self.dir, h)

    def install(self, h, so):
        """The plugin file replaced in one step, as a deploy would."""
        d = self.host_dir(h)
        shutil.copyfile(so, os.path.join(d, "app.so.new"))
        os.rename(os.path.join(d, "app.so.new"), os.path.join(d, "app.so"))

    def start_host(self, i):
        h = HOSTS[i]
        d = self.host_dir(h)
        argv = [self.args.mchost, "--plugin", os.path.join(d, "app.so"),
                "--workers", "2",
                "--listen", f"{host_addr(i)}:{APP_PORT}",
                "--admin", f"{host_addr(i)}:{ADMIN_PORT}",
                "--drain-delay", str(DRAIN_S), "--kill-timeout", "10",
                "--trusted-proxies", lb_addr(i),
                "--access-log", os.path.join(d, "access.log")]
        self.spawn(h, h, argv, os.path.join(d, "mchost.log"))

    def admin(self, i, path):
        """GET on host i's admin port, from the balancer: (status, body)."""
        r = self.in_ns(LB, ["curl", "-s", "--max-time", "3", "-w", "\n%{http_code}",
                            f"http://{host_addr(i)}:{ADMIN_PORT}{path}"], check=False)
        body, _, code = r.stdout.rpartition("\n")
        return int(code or 0), body

    def wait(self, what, cond, timeout):
        end = time.monotonic() + min(timeout, max(self.left(), 1))
        while time.monotonic() < end:
            v = cond()
            if v:
                return v
            time.sleep(0.1)
        raise Failed(f"timed out waiting for {what}\n{self.logs()}")

    def log(self, name):
        try:
            with open(name, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def logs(self):
        out = []
        for h in HOSTS:
            out.append(f"--- {h} mchost.log (tail)\n" + self.log(os.path.join(self.host_dir(h), "mchost.log"))[-2500:])
        out.append("--- haproxy.log (tail)\n" + self.log(os.path.join(self.dir, "haproxy.log"))[-2500:])
        return "\n".join(out)

    def ready(self, i, generation=None):
        code, body = self.admin(i, "/readyz")
        return code == 200 and (generation is None or f"generation {generation}," in body)

    # ---- HAProxy and Prometheus, from contrib/ ----

    def haproxy_cfg(self):
        text = open(os.path.join(self.args.contrib, "haproxy.cfg")).read()
        text = text.replace("    bind :80\n", f"    bind {LB_FRONT}:80\n")
        # The test's timing: a drain noticed in about a second.
        text = re.sub(r"inter 2s fall 3 rise 2", "inter 500ms fall 2 rise 2", text)
        servers = "".join(f"    server app{i + 1} {host_addr(i)}:{APP_PORT}\n"
                          for i in range(len(HOSTS)))
        text = re.sub(r"(    server app\d+ [^\n]*\n)+", servers, text)
        need(f"{host_addr(0)}:{APP_PORT}" in text and "inter 500ms" in text and
             f"bind {LB_FRONT}:80" in text,
             "contrib/haproxy.cfg no longer has the lines the test adapts")
        path = os.path.join(self.dir, "haproxy.cfg")
        open(path, "w").write(text)
        return path

    def prometheus_cfg(self):
        import yaml  # python3-yaml, installed by make test
        conf = yaml.safe_load(open(os.path.join(self.args.contrib, "prometheus.yml")))
        conf["global"]["scrape_interval"] = f"{SCRAPE_S}s"
        conf["global"]["evaluation_interval"] = f"{SCRAPE_S}s"
        job = conf["scrape_configs"][0]
        job["static_configs"][0]["targets"] = [f"{host_addr(i)}:{ADMIN_PORT}"
                                               for i in range(len(HOSTS))]
        shutil.copy(os.path.join(self.args.contrib, "mchost-alerts.yml"), self.dir)
        path = os.path.join(self.dir, "prometheus.yml")
        open(path, "w").write(yaml.safe_dump(conf))
        return path

    def start_balancer(self):
        cfg = self.haproxy_cfg()
        self.in_ns(LB, ["haproxy", "-c", "-f", cfg])
        self.spawn("haproxy", LB, ["haproxy", "-db", "-f", cfg],
                   os.path.join(self.dir, "haproxy.log"))
        self.spawn("prometheus", LB,
                   ["prometheus", f"--config.file={self.prometheus_cfg()}",
                    f"--storage.tsdb.path={os.path.join(self.dir, 'tsdb')}",
                    "--web.listen-address=127.0.0.1:9090", "--log.level=warn"],
                   os.path.join(self.dir, "prometheus.log"))

    def haproxy_log(self):
        return self.log(os.path.join(self.dir, "haproxy.log"))

    def prom(self, query):
        url = "http://127.0.0.1:9090/api/v1/query?" + urllib.parse.urlencode({"query": query})
        r = self.in_ns(LB, ["curl", "-s", "--max-time", "5", url], check=False)
        try:
            doc = json.loads(r.stdout)
        except ValueError:
            return None
        return doc["data"]["result"] if doc.get("status") == "success" else None

    def scraped_after(self, t):
        """Every host's latest scrape is later than wall-clock time t."""
        res = self.prom("timestamp(up)")
        if not res or len(res) < len(HOSTS):
            return False
        return all(float(r["value"][1]) > t and r["metric"].get("job") == "mchost" for r in res)

    # ---- the client ----

    def start_load(self, phase):
        out = os.path.join(self.dir, f"load-{phase}.json")
        argv = [sys.executable, os.path.abspath(__file__), "--load",
                f"http://{LB_FRONT}/", "--out", out, "--seconds", str(int(max(self.left(), 5))),
                "--max", "150000", "--threads", "6"]
        self.spawn(f"load-{phase}", CLIENT, argv, os.path.join(self.dir, f"load-{phase}.log"))
        return out

    def stop_load(self, phase, out):
        p = self.procs[f"load-{phase}"]
        p.send_signal(signal.SIGUSR1)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            raise Failed(f"the load of phase {phase} did not stop")
        self.procs.pop(f"load-{phase}")
        need(p.returncode == 0, f"load {phase}: exit {p.returncode}\n"
             + self.log(os.path.join(self.dir, f"load-{phase}.log")))
        return json.load(open(out))

    def client_get(self, path):
        r = self.in_ns(CLIENT, ["curl", "-s", "--max-time", "10", "-o", "/dev/null",
                                "-w", "%{http_code}", f"http://{LB_FRONT}{path}"], check=False)
        return int(r.stdout or 0)


def kill_netns(ns):
    """Stops what still runs in a namespace (by PID), then removes it."""
    r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    for pid in r.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def clean_dead_runs():
    """Namespaces of a run that died without cleaning up (killed by ctest's
    timeout, say): those whose creator's pid is gone."""
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        m = re.match(rf"({PREFIX}(\d+)-\w+)", line)
        if m and not os.path.exists(f"/proc/{m.group(2)}"):
            kill_netns(m.group(1))


def counter_total(series):
    """The sum of counters over series of raw samples, across resets: a
    drop means the process restarted and counted from 0 again."""
    total = 0
    for s in series:
        values = [float(v) for _, v in s["values"]]
        for prev, cur in zip(values, values[1:]):
            if cur < prev:
                total += prev
        total += values[-1] if values else 0
    return int(total)


# ---- the test ----

def phase_summary(name, res):
    print(f"  {name}: {res['sent']} requests, {res['failed']} failed, "
          f"status {res['status']}, bodies {res['bodies']}")


def test(c):
    a = c.args
    for i, h in enumerate(HOSTS):
        os.makedirs(c.host_dir(h))
        c.install(h, a.v1)
    c.up()
    for i in range(len(HOSTS)):
        c.start_host(i)
    for i in range(len(HOSTS)):
        c.wait(f"{HOSTS[i]} ready", lambda i=i: c.ready(i, 1), 20)
    c.start_balancer()
    c.wait("HAProxy answering", lambda: c.client_get("/") == 200, 15)
    c.wait("Prometheus scraping all three", lambda: c.scraped_after(0), 20)
    requests = 1  # the GET / above

    # (a) a new version, host by host
    out = c.start_load("a")
    time.sleep(1)
    for i, h in enumerate(HOSTS):
        c.install(h, a.v2)
        c.procs[h].send_signal(signal.SIGHUP)
        c.wait(f"{h} serving generation 2", lambda i=i: c.ready(i, 2), 20)
        # the old generation's workers are gone once none of them has an RSS
        c.wait(f"{h}'s generation 1 gone",
               lambda i=i: not re.search(r'mchost_worker_resident_memory_bytes\{[^}]*generation="1"',
                                         c.admin(i, "/metrics")[1]), 20)
    time.sleep(0.5)
    ra = c.stop_load("a", out)
    phase_summary("(a) rollout", ra)
    need(ra["failed"] == 0, f"(a) {ra['failed']} requests failed during the rollout: {ra['errors']}")
    need(set(ra["bodies"]) <= {"v1", "v2"}, f"(a) unexpected answers {ra['bodies']}")
    need(ra["sent"] > 100, f"(a) only {ra['sent']} requests: no load")
    requests += ra["sent"]

    # (b) one host drained and restarted
    out = c.start_load("b")
    time.sleep(1)
    t_term = time.time()
    c.procs["h2"].send_signal(signal.SIGTERM)
    down = c.wait("HAProxy taking app2 out",
                  lambda: re.search(r"Server mchost/app2 is DOWN[^\n]*", c.haproxy_log()), 10)
    t_down = time.time()
    need("code: 503" in down.group(0),
         f"(b) app2 went down, but not because /readyz said 503: {down.group(0)}")
    need(c.procs["h2"].poll() is None,
         f"(b) h2 stopped before HAProxy took it out ({t_down - t_term:.1f} s)")
    # Prometheus sees its last count before the process is gone.
    c.wait("a scrape of h2 after it left the pool",
           lambda: c.scraped_after(t_down + 0.3), DRAIN_S + 5)
    need(c.procs["h2"].poll() is None,
         "(b) h2 stopped before Prometheus scraped its last count: lengthen --drain-delay")
    rc = c.procs["h2"].wait(DRAIN_S + 15)
    need(rc == 0, f"(b) h2 exited {rc} after TERM\n{c.logs()}")
    c.procs.pop("h2")
    c.start_host(1)
    c.wait("h2 ready again", lambda: c.ready(1, 1), 20)
    c.wait("HAProxy taking app2 back", lambda: "Server mchost/app2 is UP" in c.haproxy_log(), 10)
    time.sleep(1)
    rb = c.stop_load("b", out)
    phase_summary("(b) drain", rb)
    need(rb["failed"] == 0, f"(b) {rb['failed']} requests failed around the drain: {rb['errors']}")
    need(set(rb["bodies"]) == {"v2"}, f"(b) answers other than v2 after the rollout: {rb['bodies']}")
    requests += rb["sent"]

    # (c) a request crashes the plugin
    out = c.start_load("c")
    time.sleep(1)
    crashes = 0
    for _ in range(2):
        code = c.client_get("/crash")
        crashes += 1
        need(code == 500, f"(c) GET /crash answered {code}, want 500")
        time.sleep(1)
    for i in range(len(HOSTS)):
        c.wait(f"{HOSTS[i]} ready after the crashes", lambda i=i: c.ready(i), 10)
    time.sleep(0.5)
    rcr = c.stop_load("c", out)
    phase_summary("(c) crash", rcr)
    need(rcr["failed"] == 0, f"(c) requests besides /crash failed: {rcr['errors']}")
    need(set(rcr["bodies"]) == {"v2"}, f"(c) answers other than v2: {rcr['bodies']}")
    requests += rcr["sent"] + crashes
    crash_lines = sum(c.log(os.path.join(c.host_dir(h), "mchost.log")).count("GET /crash")
                      for h in HOSTS)
    need(crash_lines >= crashes, f"(c) the crashes were not logged as such\n{c.logs()}")

    # Prometheus: every request counted, across the restart
    t_end = time.time()
    c.wait("a scrape after the load", lambda: c.scraped_after(t_end + 0.3), 10)
    series = c.prom("mchost_requests_total[10m]")
    need(series, "Prometheus has no mchost_requests_total")
    counted = counter_total(series)
    fivexx = counter_total([s for s in series if s["metric"].get("code") == "5xx"])
    print(f"  client: {requests} requests; Prometheus: {counted} "
          f"({fivexx} 5xx) over {len(series)} series")
    need(counted == requests,
         f"the client sent {requests} requests, Prometheus counted {counted}")
    need(fivexx == crashes, f"Prometheus counted {fivexx} 5xx, the client got {crashes}")

    # The access logs name the client, never HAProxy. A worker writes its
    # lines once a second (access.c), so the last second's may still be in
    # its buffer: every line is on disk within ACCESS_FLUSH_S more.
    def access_lines():
        return [c.log(os.path.join(c.host_dir(h), "access.log")).count("\n") for h in HOSTS]
    end = time.monotonic() + ACCESS_FLUSH_S + 2
    while sum(access_lines()) < requests and time.monotonic() < end:
        time.sleep(0.1)
    for i, h in enumerate(HOSTS):
        text = c.log(os.path.join(c.host_dir(h), "access.log"))
        need(f"{CLIENT_ADDR} - - [" in text, f"{h}'s access log never names the client")
        need(f"{lb_addr(i)} - - [" not in text, f"{h}'s access log names HAProxy ({lb_addr(i)})")
    lines = access_lines()
    need(sum(lines) == requests,
         f"{sum(lines)} access log lines {lines} for {requests} requests")

    # HAProxy never had to retry a request elsewhere (its log: the fifth
    # number of actconn/feconn/beconn/srv_conn/retries, after the
    # termination state): its retries would hide a refused connection
    retried = len(re.findall(r" [A-Za-z-]{4} \d+/\d+/\d+/\d+/\+?[1-9]\d* ",
                             c.haproxy_log()))
    print(f"  HAProxy: {retried} requests retried")
    need(retried == 0, f"HAProxy retried {retried} requests: mchost refused connections")

    # promtool on a real /metrics
    code, metrics = c.admin(0, "/metrics")
    need(code == 200, f"/metrics answered {code}")
    r = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True)
    need(r.returncode == 0, f"promtool check metrics:\n{r.stdout}{r.stderr}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mchost")
    p.add_argument("--v1")
    p.add_argument("--v2")
    p.add_argument("--contrib")
    p.add_argument("--load")
    p.add_argument("--out")
    p.add_argument("--seconds", type=float)
    p.add_argument("--max", type=int)
    p.add_argument("--threads", type=int)
    a = p.parse_args()
    if a.load:
        return load(a)
    if os.geteuid() != 0:
        print("SKIP: the cluster test needs root (network namespaces); CI runs it as root")
        return SKIP
    for tool in ("ip", "haproxy", "prometheus", "promtool", "curl"):
        if shutil.which(tool) is None:
            print(f"FAIL: {tool} is not installed (make test installs haproxy and prometheus)")
            return 1
    clean_dead_runs()
    c = Cluster(a)
    # A TERM from ctest (or a Ctrl-C) still removes the namespaces.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    t0 = time.monotonic()
    try:
        test(c)
    except Failed as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        c.down()
        keep = os.environ.get("MCHOST_TEST_KEEP_LOGS")
        if keep:
            print(f"logs kept in {c.dir}")
        else:
            shutil.rmtree(c.dir, ignore_errors=True)
    print(f"cluster: passed in {time.monotonic() - t0:.1f} s")
    print("1 passed, 0 failed")
    return 0


# ---- the load client (run inside the client namespace) ----

def load(a):
    """Threads with a keep-alive connection each, GET / until SIGUSR1, or
    --max requests, or --seconds. Writes a JSON summary to --out."""
    url = urllib.parse.urlparse(a.load)
    stop = threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: stop.set())
    lock = threading.Lock()
    res = {"sent": 0, "failed": 0, "status": {}, "bodies": {}, "errors": []}
    end = time.monotonic() + a.seconds

    def one_thread():
        conn = None
        while not stop.is_set() and time.monotonic() < end:
            with lock:
                if res["sent"] >= a.max:
                    return
                res["sent"] += 1
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=10)
                conn.request("GET", "/")
                r = conn.getresponse()
                body = r.read().decode(errors="replace").strip()
                ok = r.status == 200
                with lock:
                    res["status"][str(r.status)] = res["status"].get(str(r.status), 0) + 1
                    res["bodies"][body[:20]] = res["bodies"].get(body[:20], 0) + 1
                    if not ok:
                        res["failed"] += 1
                        if len(res["errors"]) < 10:
                            res["errors"].append(f"{r.status} {body[:80]}")
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    res["failed"] += 1
                    if len(res["errors"]) < 10:
                        res["errors"].append(repr(e))
                if conn is not None:
                    conn.close()
                conn = None

    threads = [threading.Thread(target=one_thread) for _ in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(a.out, "w") as f:
        json.dump(res, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
