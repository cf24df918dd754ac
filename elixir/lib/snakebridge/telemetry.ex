defmodule SnakeBridge.Telemetry do
  @moduledoc """
  Call events, in the shape of the `telemetry` library's (which lives on Hex, so it is not a
  dependency): handlers are attached here and run in the calling process.

    * `[:snakebridge, :call, :start]` - measurements `%{system_time, monotonic_time}`.
    * `[:snakebridge, :call, :stop]` - measurements `%{duration, monotonic_time}`, for a call
      that returned `{:ok, _}`.
    * `[:snakebridge, :call, :exception]` - measurements `%{duration, monotonic_time}`, for
      a call that returned `{:error, error}`; metadata adds `kind: :error, reason: error`.

  Metadata: `library`, `python_module`, `function`, `call_type`, `session`. Durations are
  in `:native` time units (`System.convert_time_unit/3`).

  A handler that raises is detached, as `telemetry` does, so a bad handler cannot break
  calls.

      SnakeBridge.Telemetry.attach("log-slow-calls", [[:snakebridge, :call, :stop]],
        fn _event, %{duration: d}, meta, _config -> ... end, nil)
  """

  require Logger

  @key {__MODULE__, :handlers}

  @type event :: [atom()]
  @type handler :: (event(), map(), map(), term() -> any())

  @doc "Runs `function` for each of `events`; `id` must be unique."
  @spec attach(term(), [event()], handler(), term()) :: :ok | {:error, :already_exists}
  def attach(id, events, function, config) when is_function(function, 4) do
    handlers = :persistent_term.get(@key, [])

    if Enum.any?(handlers, &(elem(&1, 0) == id)) do
      {:error, :already_exists}
    else
      :persistent_term.put(@key, handlers ++ [{id, events, function, config}])
    end
  end

  @doc "Removes the handler `id`."
  @spec detach(term()) :: :ok | {:error, :not_found}
  def detach(id) do
    handlers = :persistent_term.get(@key, [])

    case Enum.split_with(handlers, &(elem(&1, 0) == id)) do
      {[], _} -> {:error, :not_found}
      {_, rest} -> :persistent_term.put(@key, rest)
    end
  end

  @doc "The attached handlers' ids and events."
  @spec list_handlers() :: [%{id: term(), events: [event()]}]
  def list_handlers do
    for {id, events, _, _} <- :persistent_term.get(@key, []), do: %{id: id, events: events}
  end

  @doc "Runs the handlers attached to `event`."
  @spec execute(event(), map(), map()) :: :ok
  def execute(event, measurements, metadata) do
    for {id, events, function, config} <- :persistent_term.get(@key, []), event in events do
      try do
        function.(event, measurements, metadata, config)
      rescue
        error ->
          Logger.error(
            "SnakeBridge.Telemetry handler #{inspect(id)} failed and was detached: " <>
              Exception.message(error)
          )

          detach(id)
      end
    end

    :ok
  end

  @doc false
  def start(name, metadata) do
    start = System.monotonic_time()

    execute(
      [:snakebridge, name, :start],
      %{system_time: System.system_time(), monotonic_time: start},
      metadata
    )

    start
  end

  @doc false
  def stop(name, start, metadata, result) do
    now = System.monotonic_time()
    measurements = %{duration: now - start, monotonic_time: now}

    case result do
      {:error, error} ->
        execute(
          [:snakebridge, name, :exception],
          measurements,
          Map.merge(metadata, %{kind: :error, reason: error})
        )

      _ ->
        execute([:snakebridge, name, :stop], measurements, metadata)
    end
  end
end
