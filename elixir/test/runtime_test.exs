defmodule SnakeBridge.RuntimeTest do
  use ExUnit.Case, async: true

  alias SnakeBridge.{Error, Ref, Runtime}

  defp fixture(function, args, opts \\ []),
    do: Runtime.call(RuntimeFixture, function, args, opts)

  describe "values" do
    test "cross to Python and back unchanged" do
      for value <- [
            nil,
            true,
            42,
            -7,
            123_456_789_012_345_678_901_234_567_890,
            2.5,
            "héllo",
            [1, [2, "x"]],
            %{"a" => %{"b" => nil}},
            {1, "two", {3}},
            :reflect,
            %{1 => "one", {2, 3} => "pair"},
            %{key: "atom keys"},
            MapSet.new([1, 2, 3]),
            <<0, 255, 1>>,
            %SnakeBridge.Complex{real: 1.5, imag: -2.0},
            ~D[2026-11-28],
            ~T[23:59:01],
            ~N[2026-11-28 05:19:10.000250],
            ~U[2026-11-28 05:19:10Z]
          ] do
        assert fixture("identity", [value]) == {:ok, value}, inspect(value)
      end
    end

    test "arrive as the Python types they stand for" do
      for {value, type} <- [
            {:mean, "Atom"},
            {{1, 2}, "tuple"},
            {MapSet.new([1]), "set"},
            {SnakeBridge.Bytes.new("text"), "bytes"},
            {"text", "str"},
            {[1], "list"},
            {%{"a" => 1}, "dict"},
            {~D[2026-11-28], "date"},
            {~N[2026-11-28 05:19:10], "datetime"}
          ] do
        assert fixture("describe", [value]) == {:ok, type}
      end
    end

    test "that Python has and Elixir lacks come back in Elixir's terms" do
      assert {:ok, values} = fixture("special_values", [])
      assert values["set"] == MapSet.new([1, 2])
      assert values["frozenset"] == MapSet.new(["a"])
      assert values["tuple"] == {1, "two", nil}
      assert values["bytes"] == <<0, 255>>
      assert values["int_keys"] == %{1 => "one", {2, 3} => "pair"}
      assert values["complex"] == %SnakeBridge.Complex{real: 1.5, imag: -2.0}
      assert values["inf"] == :infinity
      assert values["nan"] == :nan
      assert values["big"] == 2 ** 100
      assert values["nested"] == [%{"a" => {1, 2}}]
    end

    test "that cannot cross are refused with the reason" do
      assert {:error, %Error{kind: :invalid_request, message: message}} =
               fixture("identity", [self()])

      assert message =~ "cannot be sent to Python"

      assert {:error, %Error{message: message}} = fixture("identity", [1..2])
      assert message =~ "%Range{} cannot be sent to Python"
    end

    test "an aware datetime comes back as the same instant in UTC" do
      paris =
        DateTime.from_naive!(~N[2026-11-28 06:19:10], "Etc/UTC")
        |> Map.merge(%{time_zone: "Europe/Paris", zone_abbr: "CET", utc_offset: 3600})

      assert {:ok, utc} = fixture("identity", [paris])
      assert utc == ~U[2026-11-28 05:19:10Z]
      assert DateTime.compare(utc, paris) == :eq
    end

    test "keyword options are Python keyword arguments" do
      assert fixture("add", [1], b: 41) == {:ok, 42}
    end
  end

  describe "errors" do
    test "a Python exception is an error tuple with type, message and traceback" do
      assert {:error, %Error{kind: :python, python_type: "runtime_fixture.Fails"} = error} =
               fixture("fails", ["nope"])

      assert error.message == "nope"
      assert error.traceback =~ "runtime_fixture.py"
      assert Exception.message(error) == "runtime_fixture.Fails: nope"
    end

    test "bang variants raise it" do
      assert_raise Error, "runtime_fixture.Fails: raised", fn ->
        Runtime.call!(RuntimeFixture, "fails", ["raised"], [])
      end
    end

    test "a call past its timeout fails with kind :timeout" do
      assert {:error, %Error{kind: :timeout}} = fixture("sleep", [5], __runtime__: [timeout: 200])
    end
  end

  describe "objects" do
    test "an instance is a reference used by methods and attributes" do
      assert {:ok, %Ref{python_type: "runtime_fixture.Counter"} = counter} =
               Runtime.call_class(RuntimeFixture.Counter, [10], [])

      assert Runtime.call_method(RuntimeFixture.Counter, counter, "incr", [], by: 5) == {:ok, 15}
      assert Runtime.get_attr(RuntimeFixture.Counter, counter, "value", []) == {:ok, 15}
      assert Runtime.set_attr(counter, "value", 1) == {:ok, nil}
      assert Runtime.get_attr(RuntimeFixture.Counter, counter, "value", []) == {:ok, 1}
      assert SnakeBridge.release(counter) == {:ok, true}

      assert {:error, %Error{python_type: "snakebridge.RefNotFoundError"}} =
               Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
    end

    # See #10: a reference showed no value in IEx.
    test "a reference shows its type and a short repr when inspected" do
      {:ok, list} = fixture("identity", [Enum.to_list(1..100_000)], __runtime__: [returns: :ref])

      shown = inspect(list)
      assert shown =~ ~r/^#SnakeBridge.Ref<builtins.list \S+ \[1, 2, 3, 4, 5, 6, \.\.\.\]>$/
      assert {:ok, "[1, 2, 3, 4, 5, 6, ...]"} = SnakeBridge.repr(list)
      assert {:ok, "[1, 2,..."} = SnakeBridge.repr(list, 9)

      # From another process, and once released: the type and id, no error.
      assert Task.await(Task.async(fn -> inspect(list) end)) == shown
      assert SnakeBridge.release(list) == {:ok, true}
      assert inspect(list) == "#SnakeBridge.Ref<builtins.list #{list.id}>"
    end

    test "references pass between calls, even from another process" do
      {:ok, counter} = Runtime.call_class(RuntimeFixture.Counter, [1], [])

      task =
        Task.async(fn -> Runtime.call_method(RuntimeFixture.Counter, counter, "incr", [], []) end)

      assert Task.await(task) == {:ok, 2}
    end

    test "two sessions are isolated from each other" do
      one = SnakeBridge.new_session()
      two = SnakeBridge.new_session()

      {:ok, counter} =
        Runtime.call_class(RuntimeFixture.Counter, [0], __runtime__: [session: one])

      assert {:error, %Error{python_type: "snakebridge.SessionMismatchError", message: message}} =
               fixture("identity", [counter], __runtime__: [session: two])

      assert message =~ "belongs to session"
      assert SnakeBridge.release_session(one) == {:ok, 1}
      assert SnakeBridge.release_session(two) == {:ok, 0}
    end

    test "with_session frees what the block created" do
      counter =
        SnakeBridge.with_session(fn ->
          {:ok, counter} = Runtime.call_class(RuntimeFixture.Counter, [0], [])
          counter
        end)

      assert {:error, %Error{python_type: "snakebridge.RefNotFoundError"}} =
               Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
    end

    test "a process's objects are freed when it exits" do
      {:ok, counter} =
        Task.async(fn -> Runtime.call_class(RuntimeFixture.Counter, [0], []) end)
        |> Task.await()

      # The runtime releases the session when it sees the process go; give it a moment.
      Process.sleep(200)

      assert {:error, %Error{python_type: "snakebridge.RefNotFoundError"}} =
               Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
    end
  end

  describe "streams" do
    test "a generator is a lazy Stream" do
      assert Runtime.stream(RuntimeFixture, "countdown", [3], []) |> Enum.to_list() == [3, 2, 1]

      assert Runtime.stream(RuntimeFixture, "forever", [], []) |> Enum.take(250) ==
               Enum.to_list(0..249)
    end

    test "a generator returned by a call iterates through its reference" do
      {:ok, generator} = fixture("countdown", [2])
      assert Runtime.iterate(generator) |> Enum.to_list() == [2, 1]
    end

    test "an error while iterating raises" do
      assert_raise Error, ~r/generator failed after 2 items/, fn ->
        Runtime.stream(RuntimeFixture, "fail_after", [2], []) |> Enum.to_list()
      end
    end

    test "the Python iterator closes when the stream halts early or its consumer dies" do
      dir = System.tmp_dir!()
      halted = Path.join(dir, "snakebridge-halted-#{System.unique_integer([:positive])}")
      assert Runtime.stream(RuntimeFixture, "watched", [halted], []) |> Enum.take(3) == [0, 1, 2]
      assert eventually(fn -> File.read(halted) == {:ok, "closed"} end)

      died = Path.join(dir, "snakebridge-died-#{System.unique_integer([:positive])}")
      test = self()

      consumer =
        spawn(fn ->
          Runtime.stream(RuntimeFixture, "watched", [died], [])
          |> Stream.each(fn n -> send(test, {:item, n}) end)
          |> Stream.each(fn _ -> Process.sleep(:infinity) end)
          |> Stream.run()
        end)

      assert_receive {:item, 0}, 5_000
      Process.exit(consumer, :kill)
      assert eventually(fn -> File.read(died) == {:ok, "closed"} end)
      File.rm(halted)
      File.rm(died)
    end
  end

  defp eventually_after(check, tries) do
    Process.sleep(50)
    eventually(check, tries)
  end

  defp eventually(check, tries \\ 100) do
    cond do
      check.() -> true
      tries == 0 -> false
      true -> eventually_after(check, tries - 1)
    end
  end

  describe "dynamic calls" do
    test "call any function by name, and land in the ledger" do
      assert SnakeBridge.call("math", "sqrt", [16]) == {:ok, 4.0}
      assert SnakeBridge.call("os.path", "join", ["a", "b"]) == {:ok, "a/b"}
      project = Application.fetch_env!(:snakebridge, :project_dir)
      ledger = File.read!(Path.join(project, ".snakebridge/ledger.json"))
      assert ledger =~ ~s("function": "sqrt")
      assert ledger =~ ~s("module": "os.path")
    end

    # See #10: a call that failed was offered for promotion.
    test "a dynamic call that fails stays out of the ledger" do
      assert {:error, %SnakeBridge.Error{}} = SnakeBridge.call("math", "no_such_function", [1])
      project = Application.fetch_env!(:snakebridge, :project_dir)
      ledger = Path.join(project, ".snakebridge/ledger.json")
      refute File.exists?(ledger) and File.read!(ledger) =~ "no_such_function"
    end
  end

  test "the pool serves concurrent callers" do
    results =
      1..200
      |> Task.async_stream(fn i -> fixture("add", [i, 1]) end, max_concurrency: 50)
      |> Enum.map(fn {:ok, result} -> result end)

    assert results == Enum.map(1..200, &{:ok, &1 + 1})
    # A slot may be between workers: another test replaces the one it hung.
    assert {:ok, [%{slot: 0}, %{slot: 1}]} = SnakeBridge.workers()
  end

  # See #10: a classmethod or staticmethod wrapper lives in its class's module.
  test "class and static methods are called on their class" do
    assert {:ok, %Ref{} = counter} = Runtime.call(RuntimeFixture.Counter, "starting_at", [5], [])
    assert Runtime.get_attr(RuntimeFixture.Counter, counter, "value", []) == {:ok, 5}
    assert Runtime.call(RuntimeFixture.Counter, "double", [4], []) == {:ok, 8}
  end

  # See #10: a list of pairs was taken for keyword options (`Counter.new([{"x", 1}])`).
  test "only a list starting with an {atom, value} pair is options" do
    require Runtime
    assert Runtime.is_opts([])
    assert Runtime.is_opts(axis: 0)
    refute Runtime.is_opts([{"x", 1}, {"y", 5}])
    refute Runtime.is_opts([{1, 2}, {3, 4}])
    refute Runtime.is_opts([{:a, 1, 2}])
    refute Runtime.is_opts([1, 2])
  end

  defmodule DatetimeDate do
    @moduledoc false
    def __snakebridge__, do: [library: "datetime", python_module: "datetime", class: "date"]
  end

  # See #10: a method called on a value that crossed as data raised FunctionClauseError.
  test "a method on a value that crosses as data is called on its class" do
    assert Runtime.call_method(DatetimeDate, ~D[2024-03-01], "strftime", ["%A"], []) ==
             {:ok, "Friday"}

    assert {:error, %Error{kind: :python}} =
             Runtime.call_method(RuntimeFixture.Counter, :oops, "incr", [], [])
  end

  # Found by the conformance suite: a property read on such a value raised FunctionClauseError.
  test "a property of a value that crosses as data is read from the object it decodes to" do
    assert Runtime.get_attr(DatetimeDate, ~D[2024-03-01], "year", []) == {:ok, 2024}

    assert {:error, %Error{python_type: "AttributeError"}} =
             Runtime.get_attr(DatetimeDate, ~D[2024-03-01], "nope", [])
  end
end
