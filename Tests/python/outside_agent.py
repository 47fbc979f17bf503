#!/usr/bin/env python3
"""An agent for Frontier's coordinator written from proto/frontier.proto alone (pyzmq + protoc).

It checks that the coordinator trusts nothing an agent says: forged results, failures, late
results, lease claims and identities are refused with the reason the proto names. One line per
check, `PASS name` or `FAIL name: why`; exit status 1 when any check failed.

  outside_agent.py selftest                    build and round-trip every message (no coordinator)
  outside_agent.py loopback --endpoint E --store DIR --expect-out F
  outside_agent.py curve --endpoint E --server-key coordinator.pub --key-dir D --key-name node7 --expect-out F
  outside_agent.py verify-store --store DIR --expect F   (after the coordinator has exited)

frontier_pb2 is generated into a temporary folder with `protoc --python_out` unless --pb2-dir
names a folder that has it.
"""
import argparse, atexit, datetime, importlib, json, math, os, platform, shutil, signal, socket, sqlite3, subprocess, sys, tempfile, time
from pathlib import Path

import zmq

PROTOCOL_VERSION = 2  # Envelope.protocol_version, "2 (this file)"
REPO = Path(__file__).resolve().parents[2]
pb = None  # the generated module, set by load_pb2


def load_pb2(pb2_dir=None, proto=REPO / "proto" / "frontier.proto"):
    """frontier_pb2 from `pb2_dir`, generated there first if absent (default: a temporary folder)."""
    global pb
    if pb2_dir is None:
        pb2_dir = tempfile.mkdtemp(prefix="frontier-pb2-")
        atexit.register(shutil.rmtree, pb2_dir, True)
    if not (Path(pb2_dir) / "frontier_pb2.py").exists():
        Path(pb2_dir).mkdir(parents=True, exist_ok=True)
        subprocess.run(["protoc", f"--python_out={pb2_dir}", "-I", str(proto.parent), str(proto)], check=True)
    sys.path.insert(0, str(pb2_dir))
    pb = importlib.import_module("frontier_pb2")
    return pb


# ---------------------------------------------------------------------------------------------
# Checks

class Abort(Exception):
    """A check failed that later checks depend on."""


failures = []


def check(name, ok, why=""):
    print(f"PASS {name}" if ok else f"FAIL {name}: {why}", flush=True)
    if not ok:
        failures.append(name)
    return ok


def require(name, ok, why=""):
    if not check(name, ok, why):
        raise Abort(name)


def note(text):
    print(f"NOTE {text}", flush=True)


def reason_name(value):
    return pb.Reject.Reason.Name(value) if value in pb.Reject.Reason.values() else str(value)


def show(kind, msg):
    text = " ".join(str(msg).split())
    return f"{kind}{{{text[:300]}}}"


# ---------------------------------------------------------------------------------------------
# The agent: one DEALER socket, one frame = one Envelope.

def read_key(path):
    """A key file: the Z85 key on its own line; blank and `#` lines allowed around it."""
    lines = [l.strip() for l in Path(path).read_text().splitlines()]
    keys = [l for l in lines if l and not l.startswith("#")]
    if len(keys) != 1 or len(keys[0]) != 40:
        raise ValueError(f"{path}: expected one 40-character Z85 key")
    return keys[0].encode()


