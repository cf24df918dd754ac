defmodule SnakeBridge.Runtime.Server do
  @moduledoc """
  Owns the Erlang port to `snakebridge runtime serve`, which runs the project's Python
  worker pool, and routes replies to the processes waiting for them.

  Callers encode and decode their own terms and write their requests to the port
  themselves, so neither large values nor the request path pass through this process; it
  receives the replies and hands each to the process waiting for it (an ETS table says
  which). Every process that calls Python gets its own session, released when the process
  exits.

  Configuration (`config :snakebridge, ...`):

    * `:binary` - the `snakebridge` executable; default `$SNAKEBRIDGE_BIN`, then `PATH`.
    * `:project_dir` - the project whose `snakebridge.toml` configures the pool; default
      the current directory.
    * `:start` - `:lazy` (default) starts the pool on the first call, `:eager` at boot.
  """

  use GenServer

  @doc false
  def start_link(opts \\ []), do: GenServer.start_link(__MODULE__, opts, name: __MODULE__)

  @doc false
  def child_spec(opts) do
    %{id: __MODULE__, start: {__MODULE__, :start_link, [opts]}, shutdown: 5_000}
  end

  @pending :snakebridge_pending
  @conversation :"$snakebridge_conversation"
  # The flags bit of a callback frame.
  @callback_flag 4

  @doc """
  Sends an encoded request and waits for its reply: `{:reply, flags, body}` or
  `{:error, reason_map}`.
  """
  def request(id, frame, timeout) do
    with {:ok, port} <- port(),
         :ok <- fits(frame) do
      server = Process.whereis(__MODULE__)
      monitor = Process.monitor(server)
      :ets.insert(@pending, {id, self()})

      try do
        Port.command(port, frame)
        await(id, monitor, timeout)
      rescue
        ArgumentError -> {:error, %{kind: :runtime_unavailable, message: "the runtime exited"}}
      after
        Process.demonitor(monitor, [:flush])
        :ets.delete(@pending, id)
      end
    end
  end

  # A frame the runtime would not take is refused here, before it is copied into the port.
  defp fits(frame) do
    case :persistent_term.get({__MODULE__, :max_frame}, nil) do
      max when is_integer(max) and byte_size(frame) > max ->
        {:error,
         %{
           kind: :too_large,
           message:
             "the request is #{byte_size(frame)} bytes, over the runtime's limit of #{max} " <>
               "(`max_message_bytes` in the `[runtime]` table of snakebridge.toml); pass a " <>
               "reference to an object in Python instead, or raise the limit"
         }}

      _ ->
        :ok
    end
  end

  defp await(id, monitor, timeout) do
    receive do
      {:snakebridge_reply, ^id, flags, body} when Bitwise.band(flags, @callback_flag) != 0 ->
        callback(body, flags)
        await(id, monitor, timeout)

      {:snakebridge_reply, ^id, flags, body} ->
        {:reply, flags, body}

      {:snakebridge_down, ^id, reason} ->
        {:error, reason}

      {:DOWN, ^monitor, :process, _, _} ->
        {:error, %{kind: :runtime_unavailable, message: "the runtime server stopped"}}
    after
      timeout ->
        {:error, %{kind: :timeout, message: "no reply from the runtime within #{timeout} ms"}}
    end
  end

  # Python called an Elixir function passed to the call this process waits on: it runs here,
  # in the caller, with calls it makes into Python joining that call (see `conversation/0`).
  defp callback(body, flags) do
    {:callback, conversation, fun, args} = :erlang.binary_to_term(body, [:safe])
    args = if Bitwise.band(flags, 3) != 0, do: SnakeBridge.Runtime.restore(args), else: args
    outer = Process.put(@conversation, conversation)

    outcome =
      try do
        {:ok, apply(fun, args)}
      catch
        kind, reason ->
          {:error, SnakeBridge.Runtime.exception_details(kind, reason, __STACKTRACE__)}
      after
        if outer, do: Process.put(@conversation, outer), else: Process.delete(@conversation)
      end

    frame = :erlang.term_to_binary({:callback_return, conversation, outcome})

    # A result too large for the runtime reaches Python as the error that says so, rather than
    # never reaching it.
    frame =
      case fits(frame) do
        :ok ->
          frame

        {:error, %{message: message}} ->
          message = String.replace(message, "the request", "the Elixir function's result")
          too_large = %{type: "SnakeBridge.TooLarge", message: message}

          :erlang.term_to_binary({:callback_return, conversation, {:error, too_large}})
      end

    with {:ok, port} <- port(), do: Port.command(port, frame)
  rescue
    # The runtime went away mid-call: the call's own reply says so.
    ArgumentError -> :ok
  end

  @doc false
  # The call whose callback this process is running, if any: calls it makes go inside it.
  def conversation, do: Process.get(@conversation)

  # The open port, or open it.
  defp port do
    case :persistent_term.get({__MODULE__, :port}, nil) do
      nil -> GenServer.call(__MODULE__, :open, :infinity)
      port -> {:ok, port}
    end
  catch
    :exit, {:noproc, _} ->
      {:error,
       %{kind: :runtime_unavailable, message: "the :snakebridge application is not started"}}
  end

  @doc false
  # Whether the runtime is up and the caller is not this server, so a request cannot start
  # it or wait on the process that would answer it.
  def running? do
    is_port(:persistent_term.get({__MODULE__, :port}, nil)) and
      Process.whereis(__MODULE__) != self()
  end

  @doc "The calling process's session id."
  def session do
    case Process.get(:"$snakebridge_session") do
      nil ->
        session = GenServer.call(__MODULE__, :session)
        Process.put(:"$snakebridge_session", session)
        session

      session ->
        session
    end
  end

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)

    :ets.new(@pending, [
      :named_table,
      :public,
      :set,
      write_concurrency: true,
      read_concurrency: true
    ])

    state = %{port: nil, sessions: %{}, opts: opts}

    case Application.get_env(:snakebridge, :start, :lazy) do
      :eager -> {:ok, state, {:continue, :open}}
      _ -> {:ok, state}
    end
  end

  @impl true
  def handle_continue(:open, state) do
    case open(state) do
      {:ok, state} -> {:noreply, state}
      {:error, _reason, state} -> {:noreply, state}
    end
  end

  @impl true
  def handle_call(:open, _from, state) do
    case open(state) do
      {:ok, state} -> {:reply, {:ok, state.port}, state}
      {:error, reason, state} -> {:reply, {:error, reason}, state}
    end
  end

  def handle_call(:session, {pid, _}, state) do
    case state.sessions do
      %{^pid => {session, _}} ->
        {:reply, session, state}

      _ ->
        session = "elixir-" <> Integer.to_string(System.unique_integer([:positive]))
        monitor = Process.monitor(pid)
        {:reply, session, put_in(state.sessions[pid], {session, monitor})}
    end
  end

  @impl true
  def handle_cast({:forget, id}, state),
    do: {:noreply, update_in(state.pending, &Map.delete(&1, id))}

  @impl true
  def handle_info({port, {:data, <<0::64, _flags::8, body::binary>>}}, %{port: port} = state) do
    # Id 0: the runtime's hello, or the reply to a request nobody waits for.
    case :erlang.binary_to_term(body, [:safe]) do
      {:hello, %{max_frame: max}} -> :persistent_term.put({__MODULE__, :max_frame}, max)
      _ -> :ok
    end

    {:noreply, state}
  end

  def handle_info({port, {:data, <<id::64, flags::8, body::binary>>}}, %{port: port} = state) do
    case :ets.lookup(@pending, id) do
      [{^id, pid}] -> send(pid, {:snakebridge_reply, id, flags, body})
      [] -> :ok
    end

    {:noreply, state}
  end

  def handle_info({port, {:exit_status, status}}, %{port: port} = state),
    do: {:noreply, port_ended(state, "exited with status #{status}")}

  # The port can also end without an exit status, as when writing to it failed (`:epipe`).
  def handle_info({:EXIT, port, reason}, %{port: port} = state),
    do: {:noreply, port_ended(state, "ended (#{inspect(reason)})")}

  def handle_info({:DOWN, _monitor, :process, pid, _reason}, state) do
    case Map.pop(state.sessions, pid) do
      {{session, _}, sessions} ->
        # A reply to id 0 is dropped: nobody waits for it.
        if state.port,
          do: Port.command(state.port, :erlang.term_to_binary({:release_session, 0, session}))

        {:noreply, %{state | sessions: sessions}}

      {nil, _} ->
        {:noreply, state}
    end
  end

  def handle_info({:EXIT, _from, _reason}, state), do: {:noreply, state}

  def handle_info(_message, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{port: port}) when is_port(port) do
    :persistent_term.erase({__MODULE__, :port})
    # Let the runtime stop its workers and exit, so none outlives the application; closing
    # the port (its stdin) would do the same, without waiting.
    Port.command(port, :erlang.term_to_binary({:shutdown, 0, nil}))

    receive do
      {^port, {:exit_status, _}} -> :ok
    after
      4_000 -> Port.close(port)
    end
  catch
    _, _ -> :ok
  end

  def terminate(_reason, _state), do: :ok

  defp open(%{port: port} = state) when is_port(port), do: {:ok, state}

  defp open(state) do
    with {:ok, binary} <- SnakeBridge.Binary.path() do
      dir = Application.get_env(:snakebridge, :project_dir, File.cwd!())

      port =
        Port.open({:spawn_executable, binary}, [
          :binary,
          {:packet, 4},
          :exit_status,
          :use_stdio,
          args: ["runtime", "serve", "--project", dir, "--quiet"],
          cd: dir
        ])

      :persistent_term.put({__MODULE__, :port}, port)
      {:ok, %{state | port: port}}
    else
      {:error, message} -> {:error, %{kind: :runtime_unavailable, message: message}, state}
    end
  end

  # Every waiting caller gets the error at once, and the next call starts a new runtime.
  defp port_ended(state, how) do
    reason = %{
      kind: :runtime_unavailable,
      message:
        "the snakebridge runtime #{how}; its Python objects are gone. " <>
          "The next call starts it again; its stderr is in this VM's stderr"
    }

    :persistent_term.erase({__MODULE__, :port})
    for {id, pid} <- :ets.tab2list(@pending), do: send(pid, {:snakebridge_down, id, reason})
    # A port that ended without exiting (a failed write) is closed, so its runtime stops.
    if is_port(state.port), do: safe_close(state.port)
    # Sessions stay: their ids are still the processes', only their objects are gone.
    %{state | port: nil}
  end

  defp safe_close(port) do
    Port.close(port)
  catch
    _, _ -> :ok
  end
end
