#!/usr/bin/python3
"""Checks that interrupting the "alignlab" kernel stops a running cell.

Jupyter's interrupt (■) reaches GoNB as an interrupt_request (the
kernelspec's interrupt_mode is "message"); GoNB sends the cell's program
SIGINT and kills it 5 s later if it still runs. notebook.RunLive and
notebook.CellContext catch that SIGINT: the run stops at its next step, the
live chart says "interrupted at step N" and the cell ends by itself.

This script drives the kernel as Jupyter does (jupyter_client): it runs the
first cell and an import cell, starts a cell whose dpo.rdpo run would take
hours, waits until the live chart is being fed, interrupts the kernel and
requires:

  - the cell's execute_reply within LIMIT_S of the interrupt;
  - that the program ended by itself, not killed: RunLive returned an error
    that is notebook.ErrInterrupted, the final chart says "interrupted at
    step N", and no "signal: ..." line is on stderr;
  - that the kernel still runs a cell afterwards.

It prints "nbinterrupt: cell stopped X s after the interrupt ..." and exits
1 on any failure. scripts/run-notebooks.sh runs it with the kernel it
installed (JUPYTER_DATA_DIR etc. set); run alone, it uses the same scratch
dirs under build/jupyter, so run `make notebooks` once first.
"""

import os
import queue
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for var, sub in (("JUPYTER_DATA_DIR", "data"), ("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime")):
    os.environ.setdefault(var, os.path.join(ROOT, "build", "jupyter", sub))

from jupyter_client.manager import KernelManager  # noqa: E402 (after the env above)

KERNEL = "alignlab"
START_S = 120  # kernel start
CELL_S = 300  # a cell, compilation included (cold caches are slow)
LIMIT_S = 60  # interrupt → execute_reply; GoNB itself kills after 5 s
STEPS = 10_000_000  # hours of training: only the interrupt can end it

FIRST_CELL = "!*go mod edit -require=github.com/alignlab/alignlab@v0.0.0 -replace=github.com/alignlab/alignlab=${GONB_DIR}/.."
IMPORT_CELL = """import (
	"errors"
	"fmt"

	_ "github.com/alignlab/alignlab/algos/all"
	"github.com/alignlab/alignlab/kernel"
	"github.com/alignlab/alignlab/kernel/notebook"
)
"""
LONG_CELL = """%%
ctx, stop := notebook.CellContext()
defer stop()
_, err := notebook.RunLive(ctx, "dpo.rdpo", kernel.Options{Params: map[string]any{"steps": STEPS}}, "loss")
fmt.Printf("nbinterrupt: RunLive returned: %v\\n", err)
fmt.Printf("nbinterrupt: ErrInterrupted: %v\\n", errors.Is(err, notebook.ErrInterrupted))
fmt.Printf("nbinterrupt: cell context done: %v\\n", ctx.Err() != nil)
""".replace("STEPS", str(STEPS))
QUICK_CELL = """%%
fmt.Println("nbinterrupt: kernel still runs cells")
"""


class Failure(Exception):
    pass


class Cell:
    """The messages of one execute_request."""

    def __init__(self, code):
        self.code = code
        self.stdout = ""
        self.stderr = ""
        self.html = []  # text/html of display_data and update_display_data, in order
        self.errors = []  # error outputs: "ename: evalue"
        self.reply = None

    def text(self):
        return self.stdout + self.stderr + "".join(e + "\n" for e in self.errors)


