defmodule Conformance.Runner do
  @moduledoc """
  Runs the call table against the generated bindings and prints one Markdown row per library:
  public symbols, generated, compiled, calls passed, spec checks passed.

  Every row is a real call into Python through the runtime. A call passes when its result is
  what the table expects; its spec check passes when the result is of the wrapper's `@spec`
  return type. Any failure, or a symbol kind no passing call covers, makes the run fail.
  """

  alias Conformance.{Calls, SpecCheck}

  @kinds [
    :function,
    :constructor,
    :class_method,
    :static_method,
    :method,
    :property,
    :constant,
    :instance_method,
    :generator
  ]

  @doc "Runs with the generate log's `Listed N public symbols of `lib`` lines in `listed_file`."
  def main([listed_file]) do
    public = listed(File.read!(listed_file))
    {:ok, manifest} = SnakeBridge.JSON.decode(File.read!(".snakebridge/manifest.json"))
    generated = Map.new(manifest["libraries"], fn {name, r} -> {name, map_size(r["symbols"])} end)
    compiled = compiled()

    # A row runs when its library was configured (listed), so one that generated nothing fails.
    rows = Enum.filter(Calls.rows(), &Map.has_key?(public, &1.library))
    results = Enum.map(rows, &run/1)

    IO.puts(
      "| library | public symbols | generated | compiled | calls passed | spec checks passed |"
    )

    IO.puts("|---|---:|---:|---:|---:|---:|")

    for library <- Enum.sort(Enum.uniq(Map.keys(public) ++ Map.keys(generated))) do
      count = Map.get(generated, library, 0)
      mine = Enum.filter(results, &(&1.library == library))
      calls = Enum.count(mine, & &1.call_ok)
      specs = Enum.count(mine, &(&1.spec == :ok))

      IO.puts(
        "| #{library} | #{Map.get(public, library, "?")} | #{count} | #{Map.get(compiled, library, 0)} | #{calls}/#{length(mine)} | #{specs}/#{length(mine)} |"
      )
    end

    failures = Enum.reject(results, &(&1.call_ok and &1.spec == :ok))
    covered = results |> Enum.filter(& &1.call_ok) |> Enum.map(& &1.kind) |> MapSet.new()
    missing = Enum.reject(@kinds, &(&1 in covered))

    uncompiled =
      Enum.filter(Map.merge(Map.new(public, fn {lib, _} -> {lib, 0} end), generated), fn
        {lib, n} -> n == 0 or Map.get(compiled, lib, 0) != n
      end)

    IO.puts("\n#{length(results)} calls, #{length(failures)} failed")

    for failure <- failures do
      IO.puts("FAILED #{failure.label}: #{failure.reason}")
    end

    for {library, count} <- uncompiled do
      IO.puts("NOT COMPILED #{library}: #{count} generated, #{Map.get(compiled, library, 0)}")
    end

    if missing != [], do: IO.puts("NO PASSING CALL of kind #{inspect(missing)}")
    if failures != [] or missing != [] or uncompiled != [], do: System.halt(1)
  end

  defp listed(log) do
    ~r/Listed (\d+) public symbols of `([^`]+)`/
    |> Regex.scan(log)
    |> Map.new(fn [_, count, library] -> {library, String.to_integer(count)} end)
  end

  # Wrapped symbols per library, counted in the compiled modules: a generator's `_stream`
  # wrapper, listed beside it with the same arities, is the same symbol.
  defp compiled do
    {:ok, modules} = :application.get_key(:conformance, :modules)

    modules
    |> Enum.filter(&(Code.ensure_loaded?(&1) and function_exported?(&1, :__snakebridge__, 0)))
    |> Enum.group_by(& &1.__snakebridge__()[:library], &symbols(&1.__functions__()))
    |> Map.new(fn {library, counts} -> {library, Enum.sum(counts)} end)
  end

  defp symbols(functions) do
    named = MapSet.new(functions, fn {name, min, max} -> {Atom.to_string(name), min, max} end)

    Enum.count(functions, fn {name, min, max} ->
      name = Atom.to_string(name)
      base = String.replace_suffix(name, "_stream", "")
      base == name or not MapSet.member?(named, {base, min, max})
    end)
  end

  defp run(row) do
    label = "#{inspect(row.module)}.#{row.function} (#{row.library}, #{row.kind})"
    base = %{library: row.library, kind: row.kind, label: label, call_ok: false, spec: :skipped}

    try do
      args = if is_function(row.args), do: row.args.(), else: row.args
      result = apply(row.module, row.function, args)

      case expect(result, row.expected) do
        :ok ->
          spec = SpecCheck.check(row.module, row.function, length(args), result)
          reason = with {:error, reason} <- spec, do: "spec: " <> reason
          %{base | call_ok: true, spec: spec} |> Map.put(:reason, reason)

        {:error, reason} ->
          Map.put(base, :reason, reason)
      end
    rescue
      error -> Map.put(base, :reason, Exception.format(:error, error, __STACKTRACE__))
    end
  end

  defp expect({:ok, %SnakeBridge.Ref{python_type: type}}, {:ref, type}), do: :ok

  defp expect({:ok, value}, check) when is_function(check, 1) do
    if check.(value), do: :ok, else: {:error, "unexpected #{inspect(value, limit: 12)}"}
  end

  defp expect({:ok, value}, expected) do
    if same?(value, expected),
      do: :ok,
      else: {:error, "got #{inspect(value, limit: 12)}, expected #{inspect(expected)}"}
  end

  defp expect(other, expected),
    do: {:error, "got #{inspect(other, limit: 12)}, expected {:ok, #{inspect(expected)}}"}

  @doc false
  def same?(a, b) when is_float(a) and is_number(b), do: abs(a - b) <= 1.0e-9 * max(1.0, abs(b))
  def same?(a, b) when is_list(a) and is_list(b), do: length(a) == length(b) and all_same?(a, b)

  def same?(a, b) when is_tuple(a) and is_tuple(b),
    do: same?(Tuple.to_list(a), Tuple.to_list(b))

  def same?(a, b) when is_map(a) and is_map(b) and not is_struct(a) do
    map_size(a) == map_size(b) and
      Enum.all?(a, fn {k, v} -> same?(v, Map.get(b, k, :missing)) end)
  end

  def same?(a, b), do: a === b

  defp all_same?(a, b), do: a |> Enum.zip(b) |> Enum.all?(fn {x, y} -> same?(x, y) end)

  @doc "The kinds every run must cover with a passing call."
  def kinds, do: @kinds
end