class Agent:
    def __init__(self, ctx, endpoint, agent_id, device_class="outside-cpu", curve=None):
        self.ctx, self.endpoint, self.agent_id, self.device_class, self.curve = ctx, endpoint, agent_id, device_class, curve
        self.inbox = []            # (kind, message) not yet taken by a wait
        self.leases = {}           # trial_id -> attempt: named by heartbeats
        self.silent = False        # True: no heartbeats at all (a crashed or stalled agent)
        self.welcome = None
        self.beat_every = 1.0
        self.next_beat = 0.0
        self.echoes = 0
        self.sock = None
        self.connect()

    def connect(self):
        if self.sock is not None:
            self.sock.close(linger=0)
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        if self.curve:  # (secret, public, server) as Z85 bytes
            self.sock.curve_secretkey, self.sock.curve_publickey, self.sock.curve_serverkey = self.curve
        self.sock.connect(self.endpoint)
        self.welcome = None

    def send(self, **body):
        env = pb.Envelope(protocol_version=PROTOCOL_VERSION, **body)
        self.sock.send(env.SerializeToString())

    def hello(self, running=()):
        fp = fingerprint(self.device_class)
        caps = pb.Capabilities(
            techniques=["magnitude-pruning", "head-pruning", "ffn-pruning", "layer-dropping", "early-exit",
                        "token-pruning", "quantization", "max-seq-len"],
            kernels=["dense", "sparse", "int8", "fp16", "bf16"],
            tasks=["sst-2", "mrpc", "cola", "sts-b", "qqp", "mnli", "qnli", "rte", "wnli", "squad"],
            isa_features=list(fp.cpu_flags), memory_bytes=fp.memory_total_bytes or (16 << 30), trains=False)
        self.send(hello=pb.Hello(agent_id=self.agent_id, device_class=self.device_class, threads=1,
                                 engine_version="outside-agent/1", running_trial_ids=list(running),
                                 capabilities=caps, fingerprint=fp))

    def drain(self):
        """Everything the socket holds now, into the inbox (heartbeat echoes are only counted)."""
        while self.sock.poll(0):
            env = pb.Envelope()
            env.ParseFromString(self.sock.recv())
            kind = env.WhichOneof("body")
            if env.protocol_version != PROTOCOL_VERSION:
                note(f"{self.agent_id}: a {kind} with protocol_version {env.protocol_version}")
            if kind == "heartbeat":
                self.echoes += 1
                continue
            msg = getattr(env, kind) if kind else None
            if kind == "reject" and msg.trial_id:  # that lease is gone: stop naming it
                self.leases.pop(msg.trial_id, None)
            self.inbox.append((kind, msg))

    def beat(self, now):
        if self.silent or self.welcome is None or now < self.next_beat:
            return
        for trial_id, attempt in (self.leases.items() or [("", 0)]):
            self.send(heartbeat=pb.Heartbeat(trial_id=trial_id, attempt=attempt))
        self.next_beat = now + self.beat_every


