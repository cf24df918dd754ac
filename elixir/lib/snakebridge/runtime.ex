defmodule SnakeBridge.Runtime do
  @moduledoc """
  The functions generated wrappers call. Each takes the calling module, whose
  `__snakebridge__/0` names the Python library, module and class, and returns
  `{:ok, value}` or `{:error, %SnakeBridge.Error{}}`.

  Keyword options are Python keyword arguments, except `:__runtime__`, which holds options
  for the call itself:

    * `:timeout` - milliseconds the call may take (default: the pool's, 60 s).
    * `:returns` - `:auto` (default: values by value, other objects as `SnakeBridge.Ref`s),
      `:value` (arrays converted to lists too) or `:ref` (always a reference).
    * `:session` - run in this session (see `SnakeBridge.with_session/1`). By default a call
      on a reference, or passing references (at any depth of its arguments), runs in their
      session, and any other call in the calling process's own session.

  Values have limits, set in the `[runtime]` table of `snakebridge.toml`: a request or
  result over `max_message_bytes` is `{:error, %SnakeBridge.Error{kind: :too_large}}`
  (a request is refused before it is sent), and one nested deeper than `max_depth` levels
  is `kind: :invalid_request`. Atoms made in Python arrive as atoms only when the atom
  already exists, as strings otherwise, so Python can never fill the VM's atom table.

  A function among a call's arguments (anonymous or a capture, at any depth) arrives in Python
  as a callable. When Python calls it during the call, it runs in the calling process, and
  calls it makes into Python run inside the first; what it raises reaches Python as
  `snakebridge_worker.ElixirError`. Python may not call it after the call returns. Stream calls
  take no functions.

  Every call emits `[:snakebridge, :call, :start]` and then `[:snakebridge, :call, :stop]`,
  or `[:snakebridge, :call, :exception]` when it fails; see `SnakeBridge.Telemetry`.
  """

  alias SnakeBridge.{Error, Ref, Telemetry}
  alias SnakeBridge.Runtime.Server

  @typedoc "Keyword arguments for Python, plus runtime options under `:__runtime__`."
  @type opts :: keyword()

  @type result :: {:ok, term()} | {:error, Error.t()}

  @doc """
  Whether `term` is the trailing keyword list of a wrapper call: `[]`, or a list whose first
  element is a `{atom, value}` pair. A list of other pairs (`[{"x", 1}]`, `[{1, 2}]`) is data
  for Python, not options; to pass a keyword list as data, follow it with an explicit `[]`.
  """
  defguard is_opts(term)
           when term == [] or
                  (is_list(term) and is_tuple(hd(term)) and tuple_size(hd(term)) == 2 and
                     is_atom(elem(hd(term), 0)))

  @doc "Calls the function `function` of `module`'s Python module."
  @spec call(module(), String.t(), list(), opts()) :: result()
  def call(module, function, args, opts) do
    meta = info(module)
    run(:call, Map.merge(meta, %{call_type: :function, function: function}), args, opts)
  end

  @doc "Creates an instance of `module`'s Python class."
  @spec call_class(module(), list(), opts()) :: result()
  def call_class(module, args, opts) do
    meta = info(module)
    run(:call, Map.merge(meta, %{call_type: :class}), args, opts)
  end

  @doc """
  Calls the method `method` of `receiver`: a `SnakeBridge.Ref`, or any value that crosses as
  data (`~D[2024-03-01]` is a Python `date`), on which the method of `module`'s class is called
  with the value as `self`.
  """
  @spec call_method(module(), Ref.t() | term(), String.t(), list(), opts()) :: result()
  def call_method(module, %Ref{} = ref, method, args, opts) do
    meta = info(module)

    run(
      :call,
      Map.merge(meta, %{call_type: :method, function: method, instance: ref}),
      args,
      opts
    )
  end

  def call_method(module, receiver, method, args, opts) do
    meta = info(module)

    run(
      :call,
      Map.merge(meta, %{call_type: :function, function: method}),
      [receiver | args],
      opts
    )
  end

  @doc """
  Reads the attribute `attr` of the object `ref`, or of the Python object a value that crosses
  as data decodes to (`Datetime.Date.year(~D[2024-03-01])`).
  """
  @spec get_attr(module(), term(), String.t(), opts()) :: result()
  def get_attr(module, %Ref{} = ref, attr, opts) do
    meta = info(module)
    run(:call, Map.merge(meta, %{call_type: :get_attr, attr: attr, instance: ref}), [], opts)
  end

  def get_attr(module, receiver, attr, opts) do
    meta = info(module)
    run(:call, Map.merge(meta, %{call_type: :get_attr, attr: attr}), [receiver], opts)
  end

  @doc "Sets the attribute `attr` of the object `ref` to `value`."
  @spec set_attr(Ref.t(), String.t(), term(), opts()) :: result()
  def set_attr(%Ref{} = ref, attr, value, opts \\ []) do
    run(
      :call,
      Map.merge(ref_meta(ref), %{call_type: :set_attr, attr: attr, instance: ref}),
      [value],
      opts
    )
  end

  @doc """
  Sets the writable property or attribute `attr` of `ref`, an instance of `module`'s class,
  to `value`: what generated `set_<name>/2` setters call. Returns `{:ok, ref}`.
  """
  @spec set_property(module(), Ref.t(), String.t(), term()) ::
          {:ok, Ref.t()} | {:error, Error.t()}
  def set_property(module, %Ref{} = ref, attr, value) do
    meta = Map.merge(info(module), %{call_type: :set_attr, attr: attr, instance: ref})

    case run(:call, meta, [value], []) do
      {:ok, _} -> {:ok, ref}
      error -> error
    end
  end

  @doc "Reads the module-level value `attr`, such as `math.pi`."
  @spec get_module_attr(module(), String.t(), opts()) :: result()
  def get_module_attr(module, attr, opts) do
    meta = info(module)
    run(:call, Map.merge(meta, %{call_type: :module_attr, attr: attr}), [], opts)
  end

  @doc false
  def call!(module, function, args, opts), do: unwrap!(call(module, function, args, opts))
  @doc false
  def call_class!(module, args, opts), do: unwrap!(call_class(module, args, opts))
  @doc false
  def call_method!(module, ref, method, args, opts),
    do: unwrap!(call_method(module, ref, method, args, opts))

  @doc false
  def get_attr!(module, ref, attr, opts), do: unwrap!(get_attr(module, ref, attr, opts))
  @doc false
  def set_property!(module, ref, attr, value),
    do: unwrap!(set_property(module, ref, attr, value))

  @doc false
  def get_module_attr!(module, attr, opts), do: unwrap!(get_module_attr(module, attr, opts))

  @doc "Returns the value of an `{:ok, value}` result, or raises its error."
  @spec unwrap!(result()) :: term()
  def unwrap!({:ok, value}), do: value
  def unwrap!({:error, %Error{} = error}), do: raise(error)

  @doc """
  The items of what `function` returns (a generator or any iterable), as a lazy `Stream`.

  Items arrive in batches; a stream that is not run to the end is closed when enumeration
  stops, which stops the generator. An error while iterating raises `SnakeBridge.Error`.
  """
  @spec stream(module(), String.t(), list(), opts()) :: Enumerable.t()
  def stream(module, function, args, opts) do
    meta = info(module)
    open_stream(Map.merge(meta, %{call_type: :function, function: function}), args, opts)
  end

  @doc "Like `stream/4`, for what the method `method` of `ref` returns."
  @spec stream_method(module(), Ref.t(), String.t(), list(), opts()) :: Enumerable.t()
  def stream_method(module, %Ref{} = ref, method, args, opts) do
    meta = Map.merge(info(module), %{call_type: :method, function: method, instance: ref})
    open_stream(meta, args, opts)
  end

  @doc "The items of the Python iterable `ref` (a generator, a list, a file...) as a `Stream`."
  @spec iterate(Ref.t(), opts()) :: Enumerable.t()
  def iterate(%Ref{} = ref, opts \\ []) do
    open_stream(Map.merge(ref_meta(ref), %{call_type: :iterate, instance: ref}), [], opts)
  end

  @doc false
  # `SnakeBridge.with_python/2`: `__enter__` (`:enter`), or `__exit__` given no exception
  # (`{:exit, nil}`) or the details of the one the block raised.
  def context(%Ref{} = ref, step) do
    {call_type, args} =
      case step do
        :enter -> {:context_enter, []}
        {:exit, details} -> {:context_exit, [details]}
      end

    run(:call, Map.merge(ref_meta(ref), %{call_type: call_type, instance: ref}), args, [])
  end

  defp ref_meta(%Ref{library: library}),
    do: %{library: library, python_module: library, class: nil}

  @doc false
  # `SnakeBridge.call/4`: a call no generated wrapper covers, recorded in the ledger.
  def dynamic(library, function, args, opts) do
    meta = %{library: library, python_module: library, class: nil}

    run(
      :call,
      Map.merge(meta, %{call_type: :function, function: function, dynamic: true}),
      args,
      opts
    )
  end

  @doc false
  # `{kind, id, argument}` with the reply decoded; used for bookkeeping requests.
  def command(kind, argument, timeout \\ :infinity) do
    id = System.unique_integer([:positive])
    frame = :erlang.term_to_binary({kind, id, argument})
    decode(Server.request(id, frame, timeout))
  end

  defp info(module) do
    key = {__MODULE__, module}

    case :persistent_term.get(key, nil) do
      nil ->
        meta = module.__snakebridge__()

        info = %{
          library: meta[:library],
          python_module: meta[:python_module],
          class: meta[:class]
        }

        :persistent_term.put(key, info)
        info

      info ->
        info
    end
  end

  defp run(kind, request, args, opts) do
    {runtime, kwargs} = Keyword.pop(opts, :__runtime__, [])
    request = prepare(request, args, kwargs, runtime)
    metadata = Map.take(request, [:library, :python_module, :function, :call_type, :session])
    start = Telemetry.start(:call, metadata)
    result = command(kind, request, wait(runtime))
    Telemetry.stop(:call, start, metadata, result)
    result
  end

  defp prepare(request, args, kwargs, runtime) do
    Map.merge(request, %{
      args: args,
      kwargs: kwargs,
      session: session(request, runtime),
      owner: Server.session(),
      parent: Server.conversation(),
      returns: Keyword.get(runtime, :returns, :auto),
      timeout: Keyword.get(runtime, :timeout)
    })
  end

  # The explicit session, else the reference's; the runtime falls back on the session of the
  # references among the arguments, then on the calling process's own (`owner`).
  defp session(request, runtime) do
    Keyword.get(runtime, :session) ||
      case request do
        %{instance: %Ref{session: session}} -> session
        _ -> nil
      end
  end

  # The runtime enforces the deadline; this only guards against a runtime that never answers.
  defp wait(runtime) do
    case Keyword.get(runtime, :timeout) do
      nil -> :infinity
      timeout -> timeout + 5_000
    end
  end

  # `:safe`: a reply can name no atom the VM does not already have (the runtime sends atoms
  # made in Python as `{:__snakebridge_atom__, name}`).
  defp decode({:reply, flags, body}) do
    case :erlang.binary_to_term(body, [:safe]) do
      {:ok, value} when flags != 0 -> {:ok, restore(value)}
      {:ok, value} -> {:ok, value}
      {:error, reason} -> {:error, Error.from_reply(reason)}
      other -> other
    end
  end

  defp decode({:error, reason}) do
    {:error, Error.from_reply(Map.merge(%{python_type: nil, traceback: nil}, reason))}
  end

  @doc false
  # The atoms replies use besides the error kinds: they must exist before a `:safe` decode.
  def __reply_atoms__,
    do: [
      :neg_infinity,
      :nan,
      :infinity,
      :__snakebridge_set__,
      :done,
      :hello,
      :max_frame,
      :slot,
      :pid,
      :in_flight
    ]

  @doc false
  # Python sets arrive as `{:__snakebridge_set__, elements}` (MapSet's layout is not the
  # runtime's to build), and Python's atoms as `{:__snakebridge_atom__, name}`.
  def restore({:__snakebridge_set__, elements}),
    do: elements |> Enum.map(&restore/1) |> MapSet.new()

  def restore({:__snakebridge_atom__, name}) when is_binary(name) do
    String.to_existing_atom(name)
  rescue
    ArgumentError -> name
  end

  def restore(list) when is_list(list), do: Enum.map(list, &restore/1)

  def restore(tuple) when is_tuple(tuple),
    do: tuple |> Tuple.to_list() |> Enum.map(&restore/1) |> List.to_tuple()

  def restore(%{__struct__: _} = struct), do: struct

  def restore(map) when is_map(map),
    do: Map.new(map, fn {k, v} -> {restore(k), restore(v)} end)

  def restore(other), do: other

  @doc false
  # What Python is told of an Elixir exception, throw or exit: `snakebridge_worker.ElixirError`
  # gets the message, and the exception module (or `"throw"`, `"exit"`) as `elixir_type`.
  def exception_details(:error, reason, stacktrace) do
    exception = Exception.normalize(:error, reason, stacktrace)
    %{type: inspect(exception.__struct__), message: Exception.message(exception)}
  end

  def exception_details(kind, reason, _stacktrace),
    do: %{type: Atom.to_string(kind), message: inspect(reason)}

  defp open_stream(request, args, opts) do
    {runtime, kwargs} = Keyword.pop(opts, :__runtime__, [])
    request = prepare(request, args, kwargs, runtime)

    Stream.resource(
      fn ->
        case command(:stream_open, request, wait(runtime)) do
          {:ok, id} -> id
          {:error, error} -> raise error
        end
      end,
      fn
        :done ->
          {:halt, :done}

        id ->
          case command(:stream_next, id, wait(runtime)) do
            {:ok, items} -> {items, id}
            :done -> {:halt, :done}
            {:error, error} -> raise error
          end
      end,
      fn
        :done -> :ok
        id -> command(:stream_close, id)
      end
    )
  end
end
