defmodule SnakeBridge.TelemetryTest do
  # Handlers are global: not async.
  use ExUnit.Case, async: false

  alias SnakeBridge.Telemetry

  setup do
    test = self()

    handler = fn event, measurements, metadata, _ ->
      send(test, {:event, event, measurements, metadata})
    end

    events = for e <- [:start, :stop, :exception], do: [:snakebridge, :call, e]
    :ok = Telemetry.attach("telemetry-test", events, handler, nil)
    on_exit(fn -> Telemetry.detach("telemetry-test") end)
  end

  test "a call emits start and stop with its duration" do
    {:ok, 3} = SnakeBridge.Runtime.call(RuntimeFixture, "add", [1, 2], [])

    assert_receive {:event, [:snakebridge, :call, :start], %{system_time: _}, start_meta}
    assert start_meta.function == "add"
    assert start_meta.library == "runtime_fixture"
    assert_receive {:event, [:snakebridge, :call, :stop], %{duration: duration}, _}
    assert duration > 0
  end

  test "a failed call emits an exception event with the error" do
    {:error, _} = SnakeBridge.Runtime.call(RuntimeFixture, "fails", ["x"], [])

    assert_receive {:event, [:snakebridge, :call, :exception], %{duration: _},
                    %{
                      kind: :error,
                      reason: %SnakeBridge.Error{python_type: "runtime_fixture.Fails"}
                    }}
  end

  test "a handler that raises is detached and calls go on" do
    :ok =
      Telemetry.attach(
        "bad",
        [[:snakebridge, :call, :stop]],
        fn _, _, _, _ -> raise "boom" end,
        nil
      )

    ExUnit.CaptureLog.capture_log(fn ->
      {:ok, 2} = SnakeBridge.Runtime.call(RuntimeFixture, "add", [1, 1], [])
    end)

    refute Enum.any?(Telemetry.list_handlers(), &(&1.id == "bad"))
  end
end