class Fleet:
    """Agents sharing one thread: every wait keeps all of them heartbeating and reading."""

    def __init__(self):
        self.agents = []

    def add(self, agent):
        self.agents.append(agent)
        return agent

    def pump(self, seconds):
        poller = zmq.Poller()
        for a in self.agents:
            poller.register(a.sock, zmq.POLLIN)
        now = time.monotonic()
        for a in self.agents:
            a.beat(now)
        poller.poll(max(0, int(seconds * 1000)))
        for a in self.agents:
            a.drain()

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.pump(min(left, 0.05))

    def wait(self, agent, kinds, accept=lambda m: True, timeout=10.0):
        """The first message for `agent` of one of `kinds` that `accept`s, or None after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            for i, (kind, msg) in enumerate(agent.inbox):
                if kind in kinds and accept(msg):
                    del agent.inbox[i]
                    return kind, msg
            if time.monotonic() >= deadline:
                return None, None
            self.pump(min(0.05, deadline - time.monotonic()))

    # Exchanges

    def hello(self, agent, running=(), timeout=10.0):
        agent.hello(running)
        kind, msg = self.wait(agent, ("welcome", "reject"), timeout=timeout)
        if kind == "welcome":
            agent.welcome = msg
            agent.beat_every = max(0.05, msg.heartbeat_interval_ms / 1000 / 2)  # well inside the interval
            agent.next_beat = 0
        return kind, msg

    def request(self, agent, timeout=10.0):
        agent.send(work_request=pb.WorkRequest())
        # A Reject naming a trial is about that lease, not an answer to this request.
        kind, msg = self.wait(agent, ("assignment", "no_work", "reject", "shutdown"),
                              lambda m: not isinstance(m, pb.Reject) or not m.trial_id, timeout=timeout)
        if kind == "assignment":
            agent.leases[msg.trial_id] = msg.attempt
        return kind, msg

    def work(self, agent, timeout=30.0):
        """Asks until an Assignment comes (NoWork: wait retry_after_ms); None on timeout or finish."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kind, msg = self.request(agent, timeout=max(0.1, deadline - time.monotonic()))
            if kind == "assignment":
                return msg
            if kind != "no_work" or msg.sweep_finished:
                note(f"{agent.agent_id} asked for work and got {show(kind, msg)}")
                return None
            self.sleep(min(max(msg.retry_after_ms, 50) / 1000, max(0, deadline - time.monotonic())))
        return None

    def result(self, agent, trial_id, attempt, trial_result, timeout=10.0):
        """Sends a Result and returns its Ack (or a Reject, or None)."""
        agent.leases.pop(trial_id, None)  # finished: heartbeats stop naming it
        agent.send(result=pb.Result(trial_id=trial_id, attempt=attempt, result=trial_result))
        kind, msg = self.wait(agent, ("ack", "reject"), lambda m: m.trial_id in (trial_id, ""), timeout=timeout)
        if kind == "ack" and msg.attempt != attempt:
            note(f"the Ack for {trial_id} attempt {attempt} names attempt {msg.attempt}")
        return msg

    def heartbeat(self, agent, trial_id, attempt, timeout=5.0):
        """One Heartbeat naming (trial_id, attempt), outside the timer: the Reject, or None if echoed."""
        agent.inbox = [(k, m) for k, m in agent.inbox if not (k == "reject" and m.trial_id == trial_id)]  # stale
        echoes = agent.echoes
        agent.send(heartbeat=pb.Heartbeat(trial_id=trial_id, attempt=attempt))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kind, msg = self.wait(agent, ("reject",), lambda m: m.trial_id == trial_id or not m.trial_id, timeout=0.05)
            if kind:
                return msg
            if agent.echoes > echoes and agent.silent:
                return None
        return None


# ---------------------------------------------------------------------------------------------
# Results

def fingerprint(device_class):
    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    flags = sorted(set(info.get("flags", "").split()) & {"avx", "avx2", "fma", "avx512f", "avx512_vnni", "f16c"})
    memory = None
    try:
        memory = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    fp = pb.DeviceFingerprint(hostname=socket.gethostname() or "outside-host", cpu_vendor=info.get("vendor_id", "unknown"),
                              cpu_model=info.get("model name", "unknown cpu"), cpu_flags=flags,
                              logical_cpus=os.cpu_count() or 1, threads_used=1, kernel=platform.release(), os=platform.system(),
                              engine_version="outside-agent/1", device_class=device_class, device_class_source="override")
    if memory:
        fp.memory_total_bytes = memory
    return fp


def configuration(spec_json, strict=[True]):
    """Assignment.spec_json as the TrialConfiguration it is said to be ("what `run --spec` reads, typed").
    The first key that TrialConfiguration lacks is a FAIL (a contract mismatch); later specs parse leniently."""
    from google.protobuf import json_format
    if strict[0]:
        try:
            return json_format.Parse(spec_json, pb.TrialConfiguration())
        except json_format.ParseError as e:
            strict[0] = False
            check("spec_json parses as a TrialConfiguration", False, f"{e}; spec_json {spec_json[:400]}")
    return json_format.Parse(spec_json, pb.TrialConfiguration(), ignore_unknown_fields=True)


