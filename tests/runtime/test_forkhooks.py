"""Forks without threading's and logging's at-fork hooks: only when safe, and undone everywhere.

Each test runs in a fresh interpreter: the hook lists are the process's own, and pytest's
process may have threads or frozen objects.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

PRELUDE = textwrap.dedent(
    """
    import json, logging, os, random, sys, threading
    from tradewind.runtime import forkhooks

    def in_child(report):
        '''Fork; the child returns report() (JSON) through a pipe.'''
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            os.write(write, json.dumps(report()).encode())
            os._exit(0)
        os.close(write)
        data = b""
        while chunk := os.read(read, 65536):
            data += chunk
        os.waitpid(pid, 0)
        return json.loads(data)

    def modules(lists):
        return [sorted({getattr(h, "__module__", None) or "-" for h in lst}) for lst in lists]

    found = forkhooks.find()
    parent_lock = threading._active_limbo_lock  # threading's hook replaces it in a child
    """
)


def run(body: str) -> Any:
    script = PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_hook_lists_are_found_and_left_as_they_were() -> None:
    result = run(
        """
        before, parent, child = forkhooks._lists
        print(json.dumps({
            "found": found,
            "threading_in_child_list": threading._after_fork in child,
            "logging_before": [getattr(h, "__module__", None) for h in before],
            "markers_left": any(getattr(h, "__name__", "") == "<lambda>" for lst in forkhooks._lists for h in lst),
        }))
        """
    )
    assert result == {
        "found": True,
        "threading_in_child_list": True,
        "logging_before": ["logging"],
        "markers_left": False,
    }


def test_a_fork_in_the_block_skips_threading_and_logging_only_and_the_lists_come_back() -> None:
    result = run(
        """
        original = [list(lst) for lst in forkhooks._lists]
        random.seed(7)
        with forkhooks.skipped():
            children = [
                in_child(lambda: {
                    "same_lock": threading._active_limbo_lock is parent_lock,
                    "random": random.random(),
                    "lists": modules(forkhooks._lists),
                })
                for _ in range(2)
            ]
        print(json.dumps({
            "children": children,
            "parent_random": random.random(),
            "restored": [list(lst) for lst in forkhooks._lists] == original,
            "normal_fork_same_lock": in_child(lambda: threading._active_limbo_lock is parent_lock),
        }))
        """
    )
    first, second = result["children"]
    assert first["same_lock"] and second["same_lock"]  # threading's hook did not run
    assert first["lists"] == [[], [], ["random"]]  # only random's reseeding is left...
    assert len({first["random"], second["random"], result["parent_random"]}) == 3  # ...and it ran
    assert result["restored"]
    assert result["normal_fork_same_lock"] is False  # outside the block, every hook runs


def test_a_child_restores_the_hooks_for_its_own_forks() -> None:
    result = run(
        """
        def child():
            forkhooks.restore()
            return {
                "lists": modules(forkhooks._lists),
                "grandchild_same_lock": in_child(lambda: threading._active_limbo_lock is parent_lock),
            }

        with forkhooks.skipped():
            print(json.dumps(in_child(child)))
        """
    )
    assert result["lists"] == [["logging"], ["logging"], ["logging", "random", "threading"]]
    assert result["grandchild_same_lock"] is False


def test_with_another_thread_alive_every_hook_runs() -> None:
    result = run(
        """
        release = threading.Event()
        helper = threading.Thread(target=release.wait)
        helper.start()
        with forkhooks.skipped():
            report = in_child(lambda: {
                "same_lock": threading._active_limbo_lock is parent_lock,
                "alone": threading.active_count() == 1,
            })
        release.set()
        helper.join()
        print(json.dumps(report))
        """
    )
    assert result == {"same_lock": False, "alone": True}


def test_threads_and_logging_work_in_a_child_forked_without_the_hooks() -> None:
    result = run(
        """
        read, write = os.pipe()
        logging.getLogger().addHandler(logging.StreamHandler(os.fdopen(write, "w", buffering=1)))

        def child():
            seen = []
            thread = threading.Thread(target=lambda: seen.append(threading.current_thread().name), name="t")
            thread.start()
            thread.join(10)
            logging.getLogger("x").warning("from the child")
            return {"seen": seen, "alive": thread.is_alive(), "count": threading.active_count()}

        with forkhooks.skipped():
            report = in_child(child)
        report["logged"] = os.read(read, 1000).decode()
        print(json.dumps(report))
        """
    )
    assert result == {"seen": ["t"], "alive": False, "count": 1, "logged": "from the child\n"}
