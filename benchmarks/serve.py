"""`kiln serve` against the servers a team would otherwise deploy, under the same load.

For the breast-cancer MLP and the digits CNN bundles, each server runs in its own process on
127.0.0.1 and `wrk` (one thread, a Lua script that POSTs a fixed body) loads it at each
concurrency, for `--duration` seconds after a one-second warm-up:

    tutorial   FastAPI + pydantic body + one PyTorch forward per request (the seed's example)
    onnx       FastAPI + pydantic body + one ONNX Runtime call per request
    litserve   LitServe with batching (only when `import litserve` works; see BENCHMARKS.md)
    kiln       kiln serve (dynamic batching, prediction log on)
    kiln-w2    kiln serve --workers 2

Reported per run: requests/s (and rows/s), p50 and p99 latency, errors (non-2xx and socket
errors), start-up to ready, peak RSS per process; then the ratios the issue targets.

    .venv/bin/python benchmarks/serve.py                       # ~6 minutes on 2 cores
    .venv/bin/python benchmarks/serve.py --duration 3 --models mlp --concurrency 1 64
    KILN_BENCH_SERVE_ARGS="--monitor-every 1" .venv/bin/python benchmarks/serve.py ...

$KILN_BENCH_SERVE_ARGS: extra `kiln serve` flags for the kiln servers (e.g. the service's
own monitor check every second, to measure what it costs `/predict`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
SERVERS = ("tutorial", "onnx", "litserve", "kiln", "kiln-w2")
LUA = """local f = io.open("{body}", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
"""


def prepare(folder: Path, model: str) -> list[dict[str, Any]]:
    """A bundle and the PyTorch files of `model` under folder/model; returns test records."""
    sys.path.insert(0, str(ROOT / "tests" / "bundle"))
    import numpy as np
    from bundle_helpers import EXAMPLES, digits_frame, make_bundle
    from safetensors.torch import save_file

    from kiln import load_blueprint
    from kiln.blueprint import dump_blueprint
    from kiln.data.sources import load_sklearn

    if model == "mlp":
        bp = load_blueprint(EXAMPLES / "breast_cancer_mlp.yaml")
        frame = load_sklearn("breast_cancer").frame
    else:
        bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
        frame = digits_frame(1797)
    target = folder / model
    target.mkdir(parents=True)
    parts = make_bundle(bp, frame, target / "bundle")
    torch_dir = target / "torch"
    torch_dir.mkdir()
    (torch_dir / "blueprint.yaml").write_text(dump_blueprint(bp))
    (torch_dir / "signature.json").write_text(json.dumps(parts.signature.to_dict()))
    parts.preprocessor.save(torch_dir / "preprocessing.json")
    save_file({k: v.contiguous() for k, v in parts.model.state_dict().items()},
              str(torch_dir / "weights.safetensors"))
    return [{k: np.asarray(v).tolist() for k, v in r.items()} for r in parts.records]


def start(server: str, folder: Path, port: int, log: Path) -> tuple[subprocess.Popen[bytes],
                                                                     float]:
    """Start one server; returns the process and seconds from spawn to ready."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    if server.startswith("kiln"):
        cmd = [sys.executable, "-c", "from kiln.cli import main; main()", "serve",
               str(folder / "bundle"), "--port", str(port), "--no-admin", "--log", str(log)]
        if server == "kiln-w2":
            cmd += ["--workers", "2"]
        cmd += shlex.split(os.environ.get("KILN_BENCH_SERVE_ARGS", ""))
        health = "/v2/health/ready"
    else:
        cmd = [sys.executable, str(HERE / "serve_baselines.py"), server, str(folder), str(port)]
        health = "/health"
    started = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    while time.perf_counter() - started < 120:
        if process.poll() is not None:
            raise RuntimeError(f"{server} exited: {process.stderr.read().decode()[-2000:]}"
                               if process.stderr else server)
        try:
            if requests.get(f"http://127.0.0.1:{port}{health}", timeout=1).ok:
                return process, time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.02)
    process.kill()
    raise RuntimeError(f"{server} not ready after 120 s")