def honest_result(assignment, device_class, accuracy=0.875):
    config = configuration(assignment.spec_json)
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = lambda t: t.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    r = pb.TrialResult(status=pb.TrialResult.OK, configuration=config, task=config.task, model=config.model,
                       examples=config.limit if config.HasField("limit") else 64, metrics={"accuracy": accuracy},
                       latency_p50_ms=2.0, latency_p90_ms=2.5, latency_p99_ms=3.0, throughput_examples_per_s=400.0,
                       throughput_tokens_per_s=12800.0, peak_rss_mb=120.0, device=fingerprint(device_class),
                       started_at=stamp(now - datetime.timedelta(seconds=1)), finished_at=stamp(now),
                       engine_version="outside-agent/1", trial_id=assignment.trial_id)
    r.timings.total_s = 1.0
    return r


def failed_result(config_task="SST-2"):
    return pb.TrialResult(status=pb.TrialResult.FAILED, failure_reason="forged: out of memory",
                          configuration=pb.TrialConfiguration(task=config_task), task=config_task,
                          device=fingerprint("outside-cpu"))


# name -> (how to break an honest result, words of which the Ack's note must name one)
MALFORMED = {
    "metrics-empty": (lambda r: r.metrics.clear(), ("metrics",)),
    "configuration-missing": (lambda r: r.ClearField("configuration"), ("configuration",)),
    "accuracy-nan": (lambda r: r.metrics.__setitem__("accuracy", float("nan")), ("accuracy", "metrics")),
    "task-mismatch": (lambda r: setattr(r, "task", "MRPC"), ("task",)),
    "configuration-task-mismatch": (lambda r: setattr(r.configuration, "task", "MRPC"), ("task", "configuration")),
    "accuracy-out-of-range": (lambda r: r.metrics.__setitem__("accuracy", 1.5), ("accuracy", "metrics")),
    "examples-zero": (lambda r: setattr(r, "examples", 0), ("examples",)),
    "device-missing": (lambda r: r.ClearField("device"), ("device",)),
    "latency-negative": (lambda r: setattr(r, "latency_p50_ms", -1.0), ("latency",)),
}


# ---------------------------------------------------------------------------------------------
# The store (read-only; SQLite in WAL mode reads fine beside the running coordinator)

class Store:
    def __init__(self, folder, timeout=15.0):
        path = Path(folder) / "frontier.sqlite"
        deadline = time.monotonic() + timeout
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)

    def rows(self, sql, *args):
        return self.db.execute(sql, args).fetchall()

    def trial(self, trial_id):
        row = self.rows("SELECT state, attempt, agent_id FROM trials WHERE trial_id = ?", trial_id)
        return row[0] if row else None

    def snapshot(self, trial_id):
        return (self.trial(trial_id), self.rows("SELECT attempt, agent_id, outcome FROM attempts WHERE trial_id = ? "
                                                "ORDER BY attempt", trial_id),
                self.rows("SELECT attempt, agent_id FROM results WHERE trial_id = ?", trial_id))

    def until(self, condition, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.05)


def acked(ack, accepted, reasons=(), words=()):
    """Whether an Ack is as expected; the 'why' for a FAIL line."""
    if ack is None:
        return False, "no answer"
    if not isinstance(ack, pb.Ack):
        return False, f"got a Reject {reason_name(ack.reason)} ({ack.detail}) instead of an Ack"
    got = f"accepted={ack.accepted} reason={reason_name(ack.reason)} note={ack.note!r}"
    if ack.accepted != accepted or (reasons and reason_name(ack.reason) not in reasons):
        return False, f"expected accepted={accepted} {'/'.join(reasons)}, got {got}"
    if words and not any(w in ack.note.lower() for w in words):
        return False, f"the note names none of {words}: {got}"
    return True, got


# ---------------------------------------------------------------------------------------------
# Scenarios

