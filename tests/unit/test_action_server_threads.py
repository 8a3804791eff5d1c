"""caredesk/action_server.py runs each action call in a worker thread: an action's synchronous CRM
work no longer blocks the event loop that serves every other conversation's calls."""

import asyncio
import threading
import time

from caredesk.action_server import run_in_worker_thread

BLOCKING_S = 0.4


class BlockingExecutor:
    """Stands in for rasa_sdk's ActionExecutor: its run blocks, as a database call does."""

    async def run(self, action_call):
        time.sleep(BLOCKING_S)
        return {"call": action_call, "thread": threading.get_ident()}


async def test_two_blocking_actions_run_side_by_side_and_the_loop_keeps_serving():
    threaded = run_in_worker_thread(BlockingExecutor.run)
    ticks = []

    async def loop_is_free():
        for _ in range(5):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.02)

    started = time.perf_counter()
    first, second, _ = await asyncio.gather(threaded(BlockingExecutor(), 1), threaded(BlockingExecutor(), 2),
                                            loop_is_free())
    elapsed = time.perf_counter() - started
    assert (first["call"], second["call"]) == (1, 2)
    assert threading.get_ident() not in (first["thread"], second["thread"])
    assert elapsed < 2 * BLOCKING_S  # on the loop they would have taken one after the other
    assert ticks[-1] - started < BLOCKING_S  # the loop ran the ticker while both actions blocked


async def test_an_action_error_still_reaches_the_servers_error_handler():
    class Failing:
        async def run(self, action_call):
            raise ValueError("broken action")

    threaded = run_in_worker_thread(Failing.run)
    try:
        await threaded(Failing(), {})
    except ValueError as error:
        assert str(error) == "broken action"
    else:
        raise AssertionError("the error was swallowed")


def test_the_action_servers_app_uses_the_threaded_executor(monkeypatch, tmp_path):
    from rasa_sdk import endpoint

    from caredesk.action_server import create_app
    from common.settings import load_settings

    monkeypatch.setenv("CAREDESK_VAR_DIR", str(tmp_path))
    monkeypatch.setattr(endpoint, "ActionExecutor", endpoint.ActionExecutor)  # restored after the test
    create_app(load_settings(), "actions")
    assert endpoint.ActionExecutor.__name__ == "ThreadedActionExecutor"
