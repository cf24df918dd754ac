defmodule SnakeBridge.RuntimeRestartTest do
  # Kills the runtime every other test shares: runs after the async tests, alone.
  use ExUnit.Case, async: false

  test "no Python worker outlives the runtime, and the next call starts a new one" do
    {:ok, workers} = SnakeBridge.workers()
    port = :persistent_term.get({SnakeBridge.Runtime.Server, :port})
    {:os_pid, runtime} = Port.info(port, :os_pid)
    System.cmd("kill", ["-9", Integer.to_string(runtime)])

    for %{pid: pid} <- workers, pid != nil do
      assert SnakeBridge.LifecycleTest.dead_within?(Integer.to_string(pid), 10_000),
             "worker #{pid} outlived its runtime"
    end

    assert SnakeBridge.call("math", "sqrt", [4]) == {:ok, 2.0}
  end
end