def loopback(args):
    ctx, fleet, store = zmq.Context.instance(), Fleet(), Store(args.store)
    victim = fleet.add(Agent(ctx, args.endpoint, "victim"))
    mallory = fleet.add(Agent(ctx, args.endpoint, "mallory"))
    owners, assigned = {}, []  # trial_id -> (agent, attempt) of the accepted result; every assignment seen

    for a in (victim, mallory):
        kind, msg = fleet.hello(a)
        require(f"hello {a.agent_id}", kind == "welcome", show(kind, msg))
    trials = [r[0] for r in store.rows("SELECT trial_id FROM trials ORDER BY trial_id")]
    require("store lists the grid's trials", len(trials) >= 3, f"trials: {trials}")
    dc = trials[0].rsplit("@", 1)[1]

    def take(agent):
        a = fleet.work(agent)
        if a is None:
            require(f"{agent.agent_id} gets an assignment", False, "no Assignment within 30 s")
        configuration(a.spec_json)  # raises on a spec that is not a TrialConfiguration
        assigned.append((a.trial_id, a.attempt, agent.agent_id))
        return a

    def finish(agent, a, name):
        ok, why = acked(fleet.result(agent, a.trial_id, a.attempt, honest_result(a, agent.device_class)), True)
        if check(name, ok, why):
            owners[a.trial_id] = (agent.agent_id, a.attempt)

    # (a) a success for a trial nobody holds, and for a trial that does not exist
    pending = trials[0]
    before = store.snapshot(pending)
    ack = fleet.result(mallory, pending, 1, honest_result(pb.Assignment(trial_id=pending, spec_json=spec_of(store, pending)),
                                                          mallory.device_class))
    check("a: success for an unleased trial refused", *acked(ack, False, ("NOT_LEASE_HOLDER",)))
    fleet.sleep(0.5)
    check("a: the unleased trial is unchanged", store.snapshot(pending) == before, f"{before} -> {store.snapshot(pending)}")
    ack = fleet.result(mallory, f"no-such-point@{dc}", 1, failed_result())
    check("a: result for a made-up trial refused", *acked(ack, False, ("UNKNOWN_TRIAL",)))

    # (b) failures for a trial never leased to anyone
    never = trials[-1]
    before = store.snapshot(never)
    for attempt in (1, 2, 3):
        ack = fleet.result(mallory, never, attempt, failed_result())
        check(f"b: forged failure attempt {attempt} refused", *acked(ack, False, ("NOT_LEASE_HOLDER",)))
    fleet.sleep(0.5)
    check("b: forged failures change nothing", store.snapshot(never) == before, f"{before} -> {store.snapshot(never)}")

    # (c) a success and a failure for the victim's leased trial
    a = take(victim)
    ack = fleet.result(mallory, a.trial_id, a.attempt, honest_result(a, mallory.device_class, accuracy=0.99))
    check("c: success for another agent's lease refused", *acked(ack, False, ("NOT_LEASE_HOLDER",)))
    ack = fleet.result(mallory, a.trial_id, a.attempt, failed_result())
    check("c: failure for another agent's lease refused", *acked(ack, False, ("NOT_LEASE_HOLDER",)))
    fleet.sleep(0.5)  # a store write the forgery caused would land now
    held = lambda: (row := store.trial(a.trial_id)) is not None and row[0] == "leased" and row[2] == "victim"
    check("c: the lease is still the victim's", store.until(held), f"trials row {store.trial(a.trial_id)}")
    finish(victim, a, "c: the victim's result accepted")
    ack = fleet.result(victim, a.trial_id, a.attempt, honest_result(a, victim.device_class))
    check("c: the victim's resend is a DUPLICATE", *acked(ack, False, ("DUPLICATE",)))
    ack = fleet.result(mallory, a.trial_id, a.attempt, honest_result(a, mallory.device_class))
    check("c: mallory's result for a done trial refused", *acked(ack, False, ("DUPLICATE", "NOT_LEASE_HOLDER")))

    # (e) mallory reconnects claiming the victim's running trial
    a = take(victim)
    mallory.connect()
    kind, msg = fleet.hello(mallory, running=[a.trial_id])
    require("e: mallory's Hello claiming the victim's trial is answered", kind == "welcome", show(kind, msg))
    kind, msg = fleet.wait(mallory, ("reject",), lambda m: m.trial_id == a.trial_id, timeout=1.0)
    note(f"e: after the Welcome, mallory's claim was answered with {show(kind, msg) if kind else 'nothing'}")
    rej = fleet.heartbeat(mallory, a.trial_id, a.attempt)
    check("e: mallory's heartbeat for the victim's trial rejected", rej is not None and reason_name(rej.reason) == "NOT_LEASE_HOLDER",
          "echoed" if rej is None else show("reject", rej))
    fleet.sleep(2.5 * args.lease_s)
    row = store.trial(a.trial_id)
    check("e: the victim keeps its lease past lease_ms", row and row[0] == "leased" and row[2] == "victim" and row[1] == a.attempt,
          f"trials row {row}, victim heard {[show(k, m) for k, m in victim.inbox]}")
    lost = [m for k, m in victim.inbox if k == "reject" and m.trial_id == a.trial_id]
    check("e: the victim's heartbeats are not rejected", not lost, str([show("reject", m) for m in lost]))
    finish(victim, a, "e: the victim's result accepted")

    # (f) malformed results from the lease holder: refused, the attempt ends, the trial runs again
    invalid = []
    for name, (breaker, words) in MALFORMED.items():
        a = take(victim)
        broken = honest_result(a, victim.device_class)
        breaker(broken)
        ack = fleet.result(victim, a.trial_id, a.attempt, broken)
        check(f"f: {name} refused naming the field", *acked(ack, False, ("INVALID_RESULT",), words))
        invalid.append((a.trial_id, a.attempt))

    # Honest work until one trial is left, for (d).
    for _ in range(3 * len(trials)):
        if len(set(trials) - set(owners)) <= 1:
            break
        finish(victim, take(victim), "honest result accepted")

    # (d) mallory takes the last trial and goes silent; the victim gets it as the next attempt
    a = take(mallory)
    mallory.silent = True
    b = fleet.work(victim, timeout=6 * args.lease_s + 10)
    require("d: the silent agent's trial is handed on", b is not None and b.trial_id == a.trial_id and b.attempt == a.attempt + 1,
            f"mallory had {a.trial_id} attempt {a.attempt}; the victim got {b and (b.trial_id, b.attempt)}")
    assigned.append((b.trial_id, b.attempt, "victim"))
    rej = fleet.heartbeat(mallory, a.trial_id, a.attempt)
    if rej is not None and reason_name(rej.reason) == "NOT_WELCOMED":
        note("d: the coordinator forgot silent mallory (NOT_WELCOMED); mallory says Hello again, as the proto asks")
        fleet.hello(mallory)
        rej = fleet.heartbeat(mallory, a.trial_id, a.attempt)
    check("d: the late heartbeat is rejected LEASE_EXPIRED", rej is not None and reason_name(rej.reason) == "LEASE_EXPIRED",
          "echoed or unanswered" if rej is None else show("reject", rej))
    ack = fleet.result(mallory, a.trial_id, a.attempt, honest_result(a, mallory.device_class, accuracy=0.99))
    check("d: the late result is refused LEASE_EXPIRED", *acked(ack, False, ("LEASE_EXPIRED",)))
    finish(victim, b, "d: the victim's next attempt accepted")

    for trial_id, attempt in invalid:
        check(f"f: {trial_id} attempt {attempt} ran again as attempt {attempt + 1}",
              any(t == trial_id and n == attempt + 1 for t, n, _ in assigned), f"assignments {assigned}")
    check("every trial has an accepted result", set(owners) == set(trials), f"missing {set(trials) - set(owners)}")
    write_expect(args.expect_out, owners, refused=["mallory"])


