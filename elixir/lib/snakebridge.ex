defmodule SnakeBridge do
  @moduledoc """
  Calls into Python from Elixir. Most code calls the modules `snakebridge generate` wrote
  (`Numpy.mean([1, 2, 3])`); this module holds what is not tied to one of them: dynamic
  calls, references and sessions.

  Every Elixir process calls Python in a session of its own: references it creates belong
  to that session, run on one worker, and are freed when the process exits.
  `with_session/1` runs a block in a fresh session instead.
  """

  alias SnakeBridge.{Ref, Runtime}

  @doc """
  Calls `library.function(*args, **kwargs)` without a generated wrapper; `function` may be a
  dotted path (`"fft.fft"`). The call is recorded in `.snakebridge/ledger.json`, and
  `snakebridge promote` turns it into a generated wrapper.
  """
  @spec call(String.t(), String.t(), list(), keyword()) :: Runtime.result()
  def call(library, function, args \\ [], opts \\ [])
      when is_binary(library) and is_binary(function),
      do: Runtime.dynamic(library, function, args, opts)

  @doc """
  A short `repr` of the Python object `ref`, at most `limit` characters: lists, dicts and other
  built-in containers are cut after a few items before their text is built; any other object's
  own `__repr__` runs whole and its text is cut. This is what `inspect/1` shows for a
  reference, in IEx and in logs. Waits at most `timeout` milliseconds.
  """
  @spec repr(Ref.t(), pos_integer(), timeout()) ::
          {:ok, String.t()} | {:error, SnakeBridge.Error.t()}
  def repr(%Ref{} = ref, limit \\ 80, timeout \\ 5_000) when is_integer(limit) and limit > 0,
    do: Runtime.command(:repr_ref, {ref, limit}, timeout)

  @doc "Frees the Python object `ref`; `{:ok, false}` if it was already gone."
  @spec release(Ref.t()) :: {:ok, boolean()} | {:error, SnakeBridge.Error.t()}
  def release(%Ref{} = ref), do: Runtime.command(:release_ref, ref)

  @doc """
  Runs `fun` in a new session and frees every object it created when it returns (or
  raises). Objects the block returns are freed too: return values, not references.
  """
  @spec with_session((() -> result)) :: result when result: term()
  def with_session(fun) when is_function(fun, 0) do
    previous = Process.get(:"$snakebridge_session")
    session = new_session()
    Process.put(:"$snakebridge_session", session)

    try do
      fun.()
    after
      restore(previous)
      release_session(session)
    end
  end

  @doc """
  Uses the Python object `ref` as a context manager, as Python's `with` statement does: calls
  its `__enter__`, passes what that returns to `fun`, and always calls its `__exit__`,
  returning `fun`'s result.

  When `fun` raises, throws or exits, `__exit__` is given a `snakebridge_worker.ElixirError`
  whose message and `elixir_type` are the Elixir exception's, and the exception goes on
  (re-raised with its stacktrace) unless `__exit__` returns a true value, which suppresses it
  as in Python: then `with_python/2` returns `nil`. An error from `__enter__` or `__exit__`
  raises `SnakeBridge.Error`.

      {:ok, lock} = SnakeBridge.call("threading", "Lock")
      SnakeBridge.with_python(lock, fn _ -> :done end)
      #=> :done
  """
  @spec with_python(Ref.t(), (term() -> result)) :: result | nil when result: term()
  def with_python(%Ref{} = ref, fun) when is_function(fun, 1) do
    ctx = Runtime.unwrap!(Runtime.context(ref, :enter))

    try do
      fun.(ctx)
    catch
      kind, reason ->
        stacktrace = __STACKTRACE__
        details = Runtime.exception_details(kind, reason, stacktrace)

        case Runtime.unwrap!(Runtime.context(ref, {:exit, details})) do
          true -> nil
          _ -> :erlang.raise(kind, reason, stacktrace)
        end
    else
      result ->
        Runtime.unwrap!(Runtime.context(ref, {:exit, nil}))
        result
    end
  end

  @doc "A new session id, for `__runtime__: [session: id]`; free it with `release_session/1`."
  @spec new_session() :: String.t()
  def new_session, do: "session-" <> Integer.to_string(System.unique_integer([:positive]))

  @doc "Frees every object of `session`; returns how many there were."
  @spec release_session(String.t()) :: {:ok, non_neg_integer()} | {:error, SnakeBridge.Error.t()}
  def release_session(session) when is_binary(session),
    do: Runtime.command(:release_session, session)

  @doc "The pool's workers: `[%{slot: 0, pid: 1234, in_flight: 0}, ...]`."
  @spec workers() :: {:ok, [map()]} | {:error, SnakeBridge.Error.t()}
  def workers, do: Runtime.command(:workers, nil)

  defp restore(nil), do: Process.delete(:"$snakebridge_session")
  defp restore(session), do: Process.put(:"$snakebridge_session", session)
end
