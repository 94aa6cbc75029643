"""A submission that looks around the machine from inside the sandbox.

Its scaled_dot_product_attention walks the file system for anything of the
grader's (notebooks, gradebooks, solutions/, results), tries to plant a file
in every folder it can reach, to open the network and to become root, then
raises an error whose message is a JSON report of what it saw. The grader
records that message in results.json, where tests/test_threats.py reads it.
"""
SNOOP_MARK = "pwned-by-snoop"

SNOOP_CELL = '''import json, os, socket, sys, time

SNOOP_MARK = "%s"
GRADER_NAMES = {"gradebook.db", "results.json", "course.toml", "timestamp.txt", "nbgrader_config.py"}
GRADER_DIRS = {"solutions", "source", "submitted", "autograded", "release", "feedback", "exchange",
               "autograder", "tests", "exercises"}

def plant(folder):
    try:
        with open(os.path.join(folder, SNOOP_MARK), "w") as handle:
            handle.write("the sandbox let me write here")
        return True
    except OSError:
        return False

def snoop():
    report = {"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),
              "env": sorted(k for k in os.environ if any(w in k for w in ("NBGRADER", "AUTOGRADER", "COURSE", "JPY"))),
              "hits": [], "written": [], "net": [], "imports": [], "parents": {}, "procs": [],
              "root": None, "interfaces": [], "home": sorted(os.listdir(os.path.expanduser("~")))}
    prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
    skip = {"/proc", "/sys", "/dev", "/usr"} | prefixes
    started = time.monotonic()
    for top, dirs, names in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(top, d) not in skip]
        for name in names + dirs:
            if name.endswith((".ipynb", ".db", ".sqlite")) or name in GRADER_NAMES or name in GRADER_DIRS:
                report["hits"].append(os.path.join(top, name))
        if not top.startswith(("/home/student", "/tmp")) and plant(top):
            report["written"].append(top)
        if time.monotonic() - started > 2.5:
            report["hits"].append("(walk cut short)")
            break
    for folder in sorted(prefixes) + ["/usr", "/usr/local", "/grader", "/etc"]:
        if plant(folder):
            report["written"].append(folder)
    for prefix in prefixes:  # what sits next to the Python installations it was given
        path = prefix
        while path != "/":
            path = os.path.dirname(path)
            try:
                report["parents"][path] = sorted(os.listdir(path))
            except OSError as error:
                report["parents"][path] = type(error).__name__
    for pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                report["procs"].append(handle.read().replace(b"\\0", b" ").decode()[:70])
        except OSError:
            pass
    for host, port in [("127.0.0.1", 5432), ("127.0.0.1", 22), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            report["net"].append(f"{host}:{port}")
        except OSError:
            pass
    report["interfaces"] = [name for _, name in socket.if_nameindex()]
    for module in ("autograder", "attnlib"):
        try:
            __import__(module)
            report["imports"].append(module)
        except ImportError:
            pass
    try:
        os.setuid(0)
        report["root"] = "became root"
    except OSError as error:
        report["root"] = type(error).__name__
    report["hits"] = report["hits"][:25]
    return report

def scaled_dot_product_attention(queries, keys, values, valid_lens=None):
    raise RuntimeError("SNOOP " + json.dumps(snoop(), separators=(",", ":")))
''' % SNOOP_MARK