def spec_of(store, trial_id):
    row = store.rows("SELECT p.spec_json FROM trials t JOIN points p ON p.key = t.point_key WHERE t.trial_id = ?", trial_id)
    return row[0][0] if row else "{}"


def curve(args):
    ctx, fleet = zmq.Context.instance(), Fleet()
    keys = (read_key(Path(args.key_dir) / f"{args.key_name}.secret"), read_key(Path(args.key_dir) / f"{args.key_name}.pub"),
            read_key(args.server_key))
    plain = fleet.add(Agent(ctx, args.endpoint, args.agent_id))
    plain.hello()
    kind, msg = fleet.wait(plain, ("welcome", "reject"), timeout=2.0)
    check("curve: a client without CURVE hears nothing", kind is None, show(kind, msg))
    fleet.agents.remove(plain)
    plain.sock.close(linger=0)

    liar = fleet.add(Agent(ctx, args.endpoint, args.refused_id, curve=keys))
    kind, msg = fleet.hello(liar)
    check(f"curve: {args.key_name}'s key claiming {args.refused_id} refused",
          kind == "reject" and reason_name(msg.reason) == "IDENTITY_REFUSED", show(kind, msg))
    fleet.agents.remove(liar)
    liar.sock.close(linger=0)

    sibling = fleet.add(Agent(ctx, args.endpoint, f"{args.key_name}-b", curve=keys))
    kind, msg = fleet.hello(sibling)
    check(f"curve: {args.key_name}'s key admits {args.key_name}-b", kind == "welcome", show(kind, msg))
    fleet.agents.remove(sibling)
    sibling.sock.close(linger=0)

    agent = fleet.add(Agent(ctx, args.endpoint, args.agent_id, curve=keys))
    kind, msg = fleet.hello(agent)
    require(f"curve: {args.agent_id} welcomed", kind == "welcome", show(kind, msg))
    note(f"Welcome under CURVE: key_name={msg.key_name!r} key_fingerprint={msg.key_fingerprint!r}")
    check("curve: Welcome names the key", msg.key_name != "", show(kind, msg))
    a = fleet.work(agent)
    require("curve: assignment", a is not None, "no Assignment")
    fleet.sleep(0.5)
    ack = fleet.result(agent, a.trial_id, a.attempt, honest_result(a, agent.device_class))
    check("curve: result accepted", *acked(ack, True))
    write_expect(args.expect_out, {a.trial_id: (args.agent_id, a.attempt)}, refused=[args.refused_id])