def wrk(port: int, body: Path, connections: int, seconds: float) -> dict[str, Any]:
    script = body.with_suffix(".lua")
    script.write_text(LUA.format(body=body))
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "--latency", "-s", str(script),
               f"http://127.0.0.1:{port}/predict"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    latency = {m[0]: _ms(m[1], m[2]) for m in
               re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + \
        (sum(int(g) for g in sockets.groups()) if sockets else 0)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore
    return {"rps": rps, "p50_ms": latency.get("50"), "p99_ms": latency.get("99"),
            "errors": errors, "requests": total}


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def peak_rss(pid: int) -> list[float]:
    """VmHWM (MB) of the process and each descendant (uvicorn / LitServe workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            out.append(int(status.split("VmHWM:")[1].split()[0]) / 1024)
        except (OSError, IndexError):
            pass
        todo.extend(children.get(current, []))
    return out


def bench_server(server: str, folder: Path, records: list[dict[str, Any]],
                 args: argparse.Namespace, port: int) -> dict[str, Any]:
    log = folder / f"{server}-log.db"
    process, ready_s = start(server, folder, port, log)
    result: dict[str, Any] = {"ready_s": ready_s, "runs": {}}
    try:
        for rows in args.rows:
            body = folder / f"body-{rows}.json"
            body.write_text(json.dumps({"records": (records * rows)[:rows]}))
            wrk(port, body, max(args.concurrency), 1)  # warm-up
            for c in args.concurrency:
                run = wrk(port, body, c, args.duration)
                run["rows_per_s"] = run["rps"] * rows
                result["runs"][f"rows={rows},c={c}"] = run
                print(f"  {server:9s} rows={rows:<3d} c={c:<3d} {run['rps']:9.0f} req/s "
                      f"p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms  "
                      f"errors {run['errors']}", flush=True)
        result["peak_rss_mb"] = peak_rss(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            result["exit_code"] = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            result["exit_code"] = "killed"
        with contextlib.suppress(ProcessLookupError):  # what the server left behind
            os.killpg(process.pid, signal.SIGKILL)  # (LitServe's workers outlive it)
    if server.startswith("kiln"):
        with sqlite3.connect(log) as conn:
            result["logged_rows"] = conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    return result


def litserve_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import litserve"], capture_output=True)
    return probe.returncode == 0


def ratios(table: dict[str, Any], c_max: int) -> dict[str, Any]:
    """The issue's targets, from one model's table."""
    def run(server: str, key: str) -> dict[str, Any] | None:
        return table.get(server, {}).get("runs", {}).get(key)

    top, one = f"rows=1,c={c_max}", "rows=1,c=1"
    kiln, tutorial, lit = run("kiln", top), run("tutorial", top), run("litserve", top)
    out: dict[str, Any] = {}
    if kiln and tutorial:
        out[f"kiln/tutorial rps at c={c_max}"] = kiln["rps"] / tutorial["rps"]
    if kiln and lit:
        out[f"kiln/litserve rps at c={c_max}"] = kiln["rps"] / lit["rps"]
    if run("kiln-w2", top) and tutorial:
        out[f"kiln-w2/tutorial rps at c={c_max}"] = run("kiln-w2", top)["rps"] \
            / tutorial["rps"]  # type: ignore[index]
    if kiln:
        out[f"kiln p99 at c={c_max} (ms)"] = kiln["p99_ms"]
    if run("kiln", one):
        out["kiln p50 at c=1 (ms)"] = run("kiln", one)["p50_ms"]  # type: ignore[index]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["mlp", "digits"])
    parser.add_argument("--servers", nargs="+", default=list(SERVERS))
    parser.add_argument("--concurrency", nargs="+", type=int, default=[1, 16, 64])
    parser.add_argument("--rows", nargs="+", type=int, default=[1, 16])
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--port", type=int, default=18700)
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args()
    servers = [s for s in args.servers if s != "litserve" or litserve_available()]
    if "litserve" in args.servers and "litserve" not in servers:
        print("litserve is not importable: skipped (see BENCHMARKS.md for its reference)")
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kiln-serve-bench-") as tmp:
        for model in args.models:
            records = prepare(Path(tmp), model)
            print(f"{model}:", flush=True)
            table = {s: bench_server(s, Path(tmp) / model, records, args, args.port + i)
                     for i, s in enumerate(servers)}
            report[model] = {"servers": table, "ratios": ratios(table, max(args.concurrency))}
            for server, result in table.items():
                print(f"  {server:9s} ready {result['ready_s']:.2f} s, peak RSS "
                      f"{', '.join(f'{m:.0f}' for m in result.get('peak_rss_mb', []))} MB, "
                      f"exit {result['exit_code']}"
                      + (f", logged rows {result['logged_rows']}" if "logged_rows" in result
                         else ""))
            for name, value in report[model]["ratios"].items():
                print(f"  {name}: {value:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
