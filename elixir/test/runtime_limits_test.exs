defmodule SnakeBridge.RuntimeLimitsTest do
  # Hostile and careless values: each is refused for its caller alone, and nothing else is
  # lost. See #13.
  use ExUnit.Case, async: true

  alias SnakeBridge.{Error, Ref, Runtime}

  @moduletag timeout: 120_000

  defp fixture(function, args, opts \\ []),
    do: Runtime.call(RuntimeFixture, function, args, opts)

  # An object another process made, which must survive whatever this test does.
  defp bystander do
    parent = self()

    spawn(fn ->
      {:ok, counter} = Runtime.call_class(RuntimeFixture.Counter, [1], [])
      send(parent, {:counter, counter})
      Process.sleep(:infinity)
    end)

    receive do
      {:counter, counter} -> counter
    end
  end

  defp nested(0), do: []
  defp nested(depth), do: [nested(depth - 1)]

  test "a request over the frame limit is refused before it is sent" do
    counter = bystander()
    big = :binary.copy("x", 70 * 1024 * 1024)
    assert {:error, %Error{kind: :too_large} = error} = fixture("identity", [big])
    assert error.message =~ "max_message_bytes"
    assert fixture("add", [1, 2]) == {:ok, 3}
    assert {:ok, 1} = Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
  end

  test "a frame over the limit that reaches the runtime is read past and answered alone" do
    counter = bystander()
    big = :binary.copy("x", 70 * 1024 * 1024)
    # As if the runtime's hello had not arrived yet: the runtime itself refuses the frame.
    id = System.unique_integer([:positive])
    frame = :erlang.term_to_binary({:call, id, %{args: [big]}})
    max = :persistent_term.get({SnakeBridge.Runtime.Server, :max_frame})
    :persistent_term.erase({SnakeBridge.Runtime.Server, :max_frame})

    try do
      assert {:reply, _, body} = SnakeBridge.Runtime.Server.request(id, frame, 30_000)
      assert {:error, %{kind: :too_large}} = :erlang.binary_to_term(body)
    after
      :persistent_term.put({SnakeBridge.Runtime.Server, :max_frame}, max)
    end

    assert {:ok, 1} = Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
  end

  test "values nested past max_depth are invalid requests, and nothing else is lost" do
    counter = bystander()

    for depth <- [1_500, 10_000, 100_000] do
      assert {:error, %Error{kind: :invalid_request} = error} =
               fixture("identity", [nested(depth)])

      assert error.message =~ "max_depth"
    end

    assert {:error, %Error{kind: :invalid_request}} = fixture("nested", [5_000])
    assert {:ok, [[[]]]} = fixture("nested", [2])
    assert {:ok, 1} = Runtime.get_attr(RuntimeFixture.Counter, counter, "value", [])
  end

  test "atoms Python makes arrive as strings unless the atom exists" do
    before = :erlang.system_info(:atom_count)
    assert {:ok, values} = fixture("new_atoms", [20_000, "sb_never_seen_"])
    # Other tests load code meanwhile, which makes a few atoms; 20,000 would be these.
    assert :erlang.system_info(:atom_count) - before < 5_000
    assert List.last(values) == :ok
    assert Enum.take(values, 2) == ["sb_never_seen_0", "sb_never_seen_1"]

    for name <- ["sb_never_seen_0", "sb_never_seen_19999"] do
      assert_raise ArgumentError, fn -> String.to_existing_atom(name) end
    end
  end

  test "references nested in arguments choose the session" do
    counter = bystander()
    assert {:ok, [[%Ref{} = same]]} = fixture("identity", [[[counter]]])
    assert same.session == counter.session
  end

  test "a reference whose owner exited says why it is gone" do
    parent = self()

    owner =
      spawn(fn ->
        {:ok, counter} = Runtime.call_class(RuntimeFixture.Counter, [1], [])
        send(parent, {:counter, counter})
      end)

    counter =
      receive do
        {:counter, counter} -> counter
      end

    ref = Process.monitor(owner)
    assert_receive {:DOWN, ^ref, :process, _, _}

    message =
      Enum.find_value(1..50, fn _ ->
        case Runtime.get_attr(RuntimeFixture.Counter, counter, "value", []) do
          {:error, %Error{message: message}} -> message
          {:ok, _} -> Process.sleep(50) && nil
        end
      end)

    assert message =~ "with its session"
  end
end