def write_expect(path, owners, refused):
    if path:
        Path(path).write_text(json.dumps({"owners": {t: {"agent": o, "attempt": n} for t, (o, n) in owners.items()},
                                          "refused": refused}, indent=1))


def verify_store(args):
    expect = json.loads(Path(args.expect).read_text())
    store = Store(args.store)
    trials = {t: (s, n, a) for t, s, n, a in store.rows("SELECT trial_id, state, attempt, agent_id FROM trials")}
    results = store.rows("SELECT trial_id, attempt, agent_id, result_pb FROM results")  # a serialised TrialResult
    check("store: every trial done", trials and all(s == "done" for s, _, _ in trials.values()), str(trials))
    per_trial = {}
    for t, n, a, _ in results:
        per_trial.setdefault(t, []).append((a, n))
    check("store: exactly one result per trial", set(per_trial) == set(trials) and all(len(v) == 1 for v in per_trial.values()),
          str(per_trial))
    for t, owner in expect["owners"].items():
        got = per_trial.get(t, [])
        check(f"store: {t} stored from {owner['agent']} attempt {owner['attempt']}",
              got == [(owner["agent"], owner["attempt"])], f"results rows {got}")
    bad = [r[:3] for r in results if r[2] in expect["refused"]]
    check("store: no result from a refused agent", not bad, str(bad))
    stored = {t: pb.TrialResult.FromString(blob or b"") for t, _, _, blob in results}
    bad = [t for t, r in stored.items() if r.status != pb.TrialResult.OK or set(r.metrics) != {"accuracy"}
           or not all(math.isfinite(v) for v in r.metrics.values())]
    check("store: stored results are OK with finite metrics", not bad, str({t: stored[t] for t in bad})[:1000])
    try:  # informative only: the table and its reason names are the coordinator's to choose
        for reason, agent, n in store.rows("SELECT reason, agent_id, count(*) FROM refusals GROUP BY reason, agent_id"):
            note(f"store refusals: {n} x {reason} from {agent}")
    except sqlite3.Error as e:
        note(f"no refusals table ({e})")