def execute(kc, cell, deadline_s, until=None, on_until=None):
    """Runs cell.code and collects its messages until its execute_reply.

    When until(cell) first becomes true, on_until() is called once, and the
    deadline restarts from then: deadline_s bounds the rest.
    Returns the time.monotonic() at which the reply arrived.
    """
    msg_id = kc.execute(cell.code, store_history=True, allow_stdin=False)
    t0 = time.monotonic()
    deadline = t0 + deadline_s
    fired = until is None
    while cell.reply is None:
        now = time.monotonic()
        if now > deadline:
            what = "after the interrupt" if until is not None and fired else "to run"
            raise Failure(f"the cell took more than {deadline_s} s {what}; its output so far:\n{tail(cell.text())}")
        try:
            msg = kc.get_iopub_msg(timeout=0.1)
        except queue.Empty:
            msg = None
        if msg is not None and msg["parent_header"].get("msg_id") == msg_id:
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                if content.get("name") == "stderr":
                    cell.stderr += content.get("text", "")
                else:
                    cell.stdout += content.get("text", "")
            elif kind in ("display_data", "update_display_data", "execute_result"):
                html = content.get("data", {}).get("text/html")
                if html is not None:
                    cell.html.append(html)
            elif kind == "error":
                cell.errors.append(f"{content.get('ename')}: {content.get('evalue')}")
        if not fired and until(cell):
            fired = True
            on_until()
            t0 = time.monotonic()
            deadline = t0 + deadline_s
        try:
            reply = kc.get_shell_msg(timeout=0.01)
        except queue.Empty:
            reply = None
        if reply is not None and reply["parent_header"].get("msg_id") == msg_id and reply["msg_type"] == "execute_reply":
            cell.reply = reply["content"]
    replied = time.monotonic()
    # The reply can overtake the last iopub messages: drain what is left.
    drain_until = replied + 2
    while time.monotonic() < drain_until:
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            if content.get("name") == "stderr":
                cell.stderr += content.get("text", "")
            else:
                cell.stdout += content.get("text", "")
        elif kind in ("display_data", "update_display_data"):
            html = content.get("data", {}).get("text/html")
            if html is not None:
                cell.html.append(html)
        elif kind == "status" and content.get("execution_state") == "idle":
            break
    return replied


def tail(s, n=25):
    lines = [l for l in s.splitlines() if not re.match(r"^[IWEF]\d{4} ", l)]  # klog lines
    return "\n".join("    " + l for l in lines[-n:])


def ok(cell, what):
    r = cell.reply
    if r.get("status") != "ok" or cell.errors:
        raise Failure(f"{what}: status {r.get('status')} ({r.get('ename')}: {r.get('evalue')}); output:\n{tail(cell.text())}")


def main():
    km = KernelManager(kernel_name=KERNEL)
    # GoNB's GONB_DIR is its working directory: the notebooks' folder, as
    # when Jupyter opens a notebook there.
    km.start_kernel(cwd=os.path.join(ROOT, "notebooks"))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=START_S)

        first = Cell(FIRST_CELL)
        execute(kc, first, CELL_S)
        ok(first, "first cell")
        imports = Cell(IMPORT_CELL)
        execute(kc, imports, CELL_S)
        ok(imports, "import cell")

        # Interrupt once the live chart is being fed (a feed is a script
        # calling setOption): the plugin is then in its training loop.
        long = Cell(LONG_CELL)
        feeding = lambda c: any("setOption" in h for h in c.html)
        sent = []

        def interrupt():
            time.sleep(1)  # a few more points on the chart
            sent.append(time.monotonic())
            km.interrupt_kernel()

        replied = execute(kc, long, LIMIT_S, until=feeding, on_until=interrupt)
        if not sent:
            raise Failure(f"the cell ended before it was interrupted; its output:\n{tail(long.text())}")
        secs = replied - sent[0]

        got = re.search(r"nbinterrupt: RunLive returned: (dpo\.rdpo: interrupted at step (\d+) / (\d+))", long.stdout)
        if not got:
            raise Failure(f"RunLive did not return the interrupted error; the cell's output:\n{tail(long.text())}")
        step = int(got.group(2))
        if "nbinterrupt: ErrInterrupted: true" not in long.stdout or "nbinterrupt: cell context done: true" not in long.stdout:
            raise Failure(f"the error is not notebook.ErrInterrupted, or the cell context is not done:\n{tail(long.text())}")
        if re.search(r"signal: (interrupt|killed)", long.stderr):
            raise Failure(f"the cell's program was killed by a signal instead of stopping:\n{tail(long.text())}")
        final = f"interrupted at step {step} / {STEPS}"
        if not any(final in h and "window.echarts" in h for h in long.html):
            raise Failure(f"no final chart saying {final!r} among the cell's {len(long.html)} HTML outputs")
        ok(long, "interrupted cell")
        if not 0 < step < STEPS:
            raise Failure(f"stopped at step {step}, want one in (0, {STEPS})")

        quick = Cell(QUICK_CELL)
        execute(kc, quick, CELL_S)
        ok(quick, "the cell after the interrupt")
        if "nbinterrupt: kernel still runs cells" not in quick.stdout:
            raise Failure(f"the cell after the interrupt printed nothing:\n{tail(quick.text())}")

        print(f"nbinterrupt: cell stopped {secs:.2f} s after the interrupt ({final}); the kernel runs the next cell")
        return 0
    except Failure as e:
        print(f"nbinterrupt: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    sys.exit(main())
