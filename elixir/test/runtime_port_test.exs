defmodule SnakeBridge.RuntimePortTest do
  # Ends the runtime every other test shares: runs after the async tests, alone. See #13.
  use ExUnit.Case, async: false

  alias SnakeBridge.{Error, Runtime}

  test "whatever ends the port, every waiting caller is told at once and the next call restarts it" do
    port = :persistent_term.get({SnakeBridge.Runtime.Server, :port})
    waiting = Task.async(fn -> Runtime.call(RuntimeFixture, "sleep", [30], []) end)
    Process.sleep(500)
    # What the VM sends when writing to the port failed, without an exit status.
    send(Process.whereis(SnakeBridge.Runtime.Server), {:EXIT, port, :epipe})
    assert {:error, %Error{kind: :runtime_unavailable}} = Task.await(waiting, 5_000)
    assert Runtime.call(RuntimeFixture, "add", [1, 2], []) == {:ok, 3}
  end
end