def selftest(args):
    a = pb.Assignment(trial_id="p1@any", attempt=1, spec_json='{"model":"/m","task":"SST-2","data":"/d","limit":8,'
                      '"max_seq_len":64,"techniques":[{"name":"magnitude-pruning","sparsity":0.5}]}', lease_ms=2000)
    bodies = dict(hello=pb.Hello(agent_id="x", device_class="c", capabilities=pb.Capabilities(tasks=["sst-2"]),
                                 fingerprint=fingerprint("c")),
                  welcome=pb.Welcome(heartbeat_interval_ms=400, lease_ms=2000), work_request=pb.WorkRequest(), assignment=a,
                  no_work=pb.NoWork(retry_after_ms=100), heartbeat=pb.Heartbeat(trial_id="p1@any", attempt=1),
                  result=pb.Result(trial_id="p1@any", attempt=1, result=honest_result(a, "c")),
                  ack=pb.Ack(trial_id="p1@any", accepted=False, reason=pb.Reject.INVALID_RESULT, note="metrics"),
                  reject=pb.Reject(reason=pb.Reject.IDENTITY_REFUSED), shutdown=pb.Shutdown(sweep_finished=True))
    for kind, body in bodies.items():
        wire = pb.Envelope(protocol_version=PROTOCOL_VERSION, **{kind: body}).SerializeToString()
        back = pb.Envelope.FromString(wire)
        check(f"selftest: {kind} round-trips", back.WhichOneof("body") == kind and getattr(back, kind) == body
              and len(wire) < 4 << 20, show(kind, back))
    check("selftest: spec_json parses as TrialConfiguration", configuration(a.spec_json).max_seq_len == 64)
    for name, (breaker, _) in MALFORMED.items():
        r = honest_result(a, "c")
        breaker(r)
        check(f"selftest: malformed {name} differs", r != honest_result(a, "c") and pb.TrialResult.FromString(r.SerializeToString()) is not None)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pb2-dir", help="a folder with frontier_pb2.py (default: generate with protoc)")
    p.add_argument("--deadline-s", type=float, default=240, help="fail everything still running after this long")
    sub = p.add_subparsers(dest="mode", required=True)
    sub.add_parser("selftest")
    s = sub.add_parser("loopback")
    s.add_argument("--endpoint", required=True)
    s.add_argument("--store", required=True)
    s.add_argument("--lease-s", type=float, default=2.0)
    s.add_argument("--expect-out")
    s = sub.add_parser("curve")
    for flag in ("--endpoint", "--server-key", "--key-dir", "--key-name"):
        s.add_argument(flag, required=True)
    s.add_argument("--agent-id", default="node7")
    s.add_argument("--refused-id", default="victim3")
    s.add_argument("--expect-out")
    s = sub.add_parser("verify-store")
    s.add_argument("--store", required=True)
    s.add_argument("--expect", required=True)
    args = p.parse_args()

    def expired(*_):
        raise TimeoutError(f"still running after {args.deadline_s} s")
    signal.signal(signal.SIGALRM, expired)
    signal.alarm(int(args.deadline_s))
    load_pb2(args.pb2_dir)
    try:
        {"selftest": selftest, "loopback": loopback, "curve": curve, "verify-store": verify_store}[args.mode](args)
    except Abort as e:
        print(f"FAIL stopped: '{e}' failed and later checks depend on it", flush=True)
    except Exception as e:  # a hang or a protocol surprise is a failure, with its reason
        import traceback
        traceback.print_exc()
        check("no exception", False, f"{type(e).__name__}: {e}")
    finally:
        signal.alarm(0)
    print(f"{'FAILED' if failures else 'OK'}: {len(failures)} failed", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
