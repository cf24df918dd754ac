defmodule SnakeBridge.CallbacksTest do
  use ExUnit.Case, async: true

  alias SnakeBridge.{Error, Runtime}

  defp fixture(function, args, opts \\ []),
    do: Runtime.call(RuntimeFixture, function, args, opts)

  test "an anonymous function and a capture become Python callables" do
    assert SnakeBridge.call("functools", "reduce", [fn a, b -> a + b end, [1, 2, 3]]) ==
             {:ok, 6}

    assert SnakeBridge.call("builtins", "sorted", [["ccc", "a", "bb"]], key: &String.length/1) ==
             {:ok, ["a", "bb", "ccc"]}
  end

  test "a callback runs in the calling process, with its state" do
    Process.put(:seen, [])

    record = fn x ->
      Process.put(:seen, [{self(), x} | Process.get(:seen)])
      x * 2
    end

    assert fixture("apply", [&Enum.map(&1, record), [1, 2]]) == {:ok, [2, 4]}
    assert Process.get(:seen) == [{self(), 2}, {self(), 1}]
  end

  test "a callback that calls Python nests, as deep as Python likes" do
    # Each level is an Elixir function that calls Python, which calls the next level.
    down = fn
      0, _ ->
        :bottom

      n, down ->
        {:ok, value} = fixture("apply", [fn m -> down.(m, down) end, n - 1])
        value
    end

    assert fixture("apply", [fn n -> down.(n, down) end, 50]) == {:ok, :bottom}
  end

  test "an exception in a callback becomes a Python exception with its message" do
    boom = fn -> raise ArgumentError, "no such thing" end

    assert fixture("caught", [boom]) ==
             {:ok, ["snakebridge_worker.ElixirError", "no such thing", "ArgumentError"]}

    assert {:error, %Error{python_type: "snakebridge.ElixirError", message: message}} =
             fixture("apply", [fn -> throw(:ball) end])

    assert message =~ ":ball"
  end

  # Found by the benchmark: each call left its stream to be reset, and after about a thousand
  # the worker's connection was refused as "excessive load generating behavior".
  test "thousands of calls with callbacks in a row all return" do
    for _ <- 1..2_500 do
      assert SnakeBridge.call("functools", "reduce", [fn a, b -> a + b end, [1, 2]]) == {:ok, 3}
    end
  end

  test "a result or exception too large for the runtime reaches Python as an error" do
    for fun <- [
          fn -> String.duplicate("x", 70_000_000) end,
          fn -> raise String.duplicate("x", 70_000_000) end
        ] do
      assert {:ok, ["snakebridge_worker.ElixirError", message, "SnakeBridge.TooLarge"]} =
               fixture("caught", [fun], __runtime__: [timeout: 10_000])

      assert message =~ "the Elixir function's result is"
      assert message =~ "max_message_bytes"
    end
  end

  test "a callable Python keeps fails clearly once its call has returned" do
    assert {:ok, _} = fixture("keep", [fn -> :never end])

    assert {:error, %Error{python_type: "snakebridge.ElixirError", message: message}} =
             fixture("call_kept", [])

    assert message =~ "after the call it was passed to returned"
  end

  # scipy is not installed in CI; `pip install scipy` runs these (see elixir/test/test_helper.exs).
  @tag :scipy
  test "a scipy optimizer and integrator take objectives written in Elixir" do
    assert {:ok, result} =
             SnakeBridge.call("scipy.optimize", "minimize_scalar", [fn x -> (x - 2) * (x - 2) end])

    # An `OptimizeResult` is a dict: it comes back as a map.
    assert_in_delta result["x"], 2.0, 1.0e-6

    assert {:ok, {area, _error}} = SnakeBridge.call("scipy.integrate", "quad", [&(&1 * &1), 0, 3])
    assert_in_delta area, 9.0, 1.0e-9
  end
end
